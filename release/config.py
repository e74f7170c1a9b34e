"""The release configuration of a repository: `[tool.release]` or `release.toml`.

Everything is validated on load, so later steps can trust it: unknown keys, wrong types,
missing paths, empty globs, packages claimed twice and paths outside the repository are
refused with one line naming the file and the key.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from release import confine
from release.confine import PLAIN_NAME
from release.errors import ConfigError, UsageError
from release.repo import tag_name

DEFAULT_TAG_FORMAT = "{train}-v{version}"
DEFAULT_COMMIT_MESSAGE = "chore(release): {train} {version}"
DEFAULT_PYTHONS = ("3.11", "3.12", "3.13")
DEFAULT_PLATFORMS = ("windows", "macos", "x86_64-manylinux_2_28", "aarch64-manylinux_2_28")
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024
DEFAULT_UPLOAD_CONCURRENCY = 4  # twine processes, each with a share of the files
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
class Pin:
    """A file of this train that pins another train's *published* version."""

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


@dataclass(frozen=True)
class Train:
    """Packages or artifacts that share one version and one tag."""

    name: str
    kind: str  # "python" or "artifact"
    packages: tuple[Package, ...]
    tag_format: str
    occurrences: tuple[Occurrence, ...] = ()
    pins: tuple[Pin, ...] = ()
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

    def select(self, name: str | None) -> list[Train]:
        """The train asked for, or every train."""
        return [self.train(name)] if name else list(self.trains.values())

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


# --- loading -------------------------------------------------------------------------------

class _Reader:
    """Typed access to one config table that names file and key in every complaint."""

    def __init__(self, file: Path, where: str, table: Any, allowed: set[str]) -> None:
        self.file, self.where = file, where
        if not isinstance(table, dict):
            self.fail(f"[{where}] must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            allowed_keys = ", ".join(sorted(allowed))
            self.fail(f"[{where}] unknown key {unknown[0]!r} (allowed: {allowed_keys})")
        self.table: dict[str, Any] = table

    def fail(self, message: str) -> None:
        raise ConfigError(f"{self.file.name}: {message}")

    def get(self, key: str, kind: type, default: Any, check: Callable[[Any], bool] | None = None,
            expect: str = "") -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(f"[{self.where}] {key} must be {expect or kind.__name__}")
        if check is not None and not check(value):
            self.fail(f"[{self.where}] {key} must be {expect}")
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(key, list, None, lambda v: all(isinstance(s, str) for s in v),
                         "a list of strings")
        return default if value is None else tuple(value)

    def template(self, key: str, default: str, needs: tuple[str, ...]) -> str:
        value: str = self.get(key, str, default)
        for name in needs:
            if "{" + name + "}" not in value:
                self.fail(f"[{self.where}] {key} must contain {{{name}}}: {value!r}")
        try:
            value.format(**{n: "x" for n in ("train", "version", "major", "minor")})
        except (KeyError, IndexError, ValueError):
            self.fail(f"[{self.where}] {key} has an unknown placeholder: {value!r}")
        return value


def _inside(root: Path, rel: str, reader: _Reader, key: str) -> Path:
    """Resolve a configured path, refusing anything outside the repository (symlinks too)."""
    candidate = Path(rel)
    if candidate.is_absolute():
        reader.fail(f"[{reader.where}] {key}: {rel!r} must be relative to the repository")
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        reader.fail(f"[{reader.where}] {key}: {rel!r} is outside the repository")
    return candidate


def _occurrence(root: Path, file: Path, where: str, raw: Any,
                extra: frozenset[str] = frozenset(), must_exist: bool = True) -> Any:
    r = _Reader(file, where, raw, {"path", "search"} | extra)
    path_text = r.get("path", str, None)
    search = r.get("search", str, None)
    if path_text is None or search is None:
        r.fail(f"[{where}] needs both path and search")
    _check_search(r, search, allow_parts="train" not in extra)
    path = _inside(root, path_text, r, "path")
    if must_exist and not is_glob(path_text) and not (root / path).is_file():
        r.fail(f"[{where}] path {path_text!r} does not exist")
    return r, path, search


def _check_search(r: _Reader, search: str, allow_parts: bool) -> None:
    """`{version}` once, or (in occurrences) parts of the version with format specs."""
    names = ("version",) + (PARTS_PLACEHOLDERS if allow_parts else ())
    count = search.count("{version}")
    if count > 1 or count == 0 and not (allow_parts and any("{" + p in search for p in names)):
        needs = "{version} exactly once" if not allow_parts else \
            "{version} (once) or {major}/{minor}/{micro}"
        r.fail(f"[{r.where}] search must contain {needs}: {search!r}")
    try:
        search.format(version="1.2.3", major=1, minor=2, micro=3)
    except (KeyError, IndexError, ValueError) as exc:
        r.fail(f"[{r.where}] search has an unknown placeholder or format ({exc}): {search!r}")


def _packages(root: Path, file: Path, where: str, patterns: tuple[str, ...]) -> list[Path]:
    r = _Reader(file, where, {}, set())
    found: list[Path] = []
    for pattern in patterns:
        _inside(root, pattern, r, "packages")
        matches = sorted(p for p in root.glob(pattern) if (p / "pyproject.toml").is_file()) \
            if any(c in pattern for c in "*?[") else \
            ([root / pattern] if (root / pattern / "pyproject.toml").is_file() else [])
        if not matches:
            what = "matches no directory with a pyproject.toml" if any(
                c in pattern for c in "*?[") else "is not a directory with a pyproject.toml"
            r.fail(f"[{where}] packages: {pattern!r} {what}")
        for m in matches:
            if not m.resolve().is_relative_to(root.resolve()):  # a glob through a symlink
                r.fail(f"[{where}] packages: {pattern!r} matches "
                       f"{m.relative_to(root).as_posix()!r}, which is outside the repository")
            rel = m.resolve().relative_to(root.resolve()) if m.resolve() != root.resolve() \
                else Path(".")
            if rel not in found:
                found.append(rel)
    return found


def _package_name(root: Path, rel: Path, file: Path, where: str) -> str:
    pyproject = root / rel / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject.relative_to(root)}: not valid TOML: {exc}") from None
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name:  # poetry before PEP 621
        poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else {}
        name = poetry.get("name") if isinstance(poetry, dict) else None
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{file.name}: [{where}] package {str(rel)!r} has no [project] name")
    return name


