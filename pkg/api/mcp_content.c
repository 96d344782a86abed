/*
 * mcp_content: artifacts as image and embedded-resource blocks (see mcp_content.h).
 */
#define _GNU_SOURCE
#include "api/mcp_content.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"

/* Base64 characters whose 18 bytes tell every picture format apart (WebP needs twelve). */
#define SNIFF_B64 24

static const struct {
	const char *magic;
	size_t at, n;
	const char *type;
} pictures[] = {
    {"\x89PNG\r\n\x1a\n", 0, 8, "image/png"},
    {"\xff\xd8\xff", 0, 3, "image/jpeg"},
    {"GIF87a", 0, 6, "image/gif"},
    {"GIF89a", 0, 6, "image/gif"},
    {"WEBP", 8, 4, "image/webp"}, /* after "RIFF" and the chunk's size: see below */
};

const char *mcp_content_image_type(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < sizeof(pictures) / sizeof(pictures[0]); i++) {
		if (n < pictures[i].at + pictures[i].n ||
		    memcmp(b + pictures[i].at, pictures[i].magic, pictures[i].n) != 0)
			continue;
		if (strcmp(pictures[i].type, "image/webp") == 0 && memcmp(b, "RIFF", 4) != 0)
			continue;
		return pictures[i].type;
	}
	return NULL;
}

static const struct {
	const char *ext, *type;
} text_types[] = {
    {".csv", "text/csv"},	   {".tsv", "text/tab-separated-values"},
    {".json", "application/json"}, {".jsonl", "application/jsonl"},
    {".md", "text/markdown"},	   {".html", "text/html"},
    {".htm", "text/html"},	   {".xml", "application/xml"},
    {".svg", "image/svg+xml"},	   {".yaml", "application/yaml"},
    {".yml", "application/yaml"},  {".toml", "application/toml"},
    {".py", "text/x-python"},	   {".sh", "text/x-shellscript"},
    {".js", "text/javascript"},	   {".css", "text/css"},
    {".tex", "application/x-tex"},
};

const char *mcp_content_text_type(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(text_types) / sizeof(text_types[0]); i++)
			if (strcasecmp(dot, text_types[i].ext) == 0)
				return text_types[i].type;
	return "text/plain";
}

char *mcp_content_uri(const char *path)
{
	static const char prefix[] = "file:///output/", hex[] = "0123456789ABCDEF";
	char *out = malloc(sizeof(prefix) + strlen(path) * 3), *o;

	if (!out)
		return NULL;
	o = stpcpy(out, prefix);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '%';
		*o++ = hex[*p >> 4];
		*o++ = hex[*p & 15];
	}
	*o = '\0';
	return out;
}

/* The bytes a base64 text stands for: three per four characters, less the padding. */
static size_t decoded_size(const char *b64, size_t n)
{
	size_t pad = 0;

	while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
		pad++;
	return n / 4 * 3 - pad;
}

/* The picture type of a base64 artifact, from its first decoded bytes. */
static const char *sniff(const char *b64, size_t n)
{
	unsigned char head[SNIFF_B64 / 4 * 3 + 3];
	size_t take = n < SNIFF_B64 ? n - n % 4 : SNIFF_B64, bad = 0;
	long got = b64_decode(b64, take, head, &bad);

	return got > 0 ? mcp_content_image_type(head, (size_t)got) : NULL;
}

struct budget {
	size_t left;
	bool spent; /* a block did not fit: said once, in each line it concerns */
};

/* @size more bytes of blocks, if the answer's budget has them. */
static bool take(struct budget *b, size_t size)
{
	if (size > b->left) {
		b->spent = true;
		return false;
	}
	b->left -= size;
	return true;
}

static cJSON *image_block(const char *b64, const char *type)
{
	cJSON *b = cJSON_CreateObject();

	if (b && cJSON_AddStringToObject(b, "type", "image") &&
	    cJSON_AddStringToObject(b, "data", b64) && cJSON_AddStringToObject(b, "mimeType", type))
		return b;
	cJSON_Delete(b);
	return NULL;
}

static cJSON *resource_block(const char *path, const char *text)
{
	cJSON *b = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(b, "resource");
	char *uri = mcp_content_uri(path);

	if (uri && r && cJSON_AddStringToObject(b, "type", "resource") &&
	    cJSON_AddStringToObject(r, "uri", uri) &&
	    cJSON_AddStringToObject(r, "mimeType", mcp_content_text_type(path)) &&
	    cJSON_AddStringToObject(r, "text", text)) {
		free(uri);
		return b;
	}
	free(uri);
	cJSON_Delete(b);
	return NULL;
}

static const char only_structured[] = "only in the structured result";

/* A binary artifact: an image block when it is a picture that fits. */
static int binary(const cJSON *a, cJSON *content, FILE *f, struct budget *bud)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");
	const char *b64 = cJSON_IsString(c) ? c->valuestring : "";
	size_t n = strlen(b64), size = decoded_size(b64, n);
	const char *type = sniff(b64, n);
	cJSON *block;

	if (!type) {
		fprintf(f, "%s: binary, %zu bytes, %s (base64)\n", a->string, size,
			only_structured);
		return 0;
	}
	if (size > MCP_IMAGE_MAX_BYTES) {
		fprintf(f, "%s: %s, %zu bytes, over the %zu bytes an image block may hold: %s\n",
			a->string, type, size, MCP_IMAGE_MAX_BYTES, only_structured);
		return 0;
	}
	if (!take(bud, n)) {
		fprintf(f,
			"%s: %s, %zu bytes, not shown: this answer's blocks reached their %zu "
			"bytes; %s\n",
			a->string, type, size, MCP_BLOCKS_MAX_BYTES, only_structured);
		return 0;
	}
	block = image_block(b64, type);
	if (!block)
		return -ENOMEM;
	cJSON_AddItemToArray(content, block);
	fprintf(f, "%s: %s, %zu bytes, shown as an image\n", a->string, type, size);
	return 0;
}

/* A text artifact: an embedded resource when it fits. */
static int text(const cJSON *a, cJSON *content, FILE *f, struct budget *bud)
{
	size_t size = strlen(a->valuestring);
	cJSON *block;

	if (size > MCP_TEXT_MAX_BYTES) {
		fprintf(f, "%s: text, %zu bytes, over the %zu bytes a text block may hold: %s\n",
			a->string, size, MCP_TEXT_MAX_BYTES, only_structured);
		return 0;
	}
	if (!take(bud, size)) {
		fprintf(f,
			"%s: text, %zu bytes, not attached: this answer's blocks reached "
			"their %zu bytes; %s\n",
			a->string, size, MCP_BLOCKS_MAX_BYTES, only_structured);
		return 0;
	}
	block = resource_block(a->string, a->valuestring);
	if (!block)
		return -ENOMEM;
	cJSON_AddItemToArray(content, block);
	fprintf(f, "%s: text, %zu bytes, attached as %s\n", a->string, size,
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(block, "resource"), "uri")));
	return 0;
}

int mcp_content_artifacts(const cJSON *artifacts, cJSON *content, FILE *summary)
{
	struct budget bud = {.left = MCP_BLOCKS_MAX_BYTES};
	int r = 0;

	for (const cJSON *a = cJSON_IsObject(artifacts) ? artifacts->child : NULL; a && r >= 0;
	     a = a->next) {
		if (cJSON_IsString(a))
			r = text(a, content, summary, &bud);
		else if (cJSON_IsObject(a))
			r = binary(a, content, summary, &bud);
	}
	return r;
}
