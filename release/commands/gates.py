"""Gate commands: `invoke gates` (the release's checks on a clean worktree of a commit, as a
release runs them, nothing journaled) and `release-train ack` (acknowledge a manual
checkpoint in every release in progress that waits for it)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from release import repo as git
from release.config import load
from release.pipeline.gates import (
    GateError,
    identity,
    inside,
    log_dir,
    require,
    required,
    run_gates,
)
from release.pipeline.steps import next_step
from release.record import Record, all_records, now


def run_ack(root: Path, text: str, train: str | None = None, dry_run: bool = False) -> str:
    """`release-train ack TEXT`: record who confirmed a manual checkpoint, and when, in every
    release in progress that waits for it (with `dry_run`: which records it would mark)."""
    config = load(root)
    chosen = [config.train(train)] if train else list(config.trains.values())
    known = {t.name: required(config, [t]).confirm for t in chosen}
    everything = sorted({c for texts in known.values() for c in texts})
    if text not in everything:
        listed = "; ".join(f'"{c}"' for c in everything) or "none are configured (confirm = [...])"
        raise GateError(f'"{text}" is not a checkpoint of this release: {listed}')
    waiting: list[Record] = [r for r in all_records(config.root)
                             if text in known.get(r.train, ())
                             and next_step(config, r) is not None]
    if not waiting:
        raise GateError(f'no release in progress waits for "{text}": start it (release-train '
                        "release ...); it stops at the checkpoint, then acknowledge it")
    who = identity(config.root)
    if dry_run:
        return "\n".join([*(f'would acknowledge "{text}" for {r.train} {r.version} as {who} '
                            f"in {r.path.relative_to(config.root)}" for r in waiting),
                          "dry run: nothing written"])
    for record in waiting:
        acks = dict(record.data.get("acks", {}))
        acks.setdefault(text, {"by": who, "at": now()})
        record.set("acks", acks)
    return "\n".join(f'acknowledged "{text}" for {r.train} {r.version} '
                     f"({r.data['acks'][text]['by']}, {r.data['acks'][text]['at']})"
                     for r in waiting)


def run_gates_command(root: Path, trains: Sequence[str] | None, ref: str = "HEAD",
                      dry_run: bool = False) -> str:
    """`invoke gates`: the release's checks on a clean worktree of REF (committed state only),
    as the release runs them; nothing journaled, logs in .release/logs/. With `dry_run`, the
    commands it would run, and where."""
    config = load(root)
    chosen = [config.train(n) for n in trains] if trains else list(config.trains.values())
    gates = required(config, chosen)
    commit = git.rev(config.root, ref)
    if commit is None:
        raise GateError(f"{ref!r} is not a commit here")
    if not gates.checks:
        return "no checks configured (checks = [[...]] in the release config)"
    if dry_run:
        under = inside(config).as_posix()
        where = f"a clean worktree of {git.short(commit)}" + (f", in {under}/"
                                                              if under != "." else "")
        return "\n".join([f"would run, in {where} (logs in {log_dir(config.root, commit)}):",
                          *(f"  before-build: {shlex.join(a)}" for a in gates.before_build),
                          *(f"  check: {shlex.join(a)}" for a in gates.checks),
                          "dry run: nothing run, nothing written"])
    lines: list[str] = []
    results = run_gates(config, gates, commit, say=lines.append)
    print("\n".join(lines))
    for result in results:
        require(result)
    said = f"ok: {len(gates.checks)} check(s) passed on {git.short(commit)}"
    if gates.confirm:
        said += "\nat release, to acknowledge: " + "; ".join(f'"{c}"' for c in gates.confirm)
    return said
