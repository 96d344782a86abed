"""A package index on loopback for the tests: PEP 503 HTML and PEP 691 JSON
project pages (by the Accept header, or forced), PEP 658/714 .metadata
files, plain HTTP or HTTPS with a certificate from a test CA.

Each file can be given a wrong or missing sha256, be yanked, carry a
Requires-Python, have its .metadata file offered or not (with or without
its hash), be served slowly, be cut short, or live on another origin.  The
server counts requests per path and keeps the Authorization header each
one carried, so tests can tell what runbox fetched and with which
credentials.
"""

import base64
import collections
import hashlib
import html
import http.server
import json
import os
import re
import ssl
import subprocess
import threading
import time
import zipfile


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_metadata(path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return z.read(name)


class File:
    def __init__(self, filename, data, **opts):
        self.filename = filename
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.hash = opts.get("hash", "ok")          # ok | wrong | missing
        self.yanked = opts.get("yanked", False)
        self.requires_python = opts.get("requires_python")
        self.metadata = opts.get("metadata", True)  # offer a .metadata file
        self.metadata_hash = opts.get("metadata_hash", True)
        self.metadata_bytes = opts.get("metadata_bytes")
        self.truncate = opts.get("truncate", False)
        self.delay = opts.get("delay", 0)
        self.host = opts.get("host")                # another Index serving the bytes

    def listed_sha256(self):
        if self.hash == "wrong":
            return hashlib.sha256(b"not the file").hexdigest()
        return None if self.hash == "missing" else self.sha256


class Index:
    """Index(fmt="negotiate"|"html"|"json", tls=(cert, key) or None, token=None)."""

    def __init__(self, fmt="negotiate", tls=None, auth=None):
        self.fmt, self.tls, self.auth = fmt, tls, auth
        self.projects = collections.defaultdict(list)
        self.hits = collections.Counter()
        self.authorization = []  # (path, header or None)
        self.page_delay = 0
        self.lock = threading.Lock()
        self.server = None

    # ---- content ----------------------------------------------------------
    def add(self, path, project=None, **opts):
        path = str(path)
        filename = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        project = normalize(project or filename.split("-")[0])
        entry = File(filename, data, **opts)
        if entry.metadata and path.endswith(".whl"):
            entry.metadata_bytes = opts.get("metadata_bytes") or wheel_metadata(path)
        self.projects[project].append(entry)
        return entry

    def add_bytes(self, project, filename, data, **opts):
        entry = File(filename, data, **opts)
        entry.metadata = False
        self.projects[normalize(project)].append(entry)
        return entry

    def file_url(self, f):
        base = f.host.origin if f.host else ""
        return f"{base}/files/{f.filename}"

    def page(self, project, as_json):
        files = self.projects.get(project)
        if files is None:
            return None
        if as_json:
            out = []
            for f in files:
                e = {"filename": f.filename, "url": self.file_url(f), "hashes": {}}
                if f.listed_sha256():
                    e["hashes"]["sha256"] = f.listed_sha256()
                if f.requires_python:
                    e["requires-python"] = f.requires_python
                if f.yanked:
                    e["yanked"] = "broken" if f.yanked is True else f.yanked
                if f.metadata:
                    e["core-metadata"] = ({"sha256": hashlib.sha256(f.metadata_bytes).hexdigest()}
                                          if f.metadata_hash else True)
                out.append(e)
            return json.dumps({"meta": {"api-version": "1.1"}, "name": project,
                               "files": out}).encode(), "application/vnd.pypi.simple.v1+json"
        rows = []
        for f in files:
            url = self.file_url(f)
            if f.listed_sha256():
                url += "#sha256=" + f.listed_sha256()
            attrs = [f'href="{html.escape(url)}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            if f.yanked:
                attrs.append('data-yanked=""')
            if f.metadata:
                v = ("sha256=" + hashlib.sha256(f.metadata_bytes).hexdigest()
                     if f.metadata_hash else "true")
                attrs.append(f'data-core-metadata="{v}" data-dist-info-metadata="{v}"')
            rows.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
        body = ("<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" "
                f"content=\"1.1\"><title>Links for {project}</title></head><body>"
                f"<h1>Links for {project}</h1>{''.join(rows)}</body></html>")
        return body.encode(), "application/vnd.pypi.simple.v1+html"

    def find(self, filename):
        for files in self.projects.values():
            for f in files:
                if f.filename == filename:
                    return f
        return None

    # ---- serving ----------------------------------------------------------
    @property
    def origin(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self):
        return self.origin + "/simple/"

    def start(self):
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with index.lock:
                    index.hits[self.path] += 1
                    index.authorization.append((self.path, self.headers.get("Authorization")))
                if index.auth and self.headers.get("Authorization") != index.auth:
                    return self.send(401, b"no", "text/plain")
                m = re.fullmatch(r"/simple/([^/]+)/", self.path)
                if m:
                    return self.project(m.group(1))
                m = re.fullmatch(r"/files/(.+?)(\.metadata)?", self.path)
                f = index.find(m.group(1)) if m else None
                if not f:
                    return self.send(404, b"not found", "text/plain")
                if m.group(2):
                    if not f.metadata:
                        return self.send(404, b"no metadata", "text/plain")
                    return self.send(200, f.metadata_bytes, "text/plain")
                time.sleep(f.delay)
                if f.truncate:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(f.data)))
                    self.end_headers()
                    self.wfile.write(f.data[:len(f.data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                return self.send(200, f.data, "application/octet-stream")

            def project(self, name):
                time.sleep(index.page_delay)
                want_json = (index.fmt == "json" or (index.fmt == "negotiate" and
                             "application/vnd.pypi.simple.v1+json"
                             in self.headers.get("Accept", "")))
                page = index.page(name, want_json)
                if page is None:
                    return self.send(404, b"no such project", "text/plain")
                return self.send(200, *page)

            def send(self, status, body, ctype):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def downloads(self, filename):
        return self.hits[f"/files/{filename}"]


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def make_ca(d):
    """A test CA and a certificate for 127.0.0.1 and localhost, signed by it:
    returns (ca.pem, cert.pem, key.pem) below directory d."""
    ca_key, ca, key, csr, cert, ext = (os.path.join(d, n) for n in (
        "ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "ext.cnf"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=runbox test CA", "-keyout", ca_key, "-out", ca)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", cert)
    for p in (ca, cert):
        os.chmod(p, 0o644)
    return ca, cert, key
