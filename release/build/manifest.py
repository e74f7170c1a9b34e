"""What a build made: the manifest of one train's files, and the files' own metadata.

`<out>/<train>-<version>/manifest.json` lists every file built from one commit (name, version,
file, size, sha256, build time, the backend and what its environment held). Upload and
install-back trust only what it lists, and only while each file still has the recorded size
and sha256 (`Manifest.verify`); `mismatch` is the one way a wrong file is reported.
`read_metadata` reads the name and version a built sdist or wheel carries in its own metadata.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.confine import write_atomic
from release.errors import BuildError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Artifact:
    """One built file, as recorded in the manifest."""

    package: str  # distribution name as configured
    version: str  # the version the file's own metadata carries
    filename: str
    kind: str  # "sdist" or "wheel"
    size: int
    sha256: str
    seconds: float  # time the backend took to build this file
    backend: str = ""
    build_requires: tuple[str, ...] = ()  # what the build environment held (name==version)

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "filename": self.filename,
                "kind": self.kind, "size": self.size, "sha256": self.sha256,
                "seconds": round(self.seconds, 3), "backend": self.backend,
                "build_requires": list(self.build_requires)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        return cls(str(data["package"]), str(data["version"]), str(data["filename"]),
                   str(data["kind"]), int(data["size"]), str(data["sha256"]),
                   float(data["seconds"]), str(data.get("backend", "")),
                   tuple(str(r) for r in data.get("build_requires", ())))


@dataclass(frozen=True)
class Manifest:
    """The files of one train built from one commit: what upload and install-back trust."""

    train: str
    version: str
    commit: str
    artifacts: tuple[Artifact, ...]
    directory: Path  # where the files and manifest.json live (not stored in the file)
    source_date_epoch: int | None = None
    reproducible: bool = False  # True when a second build produced the same bytes
    python: str = ""  # the interpreter the build environments were made from

    @property
    def path(self) -> Path:
        return self.directory / MANIFEST

    def files(self) -> list[Path]:
        return [self.directory / a.filename for a in self.artifacts]

    def to_json(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, "train": self.train, "version": self.version,
                "commit": self.commit, "source_date_epoch": self.source_date_epoch,
                "reproducible": self.reproducible, "python": self.python,
                "files": [a.to_json() for a in self.artifacts]}

    def write(self) -> Path:
        """Write manifest.json beside the files (atomically: readers never see half)."""
        write_atomic(self.path, json.dumps(self.to_json(), indent=2) + "\n")
        return self.path

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        """Read a manifest.json (or the directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                raise BuildError(f"{path}: unknown manifest format {data.get('format')!r}")
            epoch = data.get("source_date_epoch")
            return cls(str(data["train"]), str(data["version"]), str(data["commit"]),
                       tuple(Artifact.from_json(a) for a in data["files"]), path.parent,
                       None if epoch is None else int(epoch), bool(data.get("reproducible")),
                       str(data.get("python", "")))
        except FileNotFoundError:
            raise BuildError(f"{path}: no build manifest (run nox -s build)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BuildError(f"{path}: not a valid build manifest ({exc})") from None

    def verify(self) -> None:
        """Refuse if any file is missing or no longer has the recorded size and sha256."""
        for artifact in self.artifacts:
            file = self.directory / artifact.filename
            if not file.is_file():
                raise BuildError(f"{file}: listed in {self.path.name} but missing")
            size, digest = file.stat().st_size, sha256_of(file)
            if (size, digest) != (artifact.size, artifact.sha256):
                raise BuildError(f"{file}: changed since it was built ("
                                 f"{mismatch('the file', digest, artifact.sha256)}); build "
                                 "again, or put the built file back")


def manifest_dir(out_dir: Path, train: str, version: str) -> Path:
    """Where a train's files go: `<out>/<train>-<version>/`."""
    return out_dir / f"{train}-{version}"


def mismatch(where: str, theirs: str, ours: str) -> str:
    """The one way a wrong file is reported: both hashes in full, whose is whose."""
    return f"hash mismatch: {where} has {theirs}, we built {ours}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _metadata_text(path: Path) -> str:
    """PKG-INFO of an sdist or METADATA of a wheel: the file's own word on name and version."""
    try:
        if path.name.endswith((".whl", ".zip")):
            wanted = ".dist-info/METADATA" if path.name.endswith(".whl") else "/PKG-INFO"
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(wanted)]
                if len(names) == 1:
                    return zf.read(names[0]).decode("utf-8")
        else:
            with tarfile.open(path) as tf:
                members = [m for m in tf.getmembers() if m.isfile()
                           and m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
                handle = tf.extractfile(members[0]) if len(members) == 1 else None
                if handle is not None:
                    return handle.read().decode("utf-8")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, UnicodeDecodeError) as exc:
        raise BuildError(f"{path.name}: cannot read its metadata: {exc}") from None
    raise BuildError(f"{path.name}: has no single top-level metadata file (PKG-INFO/METADATA)")


def read_metadata(path: Path) -> tuple[str, str]:
    """(Name, Version) as written in a built file's metadata."""
    message = email.parser.HeaderParser().parsestr(_metadata_text(path))
    return str(message.get("Name", "")), str(message.get("Version", ""))
