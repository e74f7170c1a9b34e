"""A small HTTP proxy in front of a real index, to inject the faults a network and an index make.

`Faults` holds what happens to the requests that pass: simple pages hidden for a while (slow
propagation, also for a while after every upload), and `Rule`s: answer a status instead of
forwarding, reset the connection half-way through a request, forward and then reset instead of
answering (the index has the file, the client never hears), stall before forwarding (read
timeouts), or call a hook once the index has answered (e.g. to kill the client). `down()`
closes the port altogether (connection refused) until `up()` opens it again.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from tests.helpers.ports import HOST, quiet_port

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length",
               "content-encoding"}
ACTIONS = ("status", "reset", "lost", "stall", "after")
# The file part of an upload's multipart body (twine sends `content` with its file name).
_UPLOADED = re.compile(rb'name="content"; filename="([^"]+)"')


@dataclass
class Rule:
    """One fault for the requests that match `method` (any if "") and `pattern` (on the path).

    The first `skip` matching requests pass untouched; the next `times` get the fault (-1: every
    one after the skipped ones).
    """

    action: str  # one of ACTIONS
    method: str = ""
    pattern: str = ""
    skip: int = 0
    times: int = 1
    status: int = 500
    reason: str = ""  # the status line's reason phrase (default: the standard one)
    seconds: float = 0.0  # stall
    hook: Callable[[], None] | None = None  # after
    matched: int = 0  # how many requests matched so far

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")

    def applies(self, method: str, path: str) -> bool:
        """Count a matching request; True when this one gets the fault."""
        if self.method and method != self.method or not re.search(self.pattern, path):
            return False
        self.matched += 1
        if self.matched <= self.skip:
            return False
        return self.times < 0 or self.matched <= self.skip + self.times


@dataclass
class Faults:
    """What the proxy does to the requests it sees (tests change it while it runs)."""

    hide_until: float = 0.0  # simple pages answer 404 until this monotonic time ...
    hide_pattern: str = r"/\+simple/[^/]+/$"
    lag_after_upload: float = 0.0  # ... and for this long after every upload (a POST)
    rules: list[Rule] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    # every upload (a POST naming a file) the index answered: (file name, status)
    posted: list[tuple[str, int]] = field(default_factory=list)
    # in the order they happened, with time.monotonic(): ("arrived", "GET /path") when a
    # request's head arrives, ("sent", file) once an upload's body is here (before the index
    # sees it), ("answered", "GET /path" or the file) once the index has answered
    events: list[tuple[float, str, str]] = field(default_factory=list)

    def clear(self) -> None:
        """The index recovers: no more faults."""
        self.hide_until = 0.0
        self.lag_after_upload = 0.0
        self.rules.clear()

    def uploads(self) -> int:
        return sum(1 for line in self.seen if line.startswith("POST "))

    def stored(self) -> list[str]:
        """The files the index accepted (2xx), once per acceptance, in order."""
        return [name for name, status in self.posted if 200 <= status < 300]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a sixth simultaneous connect waits for the
    # kernel's SYN retry (1 s), which would time the proxy, not the client.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away, a socket we reset on purpose: not news


def _quiet_server(handler: type[BaseHTTPRequestHandler]) -> _Server:
    """A server on a quiet port: `up()` after `down()` gets the same port back."""
    for _ in range(4):
        try:
            return _Server((HOST, quiet_port()), handler)
        except OSError:  # taken since it was found free
            continue
    return _Server((HOST, quiet_port()), handler)


class FaultProxy:
    """A proxy on a loopback port in front of `upstream` (a devpi-server root URL)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = Faults()
        self._handler = self._make_handler()
        self.server = _quiet_server(self._handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def translate(self, url: str) -> str:
        return url.replace(self.upstream, self.url)

    # -- faults ---------------------------------------------------------------------------------

    def add(self, action: str, **options: Any) -> Rule:
        rule = Rule(action, **options)
        self.faults.rules.append(rule)
        return rule

    def down(self) -> None:
        """Close the port: clients get "connection refused" until up()."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()

    def up(self) -> None:
        """Listen again, on the same port."""
        if self._thread is None:
            self.server = _Server((HOST, self.port), self._handler)
            self._serve()

    # -- plumbing -------------------------------------------------------------------------------

    def _serve(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        self._serve()
        try:
            yield self
        finally:
            self.down()

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"proxy": self})


class _Handler(BaseHTTPRequestHandler):
    """Forwards a request to the proxy's upstream, or answers it with the fault it meets."""

    proxy: FaultProxy

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        faults = self.proxy.faults
        faults.seen.append(f"{self.command} {self.path}")
        faults.events.append((time.monotonic(), "arrived", f"{self.command} {self.path}"))
        now = time.monotonic()
        if now < faults.hide_until and re.search(faults.hide_pattern, self.path):
            self._answer(404, b"not yet")
            return
        rule = next((r for r in list(faults.rules) if r.applies(self.command, self.path)), None)
        length = int(self.headers.get("Content-Length") or 0)
        if rule is not None and rule.action == "reset":
            self.rfile.read(length // 2)  # half the request arrived ...
            self._reset()  # ... then the connection broke
            return
        if rule is not None and rule.action == "status":
            self.rfile.read(length)
            self._answer(rule.status, b"injected fault", rule.reason)
            return
        if rule is not None and rule.action == "stall":
            time.sleep(rule.seconds)
        self._relay(self.rfile.read(length) if length else None, rule)

    def _relay(self, body: bytes | None, rule: Rule | None) -> None:
        """Send the request on to the index; hand its answer back (or lose it, or call the
        rule's hook first)."""
        proxy, faults = self.proxy, self.proxy.faults
        named = _UPLOADED.search(body or b"") if self.command == "POST" else None
        if named is not None:
            faults.events.append((time.monotonic(), "sent", named[1].decode()))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        reply = requests.request(self.command, proxy.upstream + self.path, data=body,
                                 headers=headers, allow_redirects=False, timeout=60)
        faults.events.append((time.monotonic(), "answered", named[1].decode()
                              if named is not None else f"{self.command} {self.path}"))
        if named is not None:
            faults.posted.append((named[1].decode(), reply.status_code))
        if self.command == "POST" and faults.lag_after_upload:
            faults.hide_until = time.monotonic() + faults.lag_after_upload
        if rule is not None and rule.action == "lost":
            self._reset()  # the index has it; the client never hears
            return
        if rule is not None and rule.action == "after" and rule.hook is not None:
            rule.hook()
        content = reply.content.replace(proxy.upstream.encode(), proxy.url.encode())
        self.send_response(reply.status_code, reply.reason)
        for key, value in reply.headers.items():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value.replace(proxy.upstream, proxy.url))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _answer(self, code: int, body: bytes, reason: str = "") -> None:
        self.send_response(code, reason or None)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with a TCP RST, as a dropped connection looks to the client."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    do_GET = do_POST = do_PUT = do_HEAD = _forward  # noqa: N815
