#!/usr/bin/env python3
"""A minimal S3 endpoint that checks every request's AWS Signature V4.

Usage: sigv4_s3_server.py PORT_FILE ACCESS_KEY SECRET_KEY REGION

Unlike s3rver, which accepts any signature made with a known key id, this
server recomputes the signature from the request (method, path, query,
signed headers, payload hash) and the secret, as AWS does, and answers
403 SignatureDoesNotMatch when they differ. It also checks that the body
matches x-amz-content-sha256. Objects live in memory. Test helper only.
"""

import hashlib
import hmac
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, ACCESS_KEY, SECRET_KEY, REGION = sys.argv[1:5]
OBJECTS = {}
LOCK = threading.Lock()


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        self.reply(status, body, {"Content-Type": "application/xml"})

    def verified_body(self):
        """The request body when the signature holds, else None (after answering)."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            self.error(403, "AccessDenied", "no AWS4-HMAC-SHA256 authorization")
            return None
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        key_id, date, region, service, terminal = fields["Credential"].split("/")
        if key_id != ACCESS_KEY:
            self.error(403, "InvalidAccessKeyId", key_id)
            return None
        if region != REGION or service != "s3" or terminal != "aws4_request":
            self.error(400, "AuthorizationHeaderMalformed", fields["Credential"])
            return None
        payload_hash = self.headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            self.error(400, "XAmzContentSHA256Mismatch", "body does not match x-amz-content-sha256")
            return None
        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed:
            self.error(403, "AccessDenied", "host is not signed")
            return None
        path, _, query = self.path.partition("?")
        canonical_headers = "".join(
            f"{name}:{' '.join((self.headers.get(name) or '').split())}\n" for name in signed)
        canonical_request = "\n".join(
            [self.command, path, canonical_query(query), canonical_headers, ";".join(signed), payload_hash])
        amz_date = self.headers.get("x-amz-date", "")
        scope = f"{date}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = hmac_sha256(("AWS4" + SECRET_KEY).encode(), date)
        for part in (region, service, "aws4_request"):
            key = hmac_sha256(key, part)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            self.error(403, "SignatureDoesNotMatch", "signature mismatch")
            return None
        return body

    def do_PUT(self):
        body = self.verified_body()
        if body is None:
            return
        with LOCK:
            OBJECTS[self.path] = (body, self.headers.get("x-amz-meta-sha256", ""))
        self.reply(200, b"", {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'})

    def do_GET(self):
        if self.verified_body() is None:
            return
        with LOCK:
            found = OBJECTS.get(self.path)
        if found is None:
            self.error(404, "NoSuchKey", self.path)
        else:
            self.reply(200, found[0], {"x-amz-meta-sha256": found[1]})

    def do_HEAD(self):
        self.do_GET()

    def do_DELETE(self):
        if self.verified_body() is None:
            return
        with LOCK:
            OBJECTS.pop(self.path, None)
        self.reply(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
