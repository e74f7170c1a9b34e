"""A stand-in for the GitHub REST API on 127.0.0.1 (http.server in a thread): it answers by
(method, path) or by a route computed from the request, and records every request it saw.
The notes, the git remote, the token handling and the HTTP client under test are the real
ones; nothing reaches the network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.helpers import loopback

TOKEN = "ghp_testTokenThatMustNeverBePrinted42"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """Answers by (method, path); records every request."""

    url: str = ""
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    # answers computed from the request (query strings, sequences); None: not this route
    routes: list[Callable[[Seen], tuple[int, Any] | None]] = field(default_factory=list)

    def answer(self, method: str, path: str, status: int, body: Any) -> None:
        self.answers[(method, path)] = (status, body)


@contextmanager
def serving() -> Iterator[FakeGitHub]:
    """A FakeGitHub listening on a free loopback port while the block runs."""
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw  # an uploaded file
            seen = Seen(self.command, self.path, dict(self.headers.items()), parsed)
            fake.seen.append(seen)
            routed = next((got for route in fake.routes if (got := route(seen))), None)
            status, body = routed or fake.answers.get((self.command, self.path),
                                                      (404, {"message": "Not Found"}))
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/zip" if isinstance(body, bytes)
                             else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    with loopback.serving(Handler) as url:
        fake.url = url
        yield fake
