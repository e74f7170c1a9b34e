"""invoke tasks: argument parsing and one call each. Also the `release-train` program.

`invoke bump --repo PATH ...` works from a checkout of release-train (tasks.py re-exports
these); `release-train --repo PATH bump ...` works anywhere release-train is installed.
"""

from __future__ import annotations

import functools
import os
import shutil
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
from .branching import run_branch, run_cut_beta, run_final, run_freeze
from .bump import run_bump
from .errors import ReleaseError, from_os_error
from .preflight import run_preflight
from .secrets import redact
from .status import render_status, run_check
from .tagging import run_push, run_tag


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
            if exc.report:
                print(exc.report)
            raise Exit(redact(f"error: {exc}"), code=exc.exit_code) from None
        except (OSError, shutil.Error) as exc:  # read-only, full disk: one line
            raise Exit(redact(f"error: {from_os_error(exc)}"), code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return wrapper


REPO_HELP = "repository to work on (default: current directory)"


@task(help={"part": "major, minor, patch, pre, alpha, beta, rc, dev, post or release",
            "train": "train to bump (needed when the repo has several)",
            "to": "explicit new version instead of --part",
            "dry_run": "print the plan, write nothing",
            "commit": "preflight, then commit exactly the changed files (release commit)",
            "all": "without --train: bump every train, not only those changed since their "
                   "last release tag",
            "repo": REPO_HELP})
@user_errors
def bump(ctx: Context, part: str | None = None, train: str | None = None, to: str | None = None,
         dry_run: bool = False, commit: bool = False, all: bool = False,
         repo: str | None = None) -> None:
    """Plan and apply a version change across every file of a train (without --train, in a
    repository of several trains: the trains changed since their last release tag)."""
    print(run_bump(_repo(ctx, repo), train, part, to, dry_run, commit=commit, every=all))


@task(help={"tag": "also: this tag names the version the files carry (CI on a tag push)",
            "audit": "also: list tracked lines that carry a train's version but that no bump "
                     "moves (exit 1 when there are any)",
            "suggest": "--audit, and print occurrence entries to paste into the config",
            "repo": REPO_HELP})
@user_errors
def check(ctx: Context, tag: str | None = None, audit: bool = False, suggest: bool = False,
          repo: str | None = None) -> None:
    """Every file agrees with its train's version; pins and uv.lock agree (CI gate)."""
    print(run_check(_repo(ctx, repo), tag, audit=audit, suggest=suggest))


@task(help={"repo": REPO_HELP})
@user_errors
def status(ctx: Context, repo: str | None = None) -> None:
    """Trains, versions, tags and where each version lives."""
    print(render_status(_repo(ctx, repo)))


TRAIN_HELP = "train (needed when the repo has several)"
SIGN_HELP = "sign the tag (default: when git's tag.gpgSign is set; GPG or SSH)"


INDEX_CHECK_HELP = ("refuse when an index cannot be asked whether the version is free "
                    "(default: a warning line)")


@task(help={"train": TRAIN_HELP, "part": "check the version --part would make",
            "to": "check this version", "require_index_check": INDEX_CHECK_HELP,
            "repo": REPO_HELP})
@user_errors
def preflight(ctx: Context, train: str | None = None, part: str | None = None,
              to: str | None = None, require_index_check: bool = False,
              repo: str | None = None) -> None:
    """Clean tree, release branch, level with upstream, new version, a free tag, and the
    version on neither index yet."""
    print(run_preflight(_repo(ctx, repo), train, part, to, require_index_check))


@task(help={"train": TRAIN_HELP, "sign": SIGN_HELP, "repo": REPO_HELP})
@user_errors
def tag(ctx: Context, train: str | None = None, sign: bool = False,
        repo: str | None = None) -> None:
    """Tag HEAD with the train's version (annotated; never moves an existing tag)."""
    print(run_tag(_repo(ctx, repo), train, sign))


@task(help={"train": "accepted for older scripts: every train's release tags are pushed",
            "branch": "branch to push (default: the current one)",
            "tag": "push only this tag (default: every release tag the branch carries)",
            "remote": "remote (default: the branch's upstream remote, else origin)",
            "repo": REPO_HELP})
@user_errors
def push(ctx: Context, train: str | None = None, branch: str | None = None,
         tag: str | None = None, remote: str | None = None, repo: str | None = None) -> None:
    """Push the branch and the tags of its releases together (git push --atomic)."""
    print(run_push(_repo(ctx, repo), branch, tag, remote))


@task(name="branch", help={"train": TRAIN_HELP, "part": "name it for the version --part makes",
                           "to": "name it for this version", "repo": REPO_HELP})
@user_errors
def branch_(ctx: Context, train: str | None = None, part: str | None = None,
            to: str | None = None, repo: str | None = None) -> None:
    """Create release/<train>-v<version> from an up-to-date main and switch to it."""
    print(run_branch(_repo(ctx, repo), train, part, to))


@task(help={"train": TRAIN_HELP, "repo": REPO_HELP})
@user_errors
def freeze(ctx: Context, train: str | None = None, repo: str | None = None) -> None:
    """Beta-branch model: main into rc; main moves to the next minor's .dev1."""
    print(run_freeze(_repo(ctx, repo), train))


@task(help={"train": TRAIN_HELP, "branch": "version branch to release the next beta from",
            "sign": SIGN_HELP, "repo": REPO_HELP})
@user_errors
def cut_beta(ctx: Context, train: str | None = None, branch: str | None = None,
             sign: bool = False, repo: str | None = None) -> None:
    """Beta-branch model: release the next beta (first: create X.Y from rc)."""
    print(run_cut_beta(_repo(ctx, repo), train, branch, sign))


@task(help={"train": TRAIN_HELP, "branch": "version branch (default: the current one)",
            "sign": SIGN_HELP, "repo": REPO_HELP})
@user_errors
def final(ctx: Context, train: str | None = None, branch: str | None = None,
          sign: bool = False, repo: str | None = None) -> None:
    """Beta-branch model: release X.Y.Z from its version branch, move on to the next b1."""
    print(run_final(_repo(ctx, repo), train, branch, sign))


@task(name="pin-downstream",
      help={"train": "the artifact train whose pins move (e.g. addon)",
            "to": "pin this version (default: the newest one verified on PyPI)",
            "part": "how the artifact train's own version moves (default: patch)",
            "commit": "commit the change", "repo": REPO_HELP})
@user_errors
def pin_downstream(ctx: Context, train: str, to: str | None = None, part: str = "patch",
                   commit: bool = False, repo: str | None = None) -> None:
    """Point a downstream artifact at a release that passed PyPI verification; bump it."""
    from .config import load
    from .downstream import pin_downstream as move

    print(move(load(_repo(ctx, repo)), train, to=to, part=part, commit=commit, journal=True))


VERSION_HELP = "version (default: the train's current version in the files)"


@task(help={"train": TRAIN_HELP, "version": VERSION_HELP,
            "commit": "write release-notes/<train>-<version>.md and commit that file alone",
            "repo": REPO_HELP})
@user_errors
def notes(ctx: Context, train: str | None = None, version: str | None = None,
          commit: bool = False, repo: str | None = None) -> None:
    """Write .release/notes/<train>-<version>.md (ignored) from the record, changes/ and
    commits; with --commit, release-notes/<train>-<version>.md in its own commit."""
    from .notes import run_notes

    print(run_notes(_repo(ctx, repo), train, version, commit))


@task(help={"train": TRAIN_HELP, "version": VERSION_HELP, "repo": REPO_HELP})
@user_errors
def github_release(ctx: Context, train: str | None = None, version: str | None = None,
                   repo: str | None = None) -> None:
    """Publish the release notes as a GitHub release of the tag (token: GITHUB_TOKEN)."""
    from .github import run_github_release

    print(run_github_release(_repo(ctx, repo), train, version))


@task(iterable=["train", "python", "platform"],
      help={"train": "train to release (repeatable; default: every python train)",
            "part": "major, minor, patch, pre, rc, post or release (not needed to resume)",
            "to": "release this exact version instead of --part",
            "python": "install-back interpreter (repeatable; default: config pythons)",
            "platform": "foreign platform to resolve for (repeatable; default: config)",
            "require_index_check": INDEX_CHECK_HELP, "repo": REPO_HELP})
@user_errors
def release(ctx: Context, train: list[str] | None = None, part: str | None = None,
            to: str | None = None, python: list[str] | None = None,
            platform: list[str] | None = None, require_index_check: bool = False,
            repo: str | None = None) -> None:
    """The whole release against the configured indexes: preflight, bump, commit, tag, push,
    build, TestPyPI, PyPI (finals), downstream, notes. Resumable: run it again after a
    failure and it goes on from the failed stage."""
    from .pipeline import release_command

    print(release_command(_repo(ctx, repo), train or None, part, to, python or None,
                          platform or None, require_index_check=require_index_check))


@task(iterable=["train"],
      help={"train": "only the repository's and this train's checks (repeatable)",
            "ref": "commit or tag to check (default: HEAD; uncommitted edits are not seen)",
            "repo": REPO_HELP})
@user_errors
def gates(ctx: Context, train: list[str] | None = None, ref: str = "HEAD",
          repo: str | None = None) -> None:
    """Run the release's validation gates (before-build, then checks) on a clean worktree
    of REF, exactly as a release runs them; logs in .release/logs/."""
    from .gates import run_gates_command

    print(run_gates_command(_repo(ctx, repo), train or None, ref))


@task(help={"train": "only the release of this train", "repo": REPO_HELP})
@user_errors
def ack(ctx: Context, text: str, train: str | None = None, repo: str | None = None) -> None:
    """Acknowledge a manual checkpoint (confirm = [...]) of the release in progress: records
    who (git user) and when; run the release again to go on."""
    from .gates import run_ack

    print(run_ack(_repo(ctx, repo), text, train))


@task(help={"force": "replace existing workflow files",
            "install": "what CI pip-installs release-train from (default: release-train)",
            "repo": REPO_HELP})
@user_errors
def init_ci(ctx: Context, force: bool = False, install: str | None = None,
            repo: str | None = None) -> None:
    """Write GitHub Actions release workflows that run the nox sessions on tag pushes."""
    from .workflows import run_init_ci

    print(run_init_ci(_repo(ctx, repo), force, install))


namespace = Collection(bump, check, status, preflight, tag, push, release, branch_, freeze,
                       cut_beta, final, pin_downstream, notes,
                       github_release, init_ci, gates, ack)


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
