"""A small HTTP proxy in front of a real index, to inject faults: slow propagation, 5xx."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length",
               "content-encoding"}


@dataclass
class Faults:
    """What the proxy does to requests whose path matches `pattern`."""

    hide_until: float = 0.0  # simple pages answer 404 until this monotonic time
    hide_pattern: str = r"/\+simple/[^/]+/$"
    status: int = 0  # answer this status instead of forwarding ...
    status_pattern: str = r"$^"
    status_count: int = 0  # ... this many times
    seen: list[str] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = Faults()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                faults = proxy.faults
                faults.seen.append(f"{self.command} {self.path}")
                if time.monotonic() < faults.hide_until and re.search(faults.hide_pattern,
                                                                       self.path):
                    self._answer(404, b"not yet")
                    return
                if faults.status_count > 0 and re.search(faults.status_pattern, self.path):
                    faults.status_count -= 1
                    self._answer(faults.status, b"injected fault")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                reply = requests.request(self.command, proxy.upstream + self.path, data=body,
                                         headers=headers, allow_redirects=False, timeout=60)
                content = reply.content
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        value = value.replace(proxy.upstream, proxy.url)
                        self.send_header(key, value)
                content = content.replace(proxy.upstream.encode(), proxy.url.encode())
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def translate(self, url: str) -> str:
        return url.replace(self.upstream, self.url)

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
