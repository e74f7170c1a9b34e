"""Where library chatter goes: urllib3's `Retrying ...` warnings, Python warnings and our own
command log are debug output, shown on stderr only with RELEASE_DEBUG=1 (tasks and sessions
alike); otherwise a failure is the one `error:` line the command prints."""

from __future__ import annotations

import logging
import os
import sys

CHATTY = ("urllib3", "requests", "py.warnings", "filelock", "tomlkit")
_MARK = "_release_train_handler"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever sys.stderr is when a record is written (test runners and nox
    swap it; a stream captured at configure time may be closed by then)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def debugging() -> bool:
    return os.environ.get("RELEASE_DEBUG", "").strip() not in ("", "0")


def configure() -> None:
    """Route warnings and library logs to the debug log (idempotent)."""
    logging.captureWarnings(True)
    debug = debugging()
    handler: logging.Handler
    if debug:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    else:
        handler = logging.NullHandler()
    setattr(handler, _MARK, True)
    for name in ("release", *CHATTY):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False  # never reaches nox's or the last-resort handler
        logger.setLevel(logging.DEBUG if debug else logging.CRITICAL + 1
                        if name != "release" else logging.INFO)
