"""`invoke status` and `invoke check`: what the repository says about its trains."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from release import repo as git
from release.config import Config, Train, load
from release.errors import ReleaseError, UnmanagedLines
from release.git.preflight import check_tag, train_of_tag
from release.pipeline.steps import next_step
from release.versions.agreement import pending_version, problems, tag_version, train_version
from release.versions.audit import audit as audit_texts
from release.versions.audit import render_findings, run_audit, tracked_texts
from release.versions.scan import Scan, scan
from release.versions.suggest import render_suggestions
from release.versions.suggest import suggest as suggest_entries


def selected(config: Config, names: Sequence[str] | None) -> list[Train]:
    """The trains --train names (repeatable), else every train."""
    return [config.train(n) for n in names] if names else list(config.trains.values())


def own_spots(found: Scan, trains: Sequence[Train]) -> set[str]:
    """Where the trains' versions are written, and where they pin other trains or are pinned:
    the spots `check --train` looks at."""
    names = {t.name for t in trains}
    pinned_in = {p.path for t in trains for p in t.pins}
    return {s.where for s in found.spots if s.train in names
            or (s.kind == "pin" and s.path in pinned_in)}


def render_status(root: Path, trains: Sequence[str] | None = None) -> str:
    """Trains, their versions and tags, and every place each version lives (`trains`: only
    those, their audit findings and their release records)."""
    from release.versions.changes import changes

    config = load(root)
    chosen = selected(config, trains)
    names = {t.name for t in chosen}
    found = scan(config)
    lines = []
    changed = {c.train: c for c in changes(config) if c.train in names}
    for train in chosen:
        version = train_version(found, train)
        lines.append(f"{train.name} ({train.kind}) {version}  tag {train.tag(version.text)}")
        if train.name in changed:
            lines += changed[train.name].lines()
        per_file: dict[str, list[str]] = defaultdict(list)
        for spot in found.for_train(train.name, ("version", "lock")):
            per_file[str(spot.path)].append(f"{spot.line}")
        if train.name in found.tag_driven:
            tagged, prepared = tag_version(config, train), pending_version(config, train)
            lines.append(f"  version from git tags: last tag "
                         f"{train.tag(tagged.text) if tagged else '(none yet)'}"
                         + (f"; next {prepared} (prepared by bump: invoke tag makes "
                            f"{train.tag(prepared.text)})" if prepared else ""))
        for pkg in train.packages:
            source = found.sources.get(pkg.name, "")
            lines.append(f"  package {pkg.name}  ({pkg.path}; version: {source})")
        for path, numbers in per_file.items():
            lines.append(f"    {path}:{','.join(numbers)}")
        pins = [s for s in found.spots if s.kind == "pin" and s.path in
                {p.path for p in train.pins}]
        for spot in pins:
            lines.append(f"  pins {spot.train}=={spot.written} at {spot.where}")
    if git.toplevel(config.root) is not None:
        unmanaged = len([f for f in run_audit(config, found)
                         if names & {f.train, *f.also}])
        if unmanaged:
            lines.append(f"audit: {unmanaged} unmanaged line(s) carry a train's version; "
                         "see invoke check --audit")
    lines += _releases(config.root, names)
    return "\n".join(lines)


def _releases(root: Path, names: set[str] | None = None) -> list[str]:
    """Release records: finished ones briefly, ones in progress with what comes next."""
    from release.record import all_records

    config = load(root)
    records = [r for r in all_records(config.root) if names is None or r.train in names]
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


def run_check(root: Path, tag: str | None = None, *, audit: bool = False,
              suggest: bool = False, trains: Sequence[str] | None = None) -> str:
    """All agree: a one-line summary. Otherwise ReleaseError listing each file:line.

    With `tag`, the tag must also name the version the files carry. With `audit` (or
    `suggest`), tracked lines that carry a train's version but that no bump moves fail the
    check too (UnmanagedLines: the list on stdout, exit 1), so it can gate CI. With `trains`,
    only those trains' files, pins and findings count (a tag must be one of theirs)."""
    config = load(root)
    chosen = selected(config, trains)
    names = {t.name for t in chosen}
    if tag and trains:
        owner, _ = train_of_tag(config, tag)
        if owner.name not in names:
            raise ReleaseError(f"tag {tag} belongs to train {owner.name}, not to "
                               f"{', '.join(sorted(names))}: "
                               "check it with --train " + owner.name)
    summary = check_tag(root, tag) if tag else ""
    if tag and not (audit or suggest):
        return summary
    found = scan(config)
    mine = own_spots(found, chosen)
    if not tag:
        listed = [p for p in problems(config, found) if not trains or p.where in mine]
        if listed:
            raise ReleaseError(f"{len(listed)} disagreement(s):\n"
                               + "\n".join(map(str, listed)))
        versions = ", ".join(f"{t.name} {train_version(found, t)}" for t in chosen)
        spots = len(mine) if trains else len(found.spots)
        summary = f"ok: {spots} version spots agree ({versions})"
    if not (audit or suggest):
        return summary
    texts = tracked_texts(config)
    findings = [f for f in audit_texts(config, found, texts) if names & {f.train, *f.also}]
    report = [summary, render_findings(findings)]
    if not findings:
        return "\n".join(report)
    if suggest:
        report += ["", render_suggestions(config, suggest_entries(findings, texts))]
    hint = "" if suggest else "; --suggest prints occurrence entries for them"
    raise UnmanagedLines(f"{len(findings)} line(s) carry a train's version but no bump would "
                         f"move them: add them as occurrences{hint}", "\n".join(report))
