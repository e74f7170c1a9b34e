"""The stages after publication: artifact trains that pin a released train move to it (after
PyPI verification; in their own repository for those that have one), the release notes are
written, and the run ends with its summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from release.config import load
from release.git.tagging import push_release, tag_release
from release.pipeline.downstream import pin_downstream
from release.pipeline.release import Release, kill_point
from release.record import load as load_record
from release.verify.report import Report


def stage_downstream(release: Release) -> list[str]:
    """Artifact trains that pin a released train move to it, after PyPI verification (in
    their own repository for those that have one: branch, commit, tag, push there)."""
    lines: list[str] = []
    released = {t.name for t in release.trains}
    config = load(release.root)
    pinning = [t for t in config.artifacts() if {p.train for p in t.pins} & released]
    for record in release.records.values():
        if record.done("downstream"):
            continue
        with record.running("downstream", {}) as out:
            if not release.final:
                out["skipped"] = "pre-releases are not pinned downstream"
                continue
            for artifact in pinning:
                if record.train in {p.train for p in artifact.pins}:
                    text = pin_downstream(load(release.root), artifact.name, commit=True)
                    fresh = load(release.root)
                    if artifact.repository is None and \
                            not text.startswith(f"{artifact.name} already pins"):
                        text += "\n" + tag_release(fresh, fresh.train(artifact.name))
                        text += "\n" + push_release(fresh)
                    out[artifact.name] = text.splitlines()
                    lines.append(text)
            # a downstream in its own repository journaled its steps into the file
            linked = load_record(release.root, record.train, record.version).data.get(
                "downstreams")
            if linked:
                record.data["downstreams"] = linked
    kill_point("downstream")
    return lines


def stage_notes(release: Release) -> list[str]:
    from release.announce.notes import write_notes

    written = []
    for train in release.trains:
        record = release.records[train.name]
        if record.done("notes"):
            written.append(str(record.outputs("notes").get("path", "")))
            continue
        with record.running("notes", {}) as out:
            path = write_notes(release.root, train.name, release.versions[train.name])
            out["path"] = str(path)
            written.append(str(path))
    return written


def summarize(release: Release, reports: Sequence[Report | None], downstream: list[str],
              notes: list[str]) -> str:
    lines = ["", "release summary"]
    for train in release.trains:
        record = release.records[train.name]
        steps = record.data.get("steps", {})
        timed = ", ".join(f"{name} {step.get('seconds', 0):.1f}s" for name, step in steps.items()
                          if step.get("status") == "done")
        lines.append(f"  {train.name} {release.versions[train.name]}: {timed}")
    for report in reports:
        if report is not None:
            lines.append(report.table())
    lines += [f"  downstream: {line}" for text in downstream for line in text.splitlines()[-2:]]
    lines += [f"  notes: {path}" for path in notes]
    return "\n".join(lines)
