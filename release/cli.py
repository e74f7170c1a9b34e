"""invoke tasks: argument parsing and one call each; `main`, the `release-train` entry point
(the program itself is `release.program`).

`invoke bump --repo PATH ...` works from a checkout of release-train (tasks.py re-exports
these); `release-train --repo PATH bump ...` works anywhere release-train is installed.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.program import Program
from invoke.tasks import task as invoke_task

from release import __version__
from release.commands.guard import Failure, attempt
from release.program import REPO_HELP, ReleaseProgram


def _repo(ctx: Context, repo: str | None) -> Path:
    """--repo on the task, else `release-train --repo`, else RELEASE_REPO, else the cwd."""
    chosen = repo or ctx.config.get("release_repo") or os.environ.get("RELEASE_REPO") or "."
    return Path(chosen).resolve()


def task(**kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """invoke's @task without automatic short flags: every option is spelled out (`--repo`,
    `--train`, ...), so no letter means one thing in one task and another elsewhere. Each task
    also checks its own arguments (see `own_arguments`), so plain `invoke` (tasks.py, invoke's
    own Program) answers `invoke ack --help` with help, as `release-train` does."""
    kwargs.setdefault("auto_shortflags", False)
    decorate: Callable[[Callable[..., Any]], Any] = invoke_task(**kwargs)

    def wrap(func: Callable[..., Any]) -> Any:
        return decorate(own_arguments(kwargs.get("name") or func.__name__.replace("_", "-"),
                                      func))

    return wrap


HELP_WORDS = ("--help", "-h")


def task_help(name: str) -> None:
    """The task's help, as `<binary> --help <name>` prints it (invoke or release-train)."""
    binary = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "invoke"
    helper = program if binary == "release-train" else Program(namespace=namespace,
                                                               binary=binary)
    helper.run([binary, "--help", name], exit=False)