GATE_KEYS = {"checks", "before-build", "confirm"}
TOP_KEYS = {"tag-format", "commit-message", "branches", "pythons", "optional-pythons",
            "platforms", "max-file-size", "upload-concurrency", "indexes", "trains",
            "branch-model"} | GATE_KEYS
TRAIN_KEYS = {"packages", "kind", "tag-format", "occurrences", "pins", "version",
              "exclude"} | GATE_KEYS
DOWNSTREAM_KEYS = {"repository", "github", "pull-request", "smoke", "smoke-optional"}


def _gates(r: _Reader) -> Gates:
    """checks/before-build: lists of argv lists (never a shell string); confirm: texts."""
    def commands(key: str) -> tuple[Argv, ...]:
        value = r.get(key, list, [], lambda v: all(
            isinstance(c, list) and c and all(isinstance(a, str) for a in c) for c in v),
            'a list of commands, each a non-empty list of strings (["git", "diff", "--check"])')
        return tuple(tuple(c) for c in value)
    confirm = r.strings("confirm", ())
    if any(not text.strip() for text in confirm):
        r.fail(f"[{r.where}] confirm: a checkpoint needs a text")
    return Gates(commands("checks"), commands("before-build"), confirm)


INDEX_KEYS = {"upload-url", "simple-url", "token-env", "production", "allow-prereleases"}


def _read_table(root: Path) -> tuple[Path, str, dict[str, Any]]:
    release_toml = root / "release.toml"
    pyproject = root / "pyproject.toml"

    def parse(path: Path) -> dict[str, Any]:
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None

    in_pyproject: dict[str, Any] | None = None
    if pyproject.is_file():
        tool = parse(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{pyproject.name}: tool must be a table ([tool.…]), not "
                              f"{type(tool).__name__}")
        in_pyproject = tool.get("release")
    if release_toml.is_file():
        if in_pyproject is not None:
            raise ConfigError("release.toml and [tool.release] in pyproject.toml both exist; "
                              "keep one")
        return release_toml, "", parse(release_toml)
    if in_pyproject is None:
        raise ConfigError(f"{root}: no release configuration ([tool.release] in pyproject.toml "
                          "or release.toml)")
    return pyproject, "tool.release.", in_pyproject


