"""What each nox session does, given its posargs. Each returns an exit code (0 = success)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ReleaseError
from .secrets import redact


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"nox -s {prog} --", description=description)
    parser.add_argument("--repo", type=Path, default=None,
                        help="repository to release (default: $RELEASE_REPO or the current "
                             "directory)")
    parser.add_argument("--train", action="append", default=None,
                        help="train to work on (repeatable; default: all trains)")
    return parser


def guarded(func: Callable[[Sequence[str]], int]) -> Callable[[Sequence[str]], int]:
    """Expected failures print one redacted line and return 1; no tracebacks."""

    def wrapper(argv: Sequence[str]) -> int:
        try:
            return func(argv)
        except ReleaseError as exc:
            print(redact(f"error: {exc}"), file=sys.stderr)
            return exc.exit_code
        except SystemExit as exc:  # argparse: usage errors, --help
            return int(exc.code or 0)

    wrapper.__doc__ = func.__doc__
    return wrapper
