"""The train tables of a release configuration: a python train's packages (directories with
a pyproject.toml, each claimed once), an artifact train's version place, occurrences,
downstream pins, excludes, gates, and where a downstream lives and how it is smoke-tested."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from release.config.model import (
    SMOKE_PLACEHOLDERS,
    TRAIN_KINDS,
    Downstream,
    DownstreamPin,
    Occurrence,
    Package,
    Train,
    TrainKind,
    is_glob,
    smoke_spec,
)
from release.config.tables import GATE_KEYS, Table, gates, inside, occurrence
from release.confine import PLAIN_NAME
from release.errors import ConfigError

TRAIN_KEYS = {"packages", "kind", "tag-format", "occurrences", "pins", "version",
              "exclude"} | GATE_KEYS
DOWNSTREAM_KEYS = {"repository", "github", "pull-request", "smoke", "smoke-optional"}


def trains_of(root: Path, top: Table, prefix: str, raw_trains: dict[str, Any],
            tag_format: str) -> dict[str, Train]:
    """Every train table, in order; a package directory belongs to one train only."""
    trains: dict[str, Train] = {}
    owner: dict[Path, str] = {}
    for name, raw in raw_trains.items():
        if not PLAIN_NAME.fullmatch(name) or ".." in name:
            top.fail(f"[{prefix}trains] train name {name!r} is not a plain name: use letters, "
                     "digits, '.', '_' and '-', starting with a letter or digit (it names "
                     "files and directories)")
        r = Table(top.file, f"{prefix}trains.{name}", raw, TRAIN_KEYS | DOWNSTREAM_KEYS)
        trains[name] = _train(root, r, name, tag_format, owner)
    return trains


def _train(root: Path, r: Table, name: str, tag_format: str,
           owner: dict[Path, str]) -> Train:
    kind: TrainKind = r.get("kind", str, "python", lambda v: v in TRAIN_KINDS,
                            '"python" or "artifact"')
    downstream = _downstream(root, r, kind)
    # Files of a train in its own checkout are relative to it; that checkout may be
    # absent where it is not used (CI of this repository): checked when it is used.
    here = downstream.repository if downstream and downstream.repository else root
    present = here == root or here.is_dir()
    train_tag = r.template("tag-format", tag_format, ("version",))
    packages: tuple[Package, ...] = ()
    version_source = None
    if kind == "python":
        packages = _python_packages(root, r, name, owner)
    else:
        version_source = _artifact_version(here, r, present)
    occurrences = []
    for i, raw_occ in enumerate(r.get("occurrences", list, [])):
        _, path, search = occurrence(here, r.file, f"{r.where}.occurrences[{i}]", raw_occ,
                                     must_exist=present)
        occurrences.append(Occurrence(path, search))
    pins = _pins(here, r, present)
    exclude = r.strings("exclude", ())
    for pattern in exclude:
        inside(root, pattern, r, "exclude")
    train = Train(name, kind, packages, train_tag, tuple(occurrences), pins, version_source,
                  exclude, gates(r), downstream)
    if downstream is not None and downstream.smoke and not any(smoke_spec(p) for p in pins):
        r.fail(f"[{r.where}] smoke needs a pin whose search names the package "
               "(name=={version}): {spec} is made from it")
    return train


def _python_packages(root: Path, r: Table, name: str,
                     owner: dict[Path, str]) -> tuple[Package, ...]:
    patterns = r.strings("packages", ())
    if not patterns:
        r.fail(f"[{r.where}] a python train needs packages = [...]")
    if "version" in r.table:
        r.fail(f"[{r.where}] version is for artifact trains; python packages are discovered")
    packages = []
    for rel in _packages(root, r.file, r.where, patterns):
        if rel in owner:
            r.fail(f"[{r.where}] package {str(rel)!r} is already in train {owner[rel]!r}")
        owner[rel] = name
        packages.append(Package(_package_name(root, rel, r.file, r.where), rel))
    return tuple(packages)


def _packages(root: Path, file: Path, where: str, patterns: tuple[str, ...]) -> list[Path]:
    r = Table(file, where, {}, set())
    found: list[Path] = []
    for pattern in patterns:
        inside(root, pattern, r, "packages")
        matches = sorted(p for p in root.glob(pattern) if (p / "pyproject.toml").is_file()) \
            if is_glob(pattern) else \
            ([root / pattern] if (root / pattern / "pyproject.toml").is_file() else [])
        if not matches:
            what = "matches no directory with a pyproject.toml" if is_glob(pattern) \
                else "is not a directory with a pyproject.toml"
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


def _artifact_version(here: Path, r: Table, present: bool) -> Occurrence:
    if "packages" in r.table:
        r.fail(f"[{r.where}] an artifact train has no packages; give version = {{...}}")
    if "version" not in r.table:
        r.fail(f"[{r.where}] an artifact train needs version = {{ path, search }}")
    _, path, search = occurrence(here, r.file, f"{r.where}.version", r.table["version"],
                                  must_exist=present)
    return Occurrence(path, search)


def _pins(here: Path, r: Table, present: bool) -> tuple[DownstreamPin, ...]:
    """The train's downstream pins (`pins = [{ train, path, search }]`)."""
    pins = []
    for i, raw_pin in enumerate(r.get("pins", list, [])):
        pr, path, search = occurrence(here, r.file, f"{r.where}.pins[{i}]", raw_pin,
                                       frozenset({"train"}), must_exist=present)
        pinned = pr.get("train", str, None)
        if pinned is None:
            pr.fail(f"[{r.where}.pins[{i}]] needs train = \"...\" (the train it pins)")
        pins.append(DownstreamPin(pinned, path, search))
    return tuple(pins)


def _downstream(root: Path, r: Table, kind: TrainKind) -> Downstream | None:
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


def check_pins(top: Table, prefix: str, trains: Mapping[str, Train],
                every: list[Train]) -> None:
    """A downstream pin names a train of this repository, and not its own."""
    for train in every:
        for pin in train.pins:
            if pin.train not in trains:
                top.fail(f"[{prefix}trains.{train.name}] pins train {pin.train!r}, "
                         "which is not declared")
            if pin.train == train.name:
                top.fail(f"[{prefix}trains.{train.name}] a train cannot pin itself")


def check_package_names(top: Table, trains: Mapping[str, Train]) -> None:
    names: dict[str, str] = {}
    for train in trains.values():
        for pkg in train.packages:
            key = canonicalize_name(pkg.name)  # PEP 503: runs of -_. are one -
            if key in names:
                top.fail(f"package name {pkg.name!r} appears twice ({names[key]} and {pkg.path})")
            names[key] = str(pkg.path)
