"""The files a release record holds, and their agreement with the build's manifest.

A record takes a build's files (name, size, sha256) once, and they bind for good as soon as
the build finished or any upload began: from then on the record, the manifest and the files
on disk must agree, and a difference is refused with one line naming the first file that
differs. Files of a build killed half-way, never sent anywhere, bind nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from release.build.manifest import Manifest, mismatch
from release.errors import ReleaseError
from release.record import Record


def artifacts_of(manifest: Manifest) -> list[dict[str, Any]]:
    """The manifest's files, as a record holds them."""
    return [{"package": a.package, "version": a.version, "filename": a.filename,
             "kind": a.kind, "size": a.size, "sha256": a.sha256} for a in manifest.artifacts]


def binding(record: Record) -> bool:
    """Whether the record's files are the release's for good: a build that finished, or any
    upload begun (a file may be on an index). Files of a build killed half-way, never sent
    anywhere, bind nothing: a rerun builds again and the record takes the new files."""
    steps = record.data.get("steps", {})
    return record.done("build") or bool(record.data.get("verifications")) or any(
        name.endswith("-upload") and step.get("status") != "pending"
        for name, step in steps.items())


def _first_difference(previous: list[dict[str, Any]], now: list[dict[str, Any]]) -> str:
    theirs = {str(a.get("filename")): a for a in previous}
    for artifact in now:
        kept = theirs.get(artifact["filename"])
        if kept is None:
            return f"{artifact['filename']} is not in the record"
        if kept.get("sha256") != artifact["sha256"]:
            return f"{artifact['filename']}: " + mismatch(
                "the record", str(kept.get("sha256")), artifact["sha256"])
        if kept != artifact:
            return f"{artifact['filename']}: the record holds other details ({kept})"
    return "the record holds other files"


def require_agreement(record: Record, manifest: Manifest) -> None:
    """The record's files are the manifest's (name, size, sha256), or one line naming the
    first that differs."""
    previous = record.data.get("artifacts")
    if not previous:
        return
    if not isinstance(previous, list) or not all(isinstance(a, dict) for a in previous):
        raise ReleaseError(f"{record.path}: damaged release record (artifacts); nothing was "
                           "done: restore it")
    now = artifacts_of(manifest)
    if previous == now:
        return
    raise ReleaseError(f"{record.path} and {manifest.path} disagree: "
                       f"{_first_difference(previous, now)}; the record, the "
                       "manifest and the files must agree (none is edited after the build): "
                       "restore the one that was changed; published or verified files are "
                       "never swapped: release a new version to change them")


def record_artifacts(record: Record, manifest: Manifest,
                     say: Callable[[str], None] | None = None) -> None:
    """The record takes a manifest's files once they bind (see `binding`); other files for
    the same release are refused."""
    previous = record.data.get("artifacts")
    if previous and binding(record):
        require_agreement(record, manifest)
        return
    if previous and previous != artifacts_of(manifest) and say is not None:
        say(f"{manifest.train} {manifest.version}: the files of an earlier build were never "
            "uploaded: the record takes the new build's")
    record.set("artifacts", artifacts_of(manifest))
    record.set("commit", record.data.get("commit") or manifest.commit)