def load(root: Path | str) -> Config:
    """Read and validate the repository's release configuration."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such directory")
    confine.allow(root)  # the repository: writes may go anywhere inside it, nowhere through it
    file, prefix, table = _read_table(root)
    top = _Reader(file, prefix.rstrip(".") or "release.toml", table, TOP_KEYS)
    tag_format = top.template("tag-format", DEFAULT_TAG_FORMAT, ("version",))
    commit_message = top.template("commit-message", DEFAULT_COMMIT_MESSAGE, ())
    trains_raw = top.get("trains", dict, None, expect="a table of trains")
    if not trains_raw:
        top.fail(f"[{prefix}trains] must declare at least one train")

    indexes = dict(BUILTIN_INDEXES)
    for name, raw in top.get("indexes", dict, {}).items():
        r = _Reader(file, f"{prefix}indexes.{name}", raw, INDEX_KEYS)
        base = indexes.get(name)
        upload = r.get("upload-url", str, base.upload_url if base else None)
        simple = r.get("simple-url", str, base.simple_url if base else None)
        if upload is None or simple is None:
            r.fail(f"[{r.where}] a new index needs upload-url and simple-url")
        indexes[name] = IndexConfig(
            name, upload, simple,
            r.get("token-env", str, base.token_env if base else f"{name.upper()}_TOKEN"),
            r.get("production", bool, base.production if base else False),
            r.get("allow-prereleases", bool, False),
        )

    trains: dict[str, Train] = {}
    owner: dict[Path, str] = {}
    for name, raw in trains_raw.items():
        where = f"{prefix}trains.{name}"
        if not PLAIN_NAME.fullmatch(name) or ".." in name:
            top.fail(f"[{prefix}trains] train name {name!r} is not a plain name: use letters, "
                     "digits, '.', '_' and '-', starting with a letter or digit (it names "
                     "files and directories)")
        r = _Reader(file, where, raw, TRAIN_KEYS | DOWNSTREAM_KEYS)
        kind = r.get("kind", str, "python", lambda v: v in ("python", "artifact"),
                     '"python" or "artifact"')
        downstream = _downstream(root, r, kind)
        # Files of a train in its own checkout are relative to it; that checkout may be
        # absent where it is not used (CI of this repository): checked when it is used.
        here = downstream.repository if downstream and downstream.repository else root
        present = here == root or here.is_dir()
        train_tag = r.template("tag-format", tag_format, ("version",))
        packages: list[Package] = []
        version_source = None
        if kind == "python":
            patterns = r.strings("packages", ())
            if not patterns:
                r.fail(f"[{where}] a python train needs packages = [...]")
            if "version" in r.table:
                r.fail(f"[{where}] version is for artifact trains; python packages are discovered")
            for rel in _packages(root, file, where, patterns):
                if rel in owner:
                    r.fail(f"[{where}] package {str(rel)!r} is already in train {owner[rel]!r}")
                owner[rel] = name
                packages.append(Package(_package_name(root, rel, file, where), rel))
        else:
            if "packages" in r.table:
                r.fail(f"[{where}] an artifact train has no packages; give version = {{...}}")
            if "version" not in r.table:
                r.fail(f"[{where}] an artifact train needs version = {{ path, search }}")
            _, vpath, vsearch = _occurrence(here, file, f"{where}.version", r.table["version"],
                                            must_exist=present)
            version_source = Occurrence(vpath, vsearch)
        occurrences = []
        for i, raw_occ in enumerate(r.get("occurrences", list, [])):
            _, path, search = _occurrence(here, file, f"{where}.occurrences[{i}]", raw_occ,
                                          must_exist=present)
            occurrences.append(Occurrence(path, search))
        pins = []
        for i, raw_pin in enumerate(r.get("pins", list, [])):
            pr, path, search = _occurrence(here, file, f"{where}.pins[{i}]", raw_pin,
                                           frozenset({"train"}), must_exist=present)
            pinned = pr.get("train", str, None)
            if pinned is None:
                pr.fail(f"[{where}.pins[{i}]] needs train = \"...\" (the train it pins)")
            pins.append(Pin(pinned, path, search))
        exclude = r.strings("exclude", ())
        for pattern in exclude:
            _inside(root, pattern, r, "exclude")
        trains[name] = Train(name, kind, tuple(packages), train_tag, tuple(occurrences),
                             tuple(pins), version_source, exclude, _gates(r), downstream)
        if downstream is not None and downstream.smoke and not any(
                smoke_spec(p) for p in pins):
            r.fail(f"[{where}] smoke needs a pin whose search names the package "
                   "(name=={version}): {spec} is made from it")

    downstreams = {n: t for n, t in trains.items() if t.repository is not None}
    trains = {n: t for n, t in trains.items() if t.repository is None}
    for train in [*trains.values(), *downstreams.values()]:
        for pin in train.pins:
            if pin.train not in trains:
                top.fail(f"[{prefix}trains.{train.name}] pins train {pin.train!r}, "
                         "which is not declared")
            if pin.train == train.name:
                top.fail(f"[{prefix}trains.{train.name}] a train cannot pin itself")

    names: dict[str, str] = {}
    for train in trains.values():
        for pkg in train.packages:
            key = canonicalize_name(pkg.name)  # PEP 503: runs of -_. are one -
            if key in names:
                top.fail(f"package name {pkg.name!r} appears twice ({names[key]} and {pkg.path})")
            names[key] = str(pkg.path)

    bm = _Reader(file, f"{prefix}branch-model", top.get("branch-model", dict, {}),
                 {"main", "rc", "version-branch", "release-branch"})
    branch_model = BranchModel(
        bm.get("main", str, "main"), bm.get("rc", str, "rc"),
        bm.template("version-branch", "{major}.{minor}", ()),
        bm.template("release-branch", "release/{train}-v{version}", ()),
    )
    max_size = top.get("max-file-size", int, DEFAULT_MAX_FILE_SIZE, lambda v: v > 0,
                       "a positive number of bytes")
    concurrency = top.get("upload-concurrency", int, DEFAULT_UPLOAD_CONCURRENCY,
                          lambda v: 1 <= v <= MAX_UPLOAD_CONCURRENCY,
                          f"a number of connections from 1 to {MAX_UPLOAD_CONCURRENCY}")
    return Config(
        root=root, source=file, trains=trains, tag_format=tag_format,
        commit_message=commit_message,
        branches=top.strings("branches", ("main", "release/*")),
        pythons=top.strings("pythons", DEFAULT_PYTHONS),
        optional_pythons=top.strings("optional-pythons", ()),
        platforms=top.strings("platforms", DEFAULT_PLATFORMS),
        max_file_size=max_size, upload_concurrency=concurrency, indexes=indexes,
        branch_model=branch_model, gates=_gates(top),
        downstreams=downstreams,
    )


SMOKE_PLACEHOLDERS = ("spec", "index_url", "fallback_url")
_SPEC = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(===|==|~=|>=)\s*\{version\}")


def smoke_spec(pin: Pin) -> str | None:
    """The requirement a pin writes (`name=={version}` in its search), as a template."""
    m = _SPEC.search(pin.search)
    return f"{m[1]}{m[2]}{{version}}" if m else None


def _downstream(root: Path, r: _Reader, kind: str) -> Downstream | None:
    """The keys of an artifact train that lives elsewhere or is smoke-tested."""
    given = DOWNSTREAM_KEYS & set(r.table)
    if not given:
        return None
    if kind != "artifact":
        r.fail(f"[{r.where}] {sorted(given)[0]} is for artifact trains")
    repository = None
    rel = r.get("repository", str, None)
    if rel is not None:
        if not rel or Path(rel).is_absolute():
            r.fail(f"[{r.where}] repository: {rel!r} must be a path relative to the "
                   "repository root (e.g. \"../addon-repo\")")
        repository = (root / rel).resolve()
        if repository == root.resolve() or root.resolve().is_relative_to(repository):
            r.fail(f"[{r.where}] repository: {rel!r} must be another checkout, not this one")
    github = r.get("github", str, None, lambda v: re.fullmatch(r"[\w.-]+/[\w.-]+", v) is not None,
                   "owner/name")
    smoke = r.strings("smoke", ())
    for i, arg in enumerate(smoke):
        try:
            arg.format(**{n: "x" for n in SMOKE_PLACEHOLDERS})
        except (KeyError, IndexError, ValueError):
            r.fail(f"[{r.where}] smoke[{i}] has an unknown placeholder (allowed: {{spec}}, "
                   f"{{index_url}}, {{fallback_url}}): {arg!r}")
    if "smoke" in r.table and not smoke:
        r.fail(f"[{r.where}] smoke must name a program: [\"docker\", \"build\", ...]")
    return Downstream(repository, github, r.get("pull-request", bool, False), smoke,
                      r.get("smoke-optional", bool, False))


def branch_allowed(config: Config, branch: str) -> bool:
    return any(fnmatch.fnmatchcase(branch, pattern) for pattern in config.branches)


def configured_pythons(root: Path | str) -> tuple[str, ...]:
    """`pythons` of the repository at root, read without validating the rest (nox asks while
    it loads the noxfile, before any session runs: a broken config is reported by the session
    itself); the defaults when there is no configuration or it cannot be read."""
    try:
        _, _, table = _read_table(Path(root))
    except (ConfigError, OSError):
        return DEFAULT_PYTHONS
    pythons = table.get("pythons")
    if isinstance(pythons, list) and pythons and all(isinstance(p, str) for p in pythons):
        return tuple(pythons)
    return DEFAULT_PYTHONS
