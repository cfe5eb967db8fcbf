"""A stdlib fake of the Google REST endpoints crm uses, on 127.0.0.1.

It speaks what the real client libraries send (observed on the wire, see
``shared/docs/testing-google-clients.md``): the OAuth2 token endpoint (service-account
JWT grant), Drive v3 uploads (multipart and resumable, 200 + ``Location`` then
``308``/``Range`` per chunk), ``files.get`` (metadata and ``alt=media``), permissions,
and Sheets v4 spreadsheet metadata and ``values`` of a whole worksheet.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes


@dataclass
class FakeGoogle:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[Call] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def __enter__(self) -> FakeGoogle:
        fake = self

        class Handler(_Handler):
            state = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def add_sheet(self, sheet_id: str, tab: str, rows: list[list[Any]],
                  title: str = "Customers") -> None:
        book = self.sheets.setdefault(sheet_id, {"title": title, "tabs": {}})
        book["tabs"][tab] = [[str(c) for c in row] for row in rows]

    def add_file(self, meta: dict[str, Any], data: bytes, mimetype: str | None) -> dict:
        meta = dict(meta)
        meta.setdefault("id", uuid.uuid4().hex[:16])
        meta.setdefault("name", "Untitled")
        meta.setdefault("mimeType", mimetype or "application/octet-stream")
        meta.update(kind="drive#file", size=str(len(data)),
                    webViewLink=f"https://drive.google.com/file/d/{meta['id']}/view")
        self.files[meta["id"]] = {"meta": meta, "data": data}
        return meta

    def paths(self, method: str | None = None) -> list[str]:
        return [c.path for c in self.log if method is None or c.method == method]


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """The real API leaves out trailing empty cells and rows."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: FakeGoogle

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: Any = b"", ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, dict | list):
            payload = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"code": status, "message": message,
                                      "errors": [{"message": message, "reason": "notFound"}]}})

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.state.log.append(Call(self.command, path, query, self.headers, body))
        try:
            self._route(path, query, body)
        except Exception as exc:  # a fake's bug answers 500 instead of hanging the client
            self._error(500, f"fake: {exc!r}")

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def _route(self, path: str, q: dict[str, list[str]], body: bytes) -> None:
        fake, method = self.state, self.command
        if method == "POST" and path == "/token":
            return self._send(200, {"access_token": "fake-access-token", "expires_in": 3600,
                                    "token_type": "Bearer"})
        if path == "/upload/drive/v3/files":
            return self._upload(q, body)
        m = re.fullmatch(r"/drive/v3/files/([^/]+)(/permissions)?", path)
        if m:
            return self._file(m.group(1), bool(m.group(2)), q, body)
        m = re.fullmatch(r"/v4/spreadsheets/([^/]+?)(?:/values/(.*))?", path)
        if m and method == "GET":
            book = fake.sheets.get(m.group(1))
            if book is None:
                return self._error(404, "Requested entity was not found.")
            if m.group(2) is None:
                return self._send(200, {"spreadsheetId": m.group(1),
                                        "properties": {"title": book["title"]},
                                        "sheets": [{"properties": {
                                            "sheetId": i, "title": t, "index": i,
                                            "gridProperties": {"rowCount": len(r),
                                                               "columnCount": 26}}}
                                            for i, (t, r) in enumerate(book["tabs"].items())]})
            title = m.group(2).split("!")[0].strip("'").replace("''", "'")
            values = _trim(book["tabs"].get(title, []))
            reply = {"range": m.group(2), "majorDimension": "ROWS"}
            if values:
                reply["values"] = values
            return self._send(200, reply)
        return self._error(404, f"fake: no route for {method} {path}")

    def _upload(self, q: dict[str, list[str]], body: bytes) -> None:
        fake, kind = self.state, q.get("uploadType", [""])[0]
        if self.command == "POST" and kind == "multipart":
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
            meta_part, media_part = list(msg.iter_parts())
            return self._send(200, fake.add_file(json.loads(meta_part.get_content()),
                                                 media_part.get_payload(decode=True),
                                                 media_part.get_content_type()))
        if self.command == "POST" and kind == "resumable" and "upload_id" not in q:
            upload_id = uuid.uuid4().hex
            fake.uploads[upload_id] = {"meta": json.loads(body or b"{}"), "data": bytearray(),
                                       "mimetype": self.headers.get("X-Upload-Content-Type")}
            location = (f"{fake.url}/upload/drive/v3/files?uploadType=resumable"
                        f"&upload_id={upload_id}")
            return self._send(200, b"", headers={"Location": location})
        if self.command == "PUT" and "upload_id" in q:
            upload = fake.uploads[q["upload_id"][0]]
            m = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)",
                             self.headers.get("Content-Range", ""))
            total = m.group(3) if m else str(len(body))
            if m and m.group(1) is not None:
                start = int(m.group(1))
                upload["data"][start:start + len(body)] = body
            if total != "*" and len(upload["data"]) >= int(total):
                del fake.uploads[q["upload_id"][0]]
                return self._send(200, fake.add_file(upload["meta"], bytes(upload["data"]),
                                                     upload["mimetype"]))
            headers = {"Range": f"bytes=0-{len(upload['data']) - 1}"} if upload["data"] else {}
            return self._send(308, b"", headers=headers)
        return self._error(400, "fake: unsupported upload")

    def _file(self, file_id: str, permissions: bool, q: dict[str, list[str]],
              body: bytes) -> None:
        fake = self.state
        found = fake.files.get(file_id)
        if found is None:
            return self._error(404, f"File not found: {file_id}.")
        if permissions and self.command == "POST":
            permission = dict(json.loads(body or b"{}"), id=uuid.uuid4().hex[:10])
            fake.permissions.setdefault(file_id, []).append(permission)
            return self._send(200, permission)
        if self.command == "GET" and q.get("alt") == ["media"]:
            return self._send(200, found["data"], found["meta"]["mimeType"])
        if self.command == "GET":
            fields = q.get("fields", [""])[0]
            meta = found["meta"]
            if fields:
                meta = {k: v for k, v in meta.items() if k in fields.split(",")}
            return self._send(200, meta)
        return self._error(400, "fake: unsupported file request")
