"""invoke tasks: argument parsing and one call each. Also the `release-train` program.

`invoke bump --repo PATH ...` works from a checkout of release-train (tasks.py re-exports
these); `release-train --repo PATH bump ...` works anywhere release-train is installed.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.program import Program
from invoke.tasks import task

from . import __version__
from .bump import run_bump
from .errors import ReleaseError
from .secrets import redact
from .status import render_status, run_check


def _repo(ctx: Context, repo: str | None) -> Path:
    """--repo on the task, else `release-train --repo`, else RELEASE_REPO, else the cwd."""
    chosen = repo or ctx.config.get("release_repo") or os.environ.get("RELEASE_REPO") or "."
    return Path(chosen).resolve()


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Expected failures become one clear line on stderr and a non-zero exit, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReleaseError as exc:
            raise Exit(redact(f"error: {exc}"), code=exc.exit_code) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return wrapper


REPO_HELP = "repository to work on (default: current directory)"


@task(help={"part": "major, minor, patch, pre, alpha, beta, rc, dev, post or release",
            "train": "train to bump (needed when the repo has several)",
            "to": "explicit new version instead of --part",
            "dry_run": "print the plan, write nothing", "repo": REPO_HELP})
@user_errors
def bump(ctx: Context, part: str | None = None, train: str | None = None, to: str | None = None,
         dry_run: bool = False, repo: str | None = None) -> None:
    """Plan and apply a version change across every file of a train."""
    print(run_bump(_repo(ctx, repo), train, part, to, dry_run))


@task(help={"repo": REPO_HELP})
@user_errors
def check(ctx: Context, repo: str | None = None) -> None:
    """Every file agrees with its train's version; pins and uv.lock agree (CI gate)."""
    print(run_check(_repo(ctx, repo)))


@task(help={"repo": REPO_HELP})
@user_errors
def status(ctx: Context, repo: str | None = None) -> None:
    """Trains, versions, tags and where each version lives."""
    print(render_status(_repo(ctx, repo)))


namespace = Collection(bump, check, status)


class ReleaseProgram(Program):
    """invoke's Program with a core --repo flag: `release-train --repo PATH bump ...`."""

    def core_args(self) -> list[Argument]:
        return [*super().core_args(), Argument(names=("repo",), help=REPO_HELP)]

    def update_config(self, merge: bool = True) -> None:
        repo = self.args.repo.value if "repo" in self.args else None
        if repo:
            self.config["release_repo"] = repo
        super().update_config(merge=merge)


program = ReleaseProgram(namespace=namespace, version=__version__, name="release-train",
                         binary="release-train")


def main() -> None:
    program.run(sys.argv)
