"""One timeout policy for every network operation: a connect timeout, a read timeout (per
read), and an overall deadline per operation, so an index that trickles a byte every few
seconds, or never answers an upload, stops in bounded time with one line naming the index, the
operation and the seconds.

Configured from the environment (seconds): `RELEASE_CONNECT_TIMEOUT` (default 10),
`RELEASE_READ_TIMEOUT` (15), `RELEASE_DEADLINE` (120, one read of an index or an API call,
retries included) and `RELEASE_UPLOAD_DEADLINE` (1800, one twine run).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from release.errors import IndexServerError
from release.redaction import redact


@dataclass(frozen=True)
class Policy:
    connect: float = 10.0
    read: float = 15.0
    deadline: float = 120.0
    upload: float = 1800.0

    @property
    def pair(self) -> tuple[float, float]:
        """What requests takes as `timeout=`."""
        return (self.connect, self.read)


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise IndexServerError(f"{name}={value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise IndexServerError(f"{name}={value!r} must be more than 0 seconds")
    return seconds


def policy(read: float | None = None) -> Policy:
    """The policy now (the environment read each time: tests and users set it per run)."""
    return Policy(_seconds("RELEASE_CONNECT_TIMEOUT", 10.0),
                  read if read is not None else _seconds("RELEASE_READ_TIMEOUT", 15.0),
                  _seconds("RELEASE_DEADLINE", 120.0),
                  _seconds("RELEASE_UPLOAD_DEADLINE", 1800.0))


class DeadlineExceeded(IndexServerError):
    """An operation took longer than its overall deadline."""


def over(where: str, operation: str, seconds: float, setting: str = "RELEASE_DEADLINE"
         ) -> DeadlineExceeded:
    return DeadlineExceeded(redact(f"{where}: {operation} gave up after {seconds:g} s (the "
                                   f"deadline; raise it with {setting}); run the same command "
                                   "again"))


def request(session: requests.Session, method: str, url: str, *, where: str, operation: str,
            rules: Policy | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
    """One HTTP request whose body is read in full before the deadline (requests' own read
    timeout applies to each read, not to the whole: a byte every few seconds never trips it).
    requests' exceptions pass through for the caller to word."""
    rules = rules or policy()
    started = time.monotonic()
    response = session.request(method, url, headers=dict(headers or {}), timeout=rules.pair,
                               stream=True, **kwargs)
    try:
        chunks = []
        while True:
            if time.monotonic() - started > rules.deadline:
                raise over(where, operation, rules.deadline)
            chunk = response.raw.read1(65536, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
        response._content = b"".join(chunks)
    finally:
        response.close()
    if time.monotonic() - started > rules.deadline:
        raise over(where, operation, rules.deadline)
    return response
