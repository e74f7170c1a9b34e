"""Validation gates: commands a release must pass before anything is uploaded, and manual
checkpoints a person acknowledges.

`checks` run in a clean worktree of the release commit (never in the work tree: what is
validated is exactly what gets tagged and built), after `before-build` commands prepared it;
`before-build` also prepares the build's own worktree. Each command's exit code, duration and
log file (`.release/logs/`, redacted) are journaled; a check that passed on a commit is not run
again on that commit. `confirm` texts stop the release until `release-train ack TEXT` records
who acknowledged them, and when.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from release import repo as git
from release.config import Argv, Config, Gates, Train
from release.confine import write_atomic
from release.errors import ReleaseError
from release.proc import run, scrubbed_env
from release.record import Record, now, private_dir
from release.redaction import redact
from release.worktrees import clean_worktree

LOGS = "logs"  # under .release/
Say = Callable[[str], None]
Result = dict[str, Any]


class GateError(ReleaseError):
    """A validation gate failed, or a manual checkpoint is not acknowledged yet."""


def required(config: Config, trains: Iterable[Train]) -> Gates:
    """The repository's gates, then each train's own (each command once)."""
    total = config.gates
    for train in trains:
        total = total + train.gates
    return total


def gate_env(config: Config) -> dict[str, str]:
    """The environment of a gate: ours without index and GitHub credentials (a test suite
    has no business with upload tokens, and its log must never show one)."""
    tokens = {ix.token_env for ix in config.indexes.values()} | {"GITHUB_TOKEN", "GH_TOKEN"}
    tokens |= {f"{n.upper().replace('-', '_')}_TOKEN" for n in config.indexes}
    return scrubbed_env(names=tokens)


def _slug(argv: Argv) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", " ".join(argv[:3])).strip("-")[:40] or "command"


def run_command(argv: Argv, cwd: Path, log: Path, env: Mapping[str, str], root: Path,
                kind: str, commit: str) -> Result:
    """Run one command, write its (redacted) output to `log`; its journal entry."""
    command = shlex.join(argv)
    started = time.monotonic()
    try:
        proc = run(list(argv), cwd=cwd, env=env, check=False)
        code, output = proc.returncode, (proc.stdout or "") + (proc.stderr or "")
    except ReleaseError as exc:  # program not found, timed out
        code, output = 127, str(exc)
    seconds = round(time.monotonic() - started, 3)
    log.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(log, redact(f"$ {command}\n# {kind} in a clean worktree of {commit}\n"
                             f"{output}\n# exit {code} after {seconds:.1f} s\n"))
    return {"kind": kind, "command": command, "exit": code, "ok": code == 0,
            "seconds": seconds, "log": log.relative_to(root).as_posix(), "commit": commit,
            "finished": now()}


def log_dir(root: Path, commit: str) -> Path:
    return private_dir(root) / LOGS / f"gates-{git.short(commit)}"


def inside(config: Config) -> Path:
    """Where the configuration sits below the git top level (a worktree has the same)."""
    return config.root.resolve().relative_to(git.require_repo(config.root).resolve())


def prepare(config: Config, gates: Gates, tree: Path, commit: str, say: Say,
            label: str = "before-build") -> list[Result]:
    """Run the before-build commands in a worktree of `commit` (tree = its config root),
    stopping at the first that fails (the caller `require`s each result)."""
    results = []
    logs = log_dir(config.root, commit)
    for n, argv in enumerate(gates.before_build, 1):
        log = logs / f"{label}-{n:02d}-{_slug(argv)}.log"
        result = run_command(argv, tree, log, gate_env(config), config.root, "before-build",
                             commit)
        results.append(result)
        say(line(result))
        if not result["ok"]:
            break
    return results


def line(result: Mapping[str, Any]) -> str:
    verdict = "ok" if result.get("ok") else f"FAILED (exit {result.get('exit')})"
    return (f"  {result.get('kind')}: {result.get('command')}: {verdict} in "
            f"{float(result.get('seconds', 0)):.1f} s (log {result.get('log')})")


def require(result: Mapping[str, Any]) -> None:
    if not result.get("ok"):
        raise GateError(f"gate failed: `{result['command']}` exited {result['exit']} after "
                        f"{float(result['seconds']):.1f} s; its output is in {result['log']}: "
                        "fix the cause, then run the same command again")


def passed_before(results: Iterable[Mapping[str, Any]], commit: str) -> set[str]:
    """Checks that already passed on this commit: not run again."""
    return {str(r["command"]) for r in results
            if r.get("kind") == "check" and r.get("ok") and r.get("commit") == commit}


def pending(gates: Gates, done: set[str]) -> list[Argv]:
    return [argv for argv in gates.checks if shlex.join(argv) not in done]


def run_gates(config: Config, gates: Gates, commit: str, done: Iterable[str] = (),
              say: Say = print) -> list[Result]:
    """Prepare a clean worktree of `commit` (before-build) and run every check not passed on
    that commit before; GateError names the first failing command and its log."""
    todo = pending(gates, set(done))
    results: list[Result] = []
    if not todo:
        return results
    with clean_worktree(config.root, commit) as worktree:
        tree = worktree / inside(config)
        results += prepare(config, gates, tree, commit, say, label="gates-before-build")
        if not all(r["ok"] for r in results):
            return results
        logs = log_dir(config.root, commit)
        for argv in todo:
            n = gates.checks.index(argv) + 1
            result = run_command(argv, tree, logs / f"check-{n:02d}-{_slug(argv)}.log",
                                 gate_env(config), config.root, "check", commit)
            results.append(result)
            say(line(result))
            if not result["ok"]:
                break
    return results


# --- manual checkpoints -----------------------------------------------------------------------

def missing_acks(gates: Gates, acks: Mapping[str, Any]) -> list[str]:
    return [text for text in gates.confirm if text not in acks]


def identity(repo: Path) -> str:
    """Who acknowledges: git's committer identity (user.name <user.email>), no timestamp."""
    ident = git.git(repo, "var", "GIT_COMMITTER_IDENT", what="git var GIT_COMMITTER_IDENT")
    return re.sub(r"\s+\d+\s+[+-]\d{4}$", "", ident)


def check_acks(records: Sequence[Record], gates_of: Mapping[str, Gates]) -> dict[str, Any]:
    """Every checkpoint acknowledged in each record; GateError naming the first missing."""
    for record in records:
        missing = missing_acks(gates_of[record.train], record.data.get("acks", {}))
        if missing:
            raise GateError(f'waiting for a manual checkpoint of {record.train} '
                            f'{record.version}: "{missing[0]}"; once done, run: release-train '
                            f'ack "{missing[0]}", then the same release command again')
    return {r.train: {t: r.data.get("acks", {}).get(t) for t in gates_of[r.train].confirm}
            for r in records}
