"""`invoke status` and `invoke check`: what the repository says about its trains."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from packaging.version import Version

from .check import problems, train_version
from .config import Config, load
from .errors import ReleaseError
from .locations import scan
from .record import Record


def render_status(root: Path) -> str:
    """Trains, their versions and tags, and every place each version lives."""
    config = load(root)
    found = scan(config)
    lines = []
    for train in config.trains.values():
        version = train_version(found, train)
        lines.append(f"{train.name} ({train.kind}) {version}  tag {train.tag(version.text)}")
        per_file: dict[str, list[str]] = defaultdict(list)
        for spot in found.for_train(train.name, ("version",)):
            per_file[str(spot.path)].append(f"{spot.line}")
        for pkg in train.packages:
            lines.append(f"  package {pkg.name}  ({pkg.path})")
        for path, numbers in per_file.items():
            lines.append(f"    {path}:{','.join(numbers)}")
        pins = [s for s in found.spots if s.kind == "pin" and s.path in
                {p.path for p in train.pins}]
        for spot in pins:
            lines.append(f"  pins {spot.train}=={spot.written} at {spot.where}")
    lines += _releases(config.root)
    return "\n".join(lines)


def has_downstream(config: Config, train: str) -> bool:
    """Does an artifact train pin this train (so its release has a downstream stage)?"""
    return any(t.kind == "artifact" and train in {p.train for p in t.pins}
               for t in config.trains.values())


def not_needed(config: Config, record: Record) -> set[str]:
    """Steps a release has no use for: production for a pre-release, the downstream stage
    for a train nothing pins."""
    skip = set()
    if Version(record.version).is_prerelease:
        skip |= {"pypi-upload", "pypi-verify", "downstream"}
    if not has_downstream(config, record.train):
        skip.add("downstream")
    return skip


def next_step(config: Config, record: Record) -> str | None:
    return record.next_step(not_needed(config, record))


def _releases(root: Path) -> list[str]:
    """Release records: finished ones briefly, ones in progress with what comes next."""
    from .record import all_records

    config = load(root)
    records = all_records(config.root)
    if not records:
        return []
    lines = ["releases (.release/):"]
    for record in records:
        steps = record.data.get("steps", {})
        failed = [n for n, s in steps.items() if s.get("status") == "failed"]
        upcoming = next_step(config, record)
        if upcoming is None:
            state = "complete"
        elif failed:
            state = f"failed at {failed[0]}: {steps[failed[0]].get('error', '')}; rerun to resume"
        else:
            state = f"in progress, next: {upcoming}"
        published = [i for i, r in record.data.get("verifications", {}).items() if r.get("ok")]
        where = f" (verified on {', '.join(published)})" if published else ""
        lines.append(f"  {record.train} {record.version}: {state}{where}")
    return lines


def run_check(root: Path) -> str:
    """All agree: a one-line summary. Otherwise ReleaseError listing each file:line."""
    config = load(root)
    found = scan(config)
    listed = problems(config, found)
    if listed:
        raise ReleaseError(f"{len(listed)} disagreement(s):\n" + "\n".join(map(str, listed)))
    versions = ", ".join(f"{t.name} {train_version(found, t)}" for t in config.trains.values())
    return f"ok: {len(found.spots)} version spots agree ({versions})"
