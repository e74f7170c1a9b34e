"""The one failure handling of every front end (invoke tasks, the `release-train` program, nox
sessions): library chatter goes to the debug log (`logs.configure`, shown with
RELEASE_DEBUG=1); an expected failure (`ReleaseError`) becomes one redacted `error:` line and
its exit code, after the report it carries (the audit's findings) on stdout; a read-only or
full disk one line and exit 1; a closed pipe ends quietly with 141; Ctrl-C with 130. `attempt`
runs a command and hands back its result or the `Failure`; each front end says it its way."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from release import logs
from release.errors import ReleaseError, from_os_error
from release.redaction import redact

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """How a command ended when it did not succeed: the line for stderr (None: say
    nothing), and the exit code."""

    message: str | None
    code: int

    def say(self) -> int:
        """Print the line on stderr; the exit code."""
        if self.message:
            print(self.message, file=sys.stderr)
        return self.code


def quiet_broken_pipe() -> None:
    """`release-train status | head`: the reader left; stop quietly (no traceback at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def attempt(command: Callable[[], T]) -> T | Failure:
    """Run the command (its output flushed); its result, or the Failure that ended it."""
    logs.configure()
    try:
        result = command()
        sys.stdout.flush()
        return result
    except ReleaseError as exc:
        if exc.report:
            print(exc.report)
        return Failure(redact(f"error: {exc}"), exc.exit_code)
    except BrokenPipeError:
        quiet_broken_pipe()
        return Failure(None, 141)
    except (OSError, shutil.Error) as exc:  # read-only, full disk: one line
        return Failure(redact(f"error: {from_os_error(exc)}"), 1)
    except KeyboardInterrupt:
        return Failure("interrupted", 130)
