"""Files once uploaded are the release: `nox -s build` reuses them and never replaces them.

A release record that shows a train's files uploaded (or being uploaded) or verified anywhere
makes those files the release: an index never takes other bytes under the same name, so a
rebuild that differs (setuptools sdists always do: see docs/builds.md) would burn the version.
A build of such a train therefore checks that `<out>/<train>-<version>/` still holds exactly
the recorded files and reuses them. `--rebuild` builds again into a temporary directory and
compares with the recorded sha256: identical files are kept (and restore a damaged dist/);
any difference is refused, naming each file and what differs, with dist/ left untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from release.build.distdiff import explain
from release.build.frontend import build_trains, train_versions_at
from release.build.jobs import Progress
from release.build.manifest import Artifact, Manifest, manifest_dir, mismatch, sha256_of
from release.config import Config, Train
from release.errors import BuildError
from release.lock import config_root, locked
from release.record import Record, all_records

# Steps that send files to an index or install them from one ("testpypi-upload", …).
_PUBLISHING = re.compile(r"(^|[-_.:@])(upload|verify)($|[-_.:@])")


@dataclass(frozen=True)
class PublishedFile:
    package: str
    filename: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Published:
    """A train's files as its release record holds them, and where they went."""

    train: str
    version: str
    commit: str
    where: tuple[str, ...]  # index URLs (an index name where the record has no URL)
    files: tuple[PublishedFile, ...]

    @property
    def label(self) -> str:
        return f"{self.train} {self.version}"

    @property
    def places(self) -> str:
        return " and ".join(self.where)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _destinations(record: Record) -> list[str]:
    """The indexes a record shows files sent to (an upload begun: it may have sent some) or
    verified on, one per stage: the upload URL, else the index URL, else its name."""
    steps: Mapping[str, Any] = record.data.get("steps") or {}
    indexes: Mapping[str, Any] = record.data.get("indexes") or {}
    found: dict[str, str] = {}
    for name, step in steps.items():
        match = _PUBLISHING.search(name)
        if not isinstance(step, dict) or match is None:
            continue
        status = step.get("status", "pending")
        if status == "pending" or (match.group(2) == "verify" and status != "done"):
            continue
        stage = name[:match.start()] or name
        outputs, inputs = step.get("outputs") or {}, step.get("inputs") or {}
        if match.group(2) == "upload" or stage not in found:
            found[stage] = str(outputs.get("index") or indexes.get(stage)
                               or inputs.get("index") or stage)
    return list(dict.fromkeys(found.values()))


def _files(record: Record) -> tuple[PublishedFile, ...]:
    try:
        return tuple(PublishedFile(str(a["package"]), str(a["filename"]), str(a["kind"]),
                                   int(a["size"]), str(a["sha256"]))
                     for a in record.data.get("artifacts") or ())
    except (KeyError, TypeError, ValueError):
        raise BuildError(f"{record.path}: its artifacts list is damaged; it cannot tell which "
                         "files were published") from None


def find(root: Path, train: str, version: str) -> Published | None:
    """The files of TRAIN VERSION that a release record shows uploaded or verified."""
    for record in all_records(root):
        if record.train != train or not _same_version(record.version, version):
            continue
        where, files = _destinations(record), _files(record)
        if where and files:
            return Published(train, record.version, str(record.data.get("commit", "")),
                             tuple(where), files)
    return None


# --- reuse ---------------------------------------------------------------------------------

def _show(path: Path) -> str:
    """PATH relative to the current directory when it is below it."""
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def check_files(published: Published, directory: Path) -> None:
    """Every published file is in DIRECTORY with its recorded sha256, or BuildError naming it."""
    for item in published.files:
        path = directory / item.filename
        if not path.is_file():
            raise BuildError(f"{_show(path)} is missing, yet {published.label} was uploaded to "
                             f"{published.places}: put that very file back (download it from "
                             "the index), or run with --rebuild to build it again and compare")
        digest = sha256_of(path)
        if digest != item.sha256:
            raise BuildError(f"{_show(path)} was changed after it was uploaded to "
                             f"{published.places} ({mismatch('the file', digest, item.sha256)}"
                             "): put the uploaded file back; published "
                             "files never change (release a new version to change them)")


def _manifest_for(published: Published, directory: Path) -> Manifest:
    """The manifest in DIRECTORY if it lists exactly the published files, else one written
    from the record (build times and backends are then unknown)."""
    wanted = {(f.filename, f.sha256) for f in published.files}
    try:
        existing = Manifest.load(directory)
        if {(a.filename, a.sha256) for a in existing.artifacts} == wanted:
            return existing
    except BuildError:
        pass
    manifest = Manifest(published.train, published.version, published.commit,
                        tuple(Artifact(f.package, published.version, f.filename, f.kind, f.size,
                                       f.sha256, 0.0) for f in published.files), directory)
    manifest.write()
    return manifest


def reuse(published: Published, directory: Path) -> Manifest:
    """The published files where they are, checked; BuildError if any is missing or changed."""
    check_files(published, directory)
    return _manifest_for(published, directory)


