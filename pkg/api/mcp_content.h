/*
 * mcp_content: the files a program left, as MCP content blocks a model can
 * see, in both MCP transports.
 *
 * structuredContent carries the contract's answer, artifacts included, but
 * a model reads the content blocks: a chart that only lives in
 * structuredContent reaches it as the words "plot.png (binary, N bytes)".
 * So a picture (PNG, JPEG, GIF or WebP, recognised by its first bytes, not
 * by its name) also becomes an `image` block, and a text file an embedded
 * `resource` block with a file:///output/<path> URI and a MIME type from
 * its extension, each under its cap and all of them under one budget.  A
 * file that did not fit, or that is neither, is named in the text summary
 * with the reason.  Pure: JSON in, JSON and text out.
 */
#ifndef RUNBOX_MCP_CONTENT_H
#define RUNBOX_MCP_CONTENT_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* The largest picture shown as an image block, in decoded bytes. */
#define MCP_IMAGE_MAX_BYTES ((size_t)1 << 20)
/* The largest text file attached as an embedded resource. */
#define MCP_TEXT_MAX_BYTES ((size_t)256 << 10)
/* Every block of one answer together (base64 as sent, text as is). */
#define MCP_BLOCKS_MAX_BYTES ((size_t)4 << 20)

/*
 * Append to the array @content one block per artifact that qualifies and
 * fits, in the order of @artifacts (the contract's "artifacts" object:
 * path -> text, or {content, encoding: base64}), and write to @summary one
 * line per artifact saying how the model gets it.  Returns 0, or -ENOMEM
 * (the blocks added so far stay).
 */
int mcp_content_artifacts(const cJSON *artifacts, cJSON *content, FILE *summary);

/* The MIME type of a picture whose first @n bytes are @b, or NULL. */
const char *mcp_content_image_type(const unsigned char *b, size_t n);

/* The MIME type of a text file named @path, from its extension (text/plain by default). */
const char *mcp_content_text_type(const char *path);

/*
 * file:///output/ and @path percent-encoded (RFC 3986: every byte but the
 * unreserved ones and '/').  Returns a malloc'd string, or NULL.
 */
char *mcp_content_uri(const char *path);

#endif
