"""Point downstream artifacts (an add-on image, a compose file) at a published release.

Only a release whose record shows PyPI verification passed may be pinned: the add-on must never
name a version users cannot install. Moving the pins changes the add-on, so its own version
is bumped in the same all-or-nothing change (and commit, when asked).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from packaging.version import Version

from . import git
from .bump import Plan, apply_plan, describe, plan_change
from .config import Config, Train, load
from .edits import FileEdit, apply, line_changes
from .errors import ReleaseError
from .locations import Spot, rewrite, scan
from .record import all_records
from .record import load as load_record
from .versions import parse


def verified_on_pypi(root: Path, train: str) -> list[str]:
    """Versions of `train` whose records show a passing PyPI verification, newest first."""
    versions = [r.version for r in all_records(root) if r.train == train
                and r.data.get("verifications", {}).get("pypi", {}).get("ok") is True]
    return sorted(versions, key=Version, reverse=True)


def _pin_edits(config: Config, train: Train, targets: dict[str, str]) -> tuple[list[FileEdit],
                                                                              list[Spot]]:
    found = scan(config, [train])
    by_file: dict[Path, list[Spot]] = defaultdict(list)
    moved = []
    for spot in found.spots:
        if spot.kind == "pin" and spot.train in targets and spot.written != targets[spot.train]:
            by_file[spot.path].append(spot)
            moved.append(spot)
    edits = []
    for path, spots in by_file.items():
        text = found.texts[path]
        new_text = text
        for pinned in {s.train for s in spots}:
            group = [s for s in spots if s.train == pinned]
            new_text = rewrite(new_text, group, parse(group[0].written), parse(targets[pinned]))
        edits.append(FileEdit(path, text, new_text))
    return edits, moved


def targets_of(config: Config, train: Train, to: str | None) -> dict[str, str]:
    """The verified release each pinned train moves to (--to, or the newest verified)."""
    targets: dict[str, str] = {}
    for pinned in sorted({p.train for p in train.pins}):
        verified = verified_on_pypi(config.root, pinned)
        wanted = to or (verified[0] if verified else None)
        if wanted is None or wanted not in verified:
            what = f"{pinned} {wanted}" if wanted else f"any {pinned} release"
            raise ReleaseError(f"{what} has not passed PyPI verification (no release record "
                               "shows it): publish and verify it first (nox -s pypi), then pin")
        targets[pinned] = wanted
    return targets


def pin_commit_message(plan: Plan, targets: dict[str, str]) -> str:
    return (f"chore(release): {plan.train.name} {plan.new} (pins "
            + ", ".join(f"{k} {v}" for k, v in targets.items()) + ")")


def describe_pins(config: Config, train_name: str, *, to: str | None = None,
                  part: str = "patch", commit: bool = False) -> str:
    """What pin_downstream would do (dry run): the pins and lines that move, the train's own
    bump, the commit."""
    train = config.train(train_name)
    if not train.pins:
        raise ReleaseError(f"train {train.name} pins no other train (no pins = [...] in config)")
    targets = targets_of(config, train, to)
    edits, moved = _pin_edits(config, train, targets)
    if not moved:
        return f"{train.name} already pins " + ", ".join(f"{k} {v}" for k, v in targets.items())
    lines = [f"would move {s.where}: {s.train} {s.written} -> {targets[s.train]}" for s in moved]
    for change in (c for e in edits for c in line_changes(e)):
        lines += [f"  {change.path}:{change.line}", f"    - {change.old.strip()}",
                  f"    + {change.new.strip()}"]
    plan = plan_change(config, train, part=part)
    lines.append("and bump " + describe(plan, dry_run=True))
    if commit:
        lines.append(f"would commit: {pin_commit_message(plan, targets)}")
    return "\n".join(lines)


def pin_downstream(config: Config, train_name: str, *, to: str | None = None,
                   part: str = "patch", commit: bool = False, journal: bool = False) -> str:
    """Move the train's downstream pins to verified releases, then bump the train itself;
    with `journal`, the pinned releases' records note their downstream stage done."""
    train = config.train(train_name)
    if not train.pins:
        raise ReleaseError(f"train {train.name} pins no other train (no pins = [...] in config)")
    targets = targets_of(config, train, to)
    edits, moved = _pin_edits(config, train, targets)
    if not moved:
        return f"{train.name} already pins " + ", ".join(f"{k} {v}" for k, v in targets.items())
    lines = [f"{s.where}: {s.train} {s.written} -> {targets[s.train]}" for s in moved]
    bumped: list[str] = []

    def then_bump() -> None:
        fresh = load(config.root)
        plan = plan_change(fresh, fresh.train(train.name), part=part)
        paths = [e.path for e in edits] + plan.paths
        message = pin_commit_message(plan, targets)

        def do_commit() -> None:
            bumped.append(git.commit_paths(config.root, paths, message))

        apply_plan(fresh, plan, then=do_commit if commit else None)
        lines.extend(f"{c.path}:{c.line}: {c.new.strip()}" for c in plan.changes)
        lines.append(f"{train.name} {plan.old} -> {plan.new}")

    apply(config.root, edits, after=then_bump)
    if bumped:
        lines.append(f"committed {git.short(bumped[0])}")
    if journal:
        _journal(config.root, targets, train.name, lines)
    return "\n".join(lines)


def _journal(root: Path, targets: dict[str, str], artifact: str, lines: list[str]) -> None:
    """The pinned releases' records note their downstream stage done (status moves on)."""
    for pinned, version in targets.items():
        record = load_record(root, pinned, version)
        if record.path.exists() and not record.done("downstream"):
            with record.running("downstream", {}) as out:
                out[artifact] = lines