# --- rebuild and compare -----------------------------------------------------------------

def differences(published: Published, rebuilt: Manifest, kept: Path) -> list[str]:
    """Each rebuilt file that is not byte-identical to the published one, with what differs
    (explained against the copy in KEPT when it is still the published one)."""
    new = {a.filename: a for a in rebuilt.artifacts}
    differ = []
    for item in published.files:
        made = new.pop(item.filename, None)
        if made is None:
            differ.append(f"{item.filename} (the rebuild made no such file)")
            continue
        if made.sha256 == item.sha256:
            continue
        old = kept / item.filename
        if old.is_file() and sha256_of(old) == item.sha256:
            causes = explain(old, rebuilt.directory / item.filename)
            differ.append(f"{item.filename} ({'; '.join(causes)})")
        else:
            differ.append(f"{item.filename} (sha256 {made.sha256[:12]}…, published "
                          f"{item.sha256[:12]}…)")
    differ += [f"{name} (not among the published files)" for name in new]
    return differ


def _install(rebuilt: Manifest, final: Path) -> Manifest:
    """Move a train's rebuilt directory into place (the files equal the published ones)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(rebuilt.directory, final)
    return Manifest.load(final)


# --- the build session --------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What a build did for one train, and the line that tells the user."""

    manifest: Manifest
    line: str


def _built_line(manifest: Manifest) -> str:
    seconds = sum(a.seconds for a in manifest.artifacts)
    checked = ", reproducible" if manifest.reproducible else ""
    return (f"{manifest.train} {manifest.version}: {len(manifest.artifacts)} files from "
            f"{manifest.commit[:12]} ({seconds:.1f} s of backend time{checked}) -> "
            f"{manifest.path}")


@locked(config_root)
def build(config: Config, trains: Sequence[Train], ref: str = "HEAD",
          out_dir: Path | None = None, *, rebuild: bool = False, reproducible: bool = False,
          fresh_envs: bool = False, jobs: int | None = None, cache_dir: Path | None = None,
          progress: Progress | None = None) -> list[Outcome]:
    """`nox -s build`: reuse the published trains' files, build the others (or, with
    `rebuild`, build the published ones too and refuse unless they come out identical)."""
    wanted = [t for t in trains if t.kind == "python"]
    if not wanted:
        return []
    # absolute, not resolved: a symlinked dist/ must be seen (and refused) as one
    out_dir = (out_dir if out_dir is not None else config.root / "dist").absolute()
    commit, versions = train_versions_at(config, wanted, ref)
    found = {t.name: p for t in wanted
             if (p := find(config.root, t.name, versions[t.name])) is not None}
    outcomes: dict[str, Outcome] = {}
    if not rebuild:
        for name, published in found.items():
            directory = manifest_dir(out_dir, name, versions[name])
            outcomes[name] = Outcome(reuse(published, directory), (
                f"{published.label}: reusing the {len(published.files)} files uploaded to "
                f"{published.places} ({_show(directory)}); --rebuild to build again"))
    pending = [t for t in wanted if t.name not in outcomes]
    if pending:
        options: dict[str, Any] = {"reproducible": reproducible, "fresh_envs": fresh_envs,
                                   "jobs": jobs, "cache_dir": cache_dir, "progress": progress}
        if any(t.name in found for t in pending):
            outcomes.update(_rebuild(config, pending, commit, out_dir, found, options))
        else:
            for manifest in build_trains(config, pending, commit, out_dir, **options):
                outcomes[manifest.train] = Outcome(manifest, _built_line(manifest))
    return [outcomes[t.name] for t in wanted]


def _rebuild(config: Config, trains: Sequence[Train], commit: str, out_dir: Path,
             found: Mapping[str, Published], options: Mapping[str, Any]) -> dict[str, Outcome]:
    """Build into a temporary directory; published trains must come out byte-identical.
    Nothing in out_dir changes unless every published train did."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".rebuild-", dir=out_dir) as tmp:
        built = build_trains(config, trains, commit, Path(tmp), logs=out_dir / "logs",
                             **options)
        refused = []
        for manifest in built:
            published = found.get(manifest.train)
            final = manifest_dir(out_dir, manifest.train, manifest.version)
            if published is not None:
                differ = differences(published, manifest, final)
                if differ:
                    refused.append(f"{published.label} would differ from the files uploaded "
                                   f"to {published.places}: " + "; ".join(differ))
        if refused:
            raise BuildError(f"--rebuild refused, {_show(out_dir)} is unchanged: "
                             + " | ".join(refused) + "; published files never change "
                             "(release a new version to change them)")
        outcomes = {}
        for manifest in built:
            final = manifest_dir(out_dir, manifest.train, manifest.version)
            installed = _install(manifest, final)
            published = found.get(manifest.train)
            line = (f"{published.label}: rebuilt, byte-identical to the "
                    f"{len(published.files)} files uploaded to {published.places} "
                    f"({_show(final)})" if published is not None else _built_line(installed))
            outcomes[manifest.train] = Outcome(installed, line)
    return outcomes