def own_arguments(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A task that validates what invoke's parser handed it. invoke's parser, before any task
    runs, gives a positional argument (ack TEXT) or an option's value whatever word comes
    next: `invoke ack --help` would acknowledge "--help", `invoke tag --train --repo X` would
    look for a train named "--repo". Here --help/-h there prints the task's help (exit 0), and
    another word spelled like an option is a usage error (one `error:` line, exit 2)."""
    options = ["--" + p.replace("_", "-") for p in inspect.signature(func).parameters
               if p != "ctx"]

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for value in [*args[1:], *kwargs.values()]:
            for word in value if isinstance(value, list) else [value]:
                if word in HELP_WORDS:
                    task_help(name)
                    return None
                if isinstance(word, str) and re.match(r"--\w|-[A-Za-z]$", word):
                    raise Exit(f"error: {name}: {usage_hint(word, options)}", code=2)
        return func(*args, **kwargs)

    return checked


def usage_hint(word: str, options: list[str]) -> str:
    """What to say about an option-like word where a value was expected."""
    flag = word.split("=", 1)[0]
    if flag in options:
        return f"{flag} is an option here, not a value: give the value it follows"
    close = difflib.get_close_matches(flag, options, n=1)
    hint = f" (did you mean {close[0]}?)" if close else f" (options: {', '.join(options)})"
    return f"no option {flag!r}{hint}"


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A task whose failure is one line and an exit code (release.commands.guard), as invoke
    says it: no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outcome = attempt(lambda: func(*args, **kwargs))
        if isinstance(outcome, Failure):
            raise Exit(outcome.message, code=outcome.code)
        return outcome

    return wrapper




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
    from release.commands.versions import run_bump  # imported when the task runs: a fast start

    print(run_bump(_repo(ctx, repo), train, part, to, dry_run, commit=commit, every=all))


@task(iterable=["train"],
      help={"tag": "also: this tag names the version the files carry (CI on a tag push)",
            "audit": "also: list tracked lines that carry a train's version but that no bump "
                     "moves (exit 1 when there are any)",
            "suggest": "--audit, and print occurrence entries to paste into the config",
            "train": "only this train's files, pins and audit findings (repeatable)",
            "repo": REPO_HELP})
@user_errors
def check(ctx: Context, tag: str | None = None, audit: bool = False, suggest: bool = False,
          train: list[str] | None = None, repo: str | None = None) -> None:
    """Every file agrees with its train's version; pins and uv.lock agree (CI gate)."""
    from release.commands.status import run_check  # imported when the task runs: a fast start

    print(run_check(_repo(ctx, repo), tag, audit=audit, suggest=suggest, trains=train or None))


@task(iterable=["train"], help={"train": "only this train (repeatable)", "repo": REPO_HELP})
@user_errors
def status(ctx: Context, train: list[str] | None = None, repo: str | None = None) -> None:
    """Trains, versions, tags and where each version lives."""
    from release.commands.status import render_status  # imported when the task runs: a fast start

    print(render_status(_repo(ctx, repo), train or None))


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
    from release.commands.git import run_preflight  # imported when the task runs: a fast start

    print(run_preflight(_repo(ctx, repo), train, part, to, require_index_check))


@task(help={"train": TRAIN_HELP, "sign": SIGN_HELP,
            "dry_run": "check everything (no fetch), print the tag and the commit, write nothing",
            "repo": REPO_HELP})
@user_errors
def tag(ctx: Context, train: str | None = None, sign: bool = False, dry_run: bool = False,
        repo: str | None = None) -> None:
    """Tag HEAD with the train's version (annotated; never moves an existing tag)."""
    from release.commands.git import run_tag  # imported when the task runs: a fast start

    print(run_tag(_repo(ctx, repo), train, sign, dry_run))


@task(help={"train": "accepted for older scripts: every train's release tags are pushed",
            "branch": "branch to push (default: the current one)",
            "tag": "push only this tag (default: every release tag the branch carries)",
            "remote": "remote (default: the branch's upstream remote, else origin)",
            "dry_run": "print the remote and the refspecs it would push, send nothing",
            "repo": REPO_HELP})
@user_errors
def push(ctx: Context, train: str | None = None, branch: str | None = None,
         tag: str | None = None, remote: str | None = None, dry_run: bool = False,
         repo: str | None = None) -> None:
    """Push the branch and the tags of its releases together (git push --atomic)."""
    from release.commands.git import run_push  # imported when the task runs: a fast start

    print(run_push(_repo(ctx, repo), branch, tag, remote, dry_run))


@task(name="branch", help={"train": TRAIN_HELP, "part": "name it for the version --part makes",
                           "to": "name it for this version",
                           "dry_run": "check everything (no fetch), print the branch, write "
                                      "nothing", "repo": REPO_HELP})
@user_errors
def branch_(ctx: Context, train: str | None = None, part: str | None = None,
            to: str | None = None, dry_run: bool = False, repo: str | None = None) -> None:
    """Create release/<train>-v<version> from an up-to-date main and switch to it."""
    from release.commands.git import run_branch  # imported when the task runs: a fast start

    print(run_branch(_repo(ctx, repo), train, part, to, dry_run))


BRANCHES_DRY_RUN = "check everything (no fetch), print the branches, commits (files and " \
    "lines) and tags it would make, write nothing"


@task(help={"train": TRAIN_HELP, "dry_run": BRANCHES_DRY_RUN, "repo": REPO_HELP})
@user_errors
def freeze(ctx: Context, train: str | None = None, dry_run: bool = False,
           repo: str | None = None) -> None:
    """Beta-branch model: main into rc; main moves to the next minor's .dev1."""
    from release.commands.git import run_freeze  # imported when the task runs: a fast start

    print(run_freeze(_repo(ctx, repo), train, dry_run))


@task(help={"train": TRAIN_HELP, "branch": "version branch to release the next beta from",
            "sign": SIGN_HELP, "dry_run": BRANCHES_DRY_RUN, "repo": REPO_HELP})
@user_errors
def cut_beta(ctx: Context, train: str | None = None, branch: str | None = None,
             sign: bool = False, dry_run: bool = False, repo: str | None = None) -> None:
    """Beta-branch model: release the next beta (first: create X.Y from rc)."""
    from release.commands.git import run_cut_beta  # imported when the task runs: a fast start

    print(run_cut_beta(_repo(ctx, repo), train, branch, sign, dry_run))


@task(help={"train": TRAIN_HELP, "branch": "version branch (default: the current one)",
            "sign": SIGN_HELP, "dry_run": BRANCHES_DRY_RUN, "repo": REPO_HELP})
@user_errors
def final(ctx: Context, train: str | None = None, branch: str | None = None,
          sign: bool = False, dry_run: bool = False, repo: str | None = None) -> None:
    """Beta-branch model: release X.Y.Z from its version branch, move on to the next b1."""
    from release.commands.git import run_final  # imported when the task runs: a fast start

    print(run_final(_repo(ctx, repo), train, branch, sign, dry_run))


@task(name="pin-downstream",
      help={"train": "the artifact train whose pins move (e.g. addon; required)",
            "to": "pin this version (default: the newest one verified on PyPI)",
            "part": "how the artifact train's own version moves (default: patch)",
            "commit": "commit the change",
            "dry_run": "print the pins, files and lines that would move, write nothing",
            "pull_request": "a train in its own repository: push its release branch and open "
                            "a pull request (GITHUB_TOKEN) instead of pushing to its main",
            "repo": REPO_HELP})
@user_errors
def pin_downstream(ctx: Context, train: str | None = None, to: str | None = None,
                   part: str = "patch", commit: bool = False, pull_request: bool = False,
                   dry_run: bool = False, repo: str | None = None) -> None:
    """Point a downstream artifact at a release that passed PyPI verification; bump it (in
    its own repository: branch, commit, tag, push)."""
    from release.commands.downstream import run_pin_downstream

    print(run_pin_downstream(_repo(ctx, repo), train, to, part, commit, pull_request, dry_run))


VERSION_HELP = "version (default: the train's current version in the files)"


@task(help={"train": TRAIN_HELP, "version": VERSION_HELP,
            "commit": "write release-notes/<train>-<version>.md and commit that file alone",
            "dry_run": "print the path and the notes, write nothing",
            "repo": REPO_HELP})
@user_errors
def notes(ctx: Context, train: str | None = None, version: str | None = None,
          commit: bool = False, dry_run: bool = False, repo: str | None = None) -> None:
    """Write .release/notes/<train>-<version>.md (ignored) from the record, changes/ and
    commits; with --commit, release-notes/<train>-<version>.md in its own commit."""
    from release.commands.announce import run_notes

    print(run_notes(_repo(ctx, repo), train, version, commit, dry_run))


@task(help={"train": TRAIN_HELP, "version": VERSION_HELP,
            "dry_run": "print the API request (never the token), send nothing",
            "repo": REPO_HELP})
@user_errors
def github_release(ctx: Context, train: str | None = None, version: str | None = None,
                   dry_run: bool = False, repo: str | None = None) -> None:
    """Publish the release notes as a GitHub release of the tag (token: GITHUB_TOKEN)."""
    from release.commands.announce import run_github_release

    print(run_github_release(_repo(ctx, repo), train, version, dry_run))


@task(iterable=["train", "python", "platform"],
      help={"train": "train to release (repeatable; default: every python train)",
            "part": "major, minor, patch, pre, rc, post or release (not needed to resume)",
            "to": "release this exact version instead of --part",
            "python": "install-back interpreter (repeatable; default: config pythons)",
            "platform": "foreign platform to resolve for (repeatable; default: config)",
            "require_index_check": INDEX_CHECK_HELP,
            "dry_run": "print the plan (trains, versions, indexes, stages, each bump's files "
                       "and lines), write and send nothing",
            "via_ci": "stop after pushing the tag; wait for its GitHub Actions run (trusted "
                      "publishing), record it, attach the files to the GitHub release",
            "repo": REPO_HELP})
@user_errors
def release(ctx: Context, train: list[str] | None = None, part: str | None = None,
            to: str | None = None, python: list[str] | None = None,
            platform: list[str] | None = None, require_index_check: bool = False,
            via_ci: bool = False, dry_run: bool = False, repo: str | None = None) -> None:
    """The whole release against the configured indexes: preflight, bump, commit, tag, push,
    build, TestPyPI, PyPI (finals), downstream, notes. Resumable: run it again after a
    failure and it goes on from the failed stage."""
    from release.commands.release import release_command

    print(release_command(_repo(ctx, repo), train or None, part, to, python or None,
                          platform or None, require_index_check=require_index_check,
                          via_ci=via_ci, dry_run=dry_run))


@task(iterable=["train"],
      help={"train": "only the repository's and this train's checks (repeatable)",
            "ref": "commit or tag to check (default: HEAD; uncommitted edits are not seen)",
            "dry_run": "print the commands and where they would run, run nothing",
            "repo": REPO_HELP})
@user_errors
def gates(ctx: Context, train: list[str] | None = None, ref: str = "HEAD",
          dry_run: bool = False, repo: str | None = None) -> None:
    """Run the release's validation gates (before-build, then checks) on a clean worktree
    of REF, exactly as a release runs them; logs in .release/logs/."""
    from release.commands.gates import run_gates_command

    print(run_gates_command(_repo(ctx, repo), train or None, ref, dry_run))


@task(help={"text": "the checkpoint, exactly as configured in confirm = [...]",
            "train": "only the release of this train",
            "dry_run": "print the release records it would mark, write nothing",
            "repo": REPO_HELP})
@user_errors
def ack(ctx: Context, text: str, train: str | None = None, dry_run: bool = False,
        repo: str | None = None) -> None:
    """Acknowledge a manual checkpoint (confirm = [...]) of the release in progress: records
    who (git user) and when; run the release again to go on."""
    from release.commands.gates import run_ack

    print(run_ack(_repo(ctx, repo), text, train, dry_run))


@task(iterable=["train"],
      help={"force": "replace existing workflow files",
            "install": "the exact release-train CI installs, as a pinned requirement "
                       "(release-train==X.Y.Z, hashes locked into .github/release-train.txt) "
                       "(default: this release-train's version)",
            "dry_run": "print the workflows, write nothing",
            "train": "only this python train's tags (repeatable; default: every python train)",
            "repo": REPO_HELP})
@user_errors
def init_ci(ctx: Context, force: bool = False, install: str | None = None,
            dry_run: bool = False, train: list[str] | None = None,
            repo: str | None = None) -> None:
    """Write GitHub Actions release workflows that run the nox sessions on tag pushes."""
    from release.commands.setup import run_init_ci

    print(run_init_ci(_repo(ctx, repo), force, install, dry_run=dry_run, trains=train or None))


@task(help={"file": "write release.toml instead of [tool.release] in pyproject.toml "
                    "(pyproject.toml or release.toml)",
            "dry_run": "print the configuration, write nothing",
            "force": "replace an existing release configuration",
            "repo": REPO_HELP})
@user_errors
def init(ctx: Context, file: str | None = None, dry_run: bool = False, force: bool = False,
         repo: str | None = None) -> None:
    """Inspect the repository and write a starting release configuration (trains, tag
    format, occurrences), plus tasks.py and noxfile.py when absent."""
    from release.commands.setup import run_init

    print(run_init(_repo(ctx, repo), file, dry_run, force))


namespace = Collection(init, bump, check, status, preflight, tag, push, release, branch_, freeze,
                       cut_beta, final, pin_downstream, notes,
                       github_release, init_ci, gates, ack)


program = ReleaseProgram(namespace=namespace, version=__version__, name="release-train",
                         binary="release-train")


def main() -> None:
    """`release-train`: the program; a closed pipe or Ctrl-C while it parses ends quietly."""
    outcome = attempt(lambda: program.run(sys.argv))
    if isinstance(outcome, Failure):
        sys.exit(outcome.say())
