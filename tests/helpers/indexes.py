"""Indexes for tests on a devpi-server that many tests share (one per pytest process): each
test gets indexes whose names are new on that server, and the variables that point
release-train's testpypi and pypi endpoints at them. The server listens on a quiet port
(tests/helpers/ports.py), so that a test may stop it and start it again at the same URL."""

from __future__ import annotations

import itertools
from pathlib import Path

from release.errors import IndexServerError
from release.pipeline import rehearsal
from release.pipeline.localindex import LocalDevpi, LocalIndex
from tests.helpers.ports import quiet_port

_numbers = itertools.count(1)


def fresh_index(server: LocalDevpi, name: str) -> LocalIndex:
    """A new, empty PyPI-like index named after `name` (and a number: unique on server)."""
    return server.create_index(f"{name}-{next(_numbers)}")


def fresh_indexes(server: LocalDevpi, *names: str) -> dict[str, LocalIndex]:
    """A fresh index for each name (by default testpypi and pypi), by name."""
    return {name: fresh_index(server, name) for name in names or ("testpypi", "pypi")}


def stand_ins(server: LocalDevpi) -> dict[str, str]:
    """Fresh testpypi and pypi stand-ins on server: the variables that point at them."""
    return rehearsal.index_env(fresh_indexes(server))


def start_devpi(directory: Path) -> LocalDevpi:
    """A devpi-server on a quiet port, started (another process may take the port between the
    check and the start: then another port)."""
    for attempt in range(2):
        server = LocalDevpi(directory / str(attempt), port=quiet_port())
        try:
            return server.start()
        except IndexServerError:
            server.close()
    return LocalDevpi(directory / "2", port=quiet_port()).start()
