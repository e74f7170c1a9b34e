"""What a release configuration says: trains, their packages and version places, indexes,
gates, branch names; frozen dataclasses that every stage reads and none writes.

`release.config.reading` makes them from `[tool.release]` or `release.toml`, validated.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from release.errors import ConfigError, UsageError
from release.repo import tag_name

DEFAULT_TAG_FORMAT = "{train}-v{version}"
DEFAULT_COMMIT_MESSAGE = "chore(release): {train} {version}"
DEFAULT_PYTHONS = ("3.11", "3.12", "3.13")
DEFAULT_PLATFORMS = ("windows", "macos", "x86_64-manylinux_2_28", "aarch64-manylinux_2_28")
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024
DEFAULT_UPLOAD_CONCURRENCY = 8  # twine processes, each with a share of the files
MAX_UPLOAD_CONCURRENCY = 32


PARTS_PLACEHOLDERS = ("major", "minor", "micro")


@dataclass(frozen=True)
class Occurrence:
    """A place where a version is written as text: `search` holds `{version}`, or parts of
    it (`{major}`, `{minor}`, `{micro}`, with format specs: `0x{major:02x}{minor:02x}`).
    `path` may be a glob (`**` crosses directories)."""

    path: Path  # relative to the repository root
    search: str

    @property
    def is_glob(self) -> bool:
        return is_glob(str(self.path))

    @property
    def is_template(self) -> bool:
        """Does the search name parts of the version (not only `{version}`)?"""
        return any("{" + p in self.search for p in PARTS_PLACEHOLDERS)


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


@dataclass(frozen=True)
class DownstreamPin:
    """A file of an artifact train that pins another train's *published* version (config
    key `pins`). Only this is a pin: a package that requires another train's package is an
    internal requirement (a `requirement` spot), found from its dependencies."""

    train: str
    path: Path
    search: str

    @property
    def occurrence(self) -> Occurrence:
        return Occurrence(self.path, self.search)


@dataclass(frozen=True)
class Package:
    """A Python package of a train: its distribution name and its directory."""

    name: str  # as written in [project] name
    path: Path  # directory relative to the repository root ("." for the root)


Argv = tuple[str, ...]


@dataclass(frozen=True)
class Gates:
    """Validation before anything is uploaded: `checks` run in a clean worktree of the release
    commit, after `before_build` prepared it (which also prepares the build's worktree);
    `confirm` are manual checkpoints that `release-train ack TEXT` clears."""

    checks: tuple[Argv, ...] = ()
    before_build: tuple[Argv, ...] = ()
    confirm: tuple[str, ...] = ()

    def __add__(self, other: Gates) -> Gates:
        def merged(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
            return a + tuple(x for x in b if x not in a)
        return Gates(merged(self.checks, other.checks),
                     merged(self.before_build, other.before_build),
                     merged(self.confirm, other.confirm))


@dataclass(frozen=True)
class Downstream:
    """Where an artifact train lives and how it is smoke-tested against an index.

    `repository`: a checkout of its own (resolved path; its files are relative to it);
    `github`: that repository's owner/name for pull requests; `smoke`: an argv template with
    `{spec}` and `{index_url}`, run after each index's install-back."""

    repository: Path | None = None
    github: str | None = None
    pull_request: bool = False
    smoke: tuple[str, ...] = ()
    smoke_optional: bool = False


TrainKind = Literal["python", "artifact"]
TRAIN_KINDS: tuple[TrainKind, ...] = ("python", "artifact")


@dataclass(frozen=True)
class Train:
    """Packages or artifacts that share one version and one tag."""

    name: str
    kind: TrainKind
    packages: tuple[Package, ...]
    tag_format: str
    occurrences: tuple[Occurrence, ...] = ()
    pins: tuple[DownstreamPin, ...] = ()  # downstream pins (artifact trains)
    version_source: Occurrence | None = None  # where an artifact train keeps its version
    exclude: tuple[str, ...] = ()  # globs: files whose discovered version spots are left alone
    gates: Gates = Gates()  # this train's own validation gates
    downstream: Downstream | None = None  # artifact trains: own repository, smoke command

    @property
    def repository(self) -> Path | None:
        """The checkout an artifact train lives in, when not this repository."""
        return self.downstream.repository if self.downstream else None

    def tag(self, version: str) -> str:
        return tag_name(self.tag_format, self.name, version)


@dataclass(frozen=True)
class IndexConfig:
    """A package index we can upload to and install from."""

    name: str
    upload_url: str
    simple_url: str
    token_env: str
    production: bool  # pypi-like: finals and posts only, unless allow_prereleases
    allow_prereleases: bool = False


BUILTIN_INDEXES = {
    "testpypi": IndexConfig(
        "testpypi", "https://test.pypi.org/legacy/", "https://test.pypi.org/simple/",
        "TESTPYPI_TOKEN", production=False,
    ),
    "pypi": IndexConfig(
        "pypi", "https://upload.pypi.org/legacy/", "https://pypi.org/simple/",
        "PYPI_TOKEN", production=True,
    ),
}


@dataclass(frozen=True)
class BranchModel:
    """Branch names for the beta-branch model (main -> rc -> X.Y version branches)."""

    main: str = "main"
    rc: str = "rc"
    version_branch: str = "{major}.{minor}"
    release_branch: str = "release/{train}-v{version}"


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path  # the file the configuration came from
    trains: Mapping[str, Train]
    tag_format: str = DEFAULT_TAG_FORMAT
    commit_message: str = DEFAULT_COMMIT_MESSAGE
    branches: tuple[str, ...] = ("main", "release/*")
    pythons: tuple[str, ...] = DEFAULT_PYTHONS
    optional_pythons: tuple[str, ...] = ()
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    upload_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY  # twine processes at once; 1: in order
    indexes: Mapping[str, IndexConfig] = field(default_factory=lambda: dict(BUILTIN_INDEXES))
    branch_model: BranchModel = BranchModel()
    gates: Gates = Gates()  # repository-wide; each train adds its own (Train.gates)
    # artifact trains in a checkout of their own: not part of this repository's files
    downstreams: Mapping[str, Train] = field(default_factory=dict)
    checkout_of: Path | None = None  # set on the config of such a checkout: the upstream root

    def pick(self, name: str | None) -> Train:
        """The train --train names, else the only one; with several and none named, one line
        naming them. The one train picker of every command."""
        if name is not None:
            return self.train(name)
        if len(self.trains) == 1:
            return next(iter(self.trains.values()))
        raise UsageError(f"choose a train with --train ({', '.join(self.trains)})")

    def train(self, name: str) -> Train:
        try:
            return self.trains[name]
        except KeyError:
            if name in self.downstreams:
                where = self.downstreams[name].repository
                raise ConfigError(f"train {name!r} lives in its own repository ({where}): "
                                  f"invoke pin-downstream --train {name} works there") from None
            known = ", ".join(self.trains) or "none"
            raise ConfigError(
                f"{self.source.name}: no train named {name!r} (trains: {known})") from None

    def artifact(self, name: str) -> Train:
        """An artifact train, in this repository or in a checkout of its own."""
        train = self.downstreams.get(name) or self.train(name)
        if train.kind != "artifact":
            raise ConfigError(f"train {name!r} is a python train: only artifact trains pin "
                              "downstream")
        return train

    def artifacts(self) -> list[Train]:
        """Every artifact train, those in checkouts of their own included."""
        return [t for t in self.trains.values() if t.kind == "artifact"] + \
            list(self.downstreams.values())

    def index(self, name: str) -> IndexConfig:
        try:
            return self.indexes[name]
        except KeyError:
            raise ConfigError(
                f"no index named {name!r} (indexes: {', '.join(self.indexes)})") from None


SMOKE_PLACEHOLDERS = ("spec", "index_url", "fallback_url")
_SPEC = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(===|==|~=|>=)\s*\{version\}")


def smoke_spec(pin: DownstreamPin) -> str | None:
    """The requirement a pin writes (`name=={version}` in its search), as a template."""
    m = _SPEC.search(pin.search)
    return f"{m[1]}{m[2]}{{version}}" if m else None


def branch_allowed(config: Config, branch: str) -> bool:
    return any(fnmatch.fnmatchcase(branch, pattern) for pattern in config.branches)
