"""`invoke bump`: one train's plan, or the trains that changed since their last release, each
applied on the files the previous one left (all of them or none), then committed if asked."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from release import repo as git
from release.config import Config, load
from release.errors import ReleaseError
from release.git.preflight import preflight
from release.lock import held
from release.versions.changes import changes
from release.versions.plan import (
    Plan,
    apply_and_commit,
    apply_plan,
    applying,
    commit_message,
    dependency_order,
    describe,
    plan_change,
)


def run_bump(root: Path, train: str | None, part: str | None, to: str | None,
             dry_run: bool, commit: bool = False, every: bool = False) -> str:
    """`invoke bump`: plan, print, and unless dry-run apply (and with `commit`, preflight
    for the new version, then commit exactly the planned files)."""
    config = load(root)
    if train is None:
        if len(config.trains) != 1:  # several: the ones that changed (or --all)
            return bump_trains(config, part, to, dry_run, commit, every)
        train = next(iter(config.trains))
    if dry_run:
        return describe(plan_change(config, config.train(train), to, part=part), dry_run)
    with held(config.root):  # planned and applied under the lock: bumps run one at a time
        config = load(root)
        plan = plan_change(config, config.train(train), to, part=part)
        return _apply(config, plan, dry_run, commit)


def _apply(config: Config, plan: Plan, dry_run: bool, commit: bool) -> str:
    """Apply (and commit) a plan, under the repository's lock: the files must still be what
    the plan was made from (edits.apply checks), so of two bumps one fails in one line."""
    if commit:
        preflight(config, plan.train, plan.new.text, only=plan.paths)
        sha = apply_and_commit(config, plan)
        return describe(plan, dry_run) + f"\ncommitted {git.short(sha)}: " \
            f"{commit_message(config, plan)}"
    apply_plan(config, plan)
    return describe(plan, dry_run)


def _order(config: Config, names: Sequence[str]) -> list[str]:
    """Python trains in dependency order (required ones first), then artifact trains."""
    python = dependency_order(config, [config.train(n) for n in names
                                       if config.train(n).kind == "python"])
    return [t.name for t in python] + [n for n in names if config.train(n).kind != "python"]


def _apply_chain(root: Path, names: Sequence[str], part: str | None) -> list[str]:
    """Bump each train on the files as the previous bumps left them, all of them or none
    (each plan's transaction holds the next ones); what each bump did."""
    said: list[str] = []
    with ExitStack() as every:
        for name in names:
            config = load(root)
            plan = plan_change(config, config.train(name), part=part)
            every.enter_context(applying(config, plan))
            said.append(describe(plan, False))
    return said


def bump_trains(config: Config, part: str | None, to: str | None, dry_run: bool,
                commit: bool, every: bool) -> str:
    """Bump the trains that changed since their last release (every train with `every`),
    saying which and leaving the others alone."""
    if to is not None:
        raise ReleaseError("--to names one version: choose its train with --train "
                           f"({', '.join(config.trains)})")
    if every:
        chosen, header = list(config.trains), ["bumping every train (--all)"]
    else:
        found = changes(config)
        if not found:
            raise ReleaseError(f"choose a train with --train ({', '.join(config.trains)}) or "
                               "--all: without git history no change can be found")
        chosen = [c.train for c in found if c.changed]
        header = [f"{c.train}: {c.summary}" for c in found]
        if not chosen:
            raise ReleaseError("no train changed since its last release tag: nothing to bump "
                               "(--train T or --all to bump anyway)")
        left = [c.train for c in found if not c.changed]
        header.append(f"bumping {', '.join(chosen)}"
                      + (f"; leaving {', '.join(left)} as they are" if left else ""))
    names = _order(config, chosen)
    if dry_run:
        return "\n".join(header + [describe(plan_change(config, config.train(n), part=part),
                                            True) for n in names])
    if not commit:
        return "\n".join(header + _apply_chain(config.root, names, part))
    said: list[str] = []
    for name in names:
        fresh = load(config.root)
        plan = plan_change(fresh, fresh.train(name), part=part)
        preflight(fresh, plan.train, plan.new.text, only=plan.paths)
        sha = apply_and_commit(fresh, plan)
        said.append(describe(plan, False) + f"\ncommitted {git.short(sha)}")
    return "\n".join(header + said)
