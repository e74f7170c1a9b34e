"""Where versions are written: discovered from each package's build config, plus config.

`scan` finds every place (a `Spot`) that carries a train's version: the build config's own
version (see `sources/`), `__version__` companions in the package's import packages (nested
and namespace packages too), `VERSION` files, internal requirements in any package's
dependencies, lock files, text occurrences (globs, bounded matches, version parts) and
downstream pins. `rewrite` changes them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from tomlkit.items import String, StringType

from release import repo as git
from release.config import Config, Occurrence, Package, Train
from release.errors import ConfigError, ReleaseError
from release.versions import lockfiles as lockfile
from release.versions import sources
from release.versions.pep440 import PRE_NAMES, VERSION_TEXT, Written, format_version, parse
from release.versions.spots import (
    Spot,
    SpotKind,
    dunder_spots,
    line_of,
    parse_toml,
    read,
    span_spot,
    table,
)

__all__ = ["Scan", "Spot", "glob_regex", "new_requirement", "parse_loose",
           "rewrite", "scan", "search_regex"]

_SPECIFIER = re.compile(r"(?P<op>===|==|~=|!=|>=|<=|>|<)(?P<ws>\s*)(?P<version>[^\s,;]+)")
MOVING_OPERATORS = ("==", "===", "~=", ">=", "<=")  # clauses that follow the train's version
VERSION_FILE_NAMES = ("__init__.py", "version.py", "_version.py", "__version__.py",
                      "__about__.py")
_SKIP_DIRS = {"tests", "test", "_vendor", "vendor", "vendored", "third_party"}
_PART_FORMAT = re.compile(r"\{(?P<name>version|major|minor|micro)(?::(?P<spec>[^}]*))?\}")


@dataclass
class Scan:
    """Every spot in the repository, and the texts read to find them (reused by edits)."""

    config: Config
    spots: list[Spot] = field(default_factory=list)
    texts: dict[Path, str] = field(default_factory=dict)
    tag_driven: set[str] = field(default_factory=set)  # trains whose version is the git tag
    sources: dict[str, str] = field(default_factory=dict)  # package name -> its source

    def for_train(self, train: str,
                  kinds: Iterable[SpotKind] = ("version", "requirement", "lock")) -> list[Spot]:
        wanted = set(kinds)
        return [s for s in self.spots if s.train == train and s.kind in wanted]


# --- files and globs ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over POSIX paths: `*` and `?` stay in a directory, `**/` crosses any."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            out, i = out + "[" + pattern[i + 1:end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def repo_files(root: Path) -> list[Path]:
    """The repository's files: git's list, or (outside git) every file not under a dot dir."""
    listed = git.tracked_files(root)
    if listed is not None:
        return [p for p in listed if (root / p).is_file()]
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        found += [Path(directory, f).relative_to(root) for f in sorted(files)]
    return found


class Files:
    """Glob matching over the repository's files, listed once per scan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._all: list[Path] | None = None

    def matching(self, pattern: str) -> list[Path]:
        if self._all is None:
            self._all = repo_files(self.root)
        regex = glob_regex(pattern)
        return [p for p in self._all if regex.match(p.as_posix())]

    def excluded(self, train: Train, path: Path) -> bool:
        return any(glob_regex(p).match(path.as_posix()) for p in train.exclude)


# --- text occurrences --------------------------------------------------------------------------

def search_regex(search: str) -> re.Pattern[str]:
    """The search as a regex: bounded at both ends, each placeholder a named group."""
    out, last = "", 0
    for m in _PART_FORMAT.finditer(search):
        out += re.escape(search[last:m.start()])
        if m["name"] == "version":
            out += f"(?P<version>{VERSION_TEXT})"
        else:
            spec = m["spec"] or ""
            digits = "[0-9a-fA-F]" if spec.endswith(("x", "X")) else "[0-9]"
            width = re.match(r"0?([0-9]+)", spec)
            count = f"{{{width[1]}}}" if width and spec.startswith("0") else "+"
            out += f"(?P<{m['name']}>{digits}{count})"
        last = m.end()
    out += re.escape(search[last:])
    head = r"(?<![\w.])" if not search or re.match(r"[\w{]", search) else ""
    tail = r"(?![\w]|\.[0-9])" if re.search(r"[\w}]\Z", search) else ""
    return re.compile(head + out + tail)


def _derived(m: re.Match[str], search: str) -> str:
    """The version a template match stands for: its parts, "major.minor.micro"."""
    parts = []
    for m2 in _PART_FORMAT.finditer(search):
        if m2["name"] != "version":
            spec = m2["spec"] or ""
            parts.append((m2["name"], int(m[m2["name"]], 16 if spec.endswith(("x", "X")) else 10)))
    values = dict(parts)
    return ".".join(str(values.get(n, 0)) for n in ("major", "minor", "micro"))


def _text_spots(train: str, rel: Path, text: str, occ: Occurrence, what: str, kind: SpotKind,
                required: bool = True) -> list[Spot]:
    regex = search_regex(occ.search)
    spots = []
    for m in regex.finditer(text):
        if occ.is_template:
            written = m["version"] if "version" in regex.groupindex else _derived(m, occ.search)
            spots.append(span_spot(train, rel, text, m.start(), m.end(), written, what,
                                   kind, template=occ.search))
        else:
            spots.append(span_spot(train, rel, text, m.start("version"), m.end("version"),
                                   m["version"], what, kind))
    if not spots and required:
        raise ConfigError(f"{rel}: configured text {occ.search!r} not found (the file changed? "
                          "update the occurrence in the release config)")
    return spots


def _occurrence_spots(root: Path, files: Files, train: str, occ: Occurrence, what: str,
                      kind: SpotKind, texts: dict[Path, str]) -> list[Spot]:
    if not occ.is_glob:
        return _text_spots(train, occ.path, read(root, occ.path, texts), occ, what, kind)
    spots: list[Spot] = []
    for rel in files.matching(occ.path.as_posix()):
        try:
            text = read(root, rel, texts)
        except ConfigError:  # binary files are no occurrences
            continue
        spots += _text_spots(train, rel, text, occ, what, kind, required=False)
    if not spots:
        raise ConfigError(f"no file matching {occ.path.as_posix()!r} contains {occ.search!r} "
                          "(fix the occurrence in the release config)")
    return spots


# --- packages ------------------------------------------------------------------------------------

def _import_names(name: str) -> list[Path]:
    """Where a distribution's import package may live: `a-b-c` -> a_b_c, a/b_c, a/b/c, ..."""
    words = [w for w in canonicalize_name(name).split("-") if w][:8]
    found = []
    for mask in range(1 << max(len(words) - 1, 0)):
        path = words[0]
        for i, word in enumerate(words[1:]):
            path += ("/" if mask >> i & 1 else "_") + word
        found.append(Path(path))
    return found


def _import_package_dirs(pkg_dir: Path, name: str) -> list[Path]:
    """The package's own import packages: top-level ones and its (namespace) import path."""
    found: list[Path] = []
    for base in (pkg_dir / "src", pkg_dir):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if (child / "__init__.py").is_file() and child.name not in _SKIP_DIRS:
                found.append(child)
        for rel in _import_names(name):
            if (base / rel).is_dir() and base / rel not in found:
                found.append(base / rel)
    return found


def _package_spots(root: Path, train: Train, pkg: Package, texts: dict[Path, str],
                   result: Scan) -> list[Spot]:
    """The train's own version in one package: the build config's source, then companions."""
    rel = pkg.path / "pyproject.toml"
    project = sources.Project(root, pkg.path, pkg.name, train.name,
                              parse_toml(rel, read(root, rel, texts)), texts)
    found = sources.find(project)
    result.sources[pkg.name] = found.source
    if found.tag_driven:
        result.tag_driven.add(train.name)
        return []  # generated version files (setuptools-scm's _version.py) are not ours
    spots = list(found.spots)
    seen = {f.resolve() for f in found.files}
    companions = [project.dir / "VERSION"] + [d / n for d in _import_package_dirs(project.dir,
                                                                                 pkg.name)
                                             for n in VERSION_FILE_NAMES]
    for path in companions:
        if path.resolve() in seen or not path.is_file():
            continue
        seen.add(path.resolve())
        file_rel, body = project.text_of(path)
        if path.suffix == ".py":
            spots += dunder_spots(train.name, file_rel, body, f"__version__ of {pkg.name}")
        else:
            spots += project.version_file(path, f"of {pkg.name}")
    return spots


def _requirement_spots(rel: Path, text: str, data: dict[str, Any],
                       owners: Mapping[str, str]) -> Iterator[Spot]:
    """Internal requirements: any package's requirements that name a package of some train."""
    project = table(data.get("project"))
    lists: list[tuple[tuple[str | int, ...], Any]] = [
        (("project", "dependencies"), project.get("dependencies", []))]
    for extra, reqs in table(project.get("optional-dependencies")).items():
        lists.append((("project", "optional-dependencies", extra), reqs))
    for group, reqs in table(data.get("dependency-groups")).items():
        lists.append((("dependency-groups", group), reqs))
    search_from = 0
    for key, reqs in lists:
        if not isinstance(reqs, list):
            continue
        for index, raw in enumerate(reqs):
            if not isinstance(raw, str):
                continue  # {include-group = ...}
            try:
                req = Requirement(raw)
            except InvalidRequirement:
                raise ConfigError(f"{rel}: invalid requirement {raw!r}") from None
            train = owners.get(canonicalize_name(req.name))
            if train is None or not req.specifier:
                continue
            at = text.find(raw, search_from)
            at = at if at >= 0 else text.find(raw)
            search_from = max(search_from, at + 1)
            for m in _SPECIFIER.finditer(raw):
                yield Spot(train, rel, line_of(text, max(at, 0)), m["version"],
                           f"requirement {raw!r} in {'.'.join(map(str, key))}", "requirement",
                           key=key + (index,), requirement=raw, discovered=True)


def scan(config: Config, trains: Iterable[Train] | None = None) -> Scan:
    """Find every version spot of the given trains (default all) and every internal
    requirement naming them."""
    root = config.root
    result = Scan(config)
    files = Files(root)
    wanted = list(trains) if trains is not None else list(config.trains.values())
    owners: dict[str, str] = {canonicalize_name(p.name): t.name
                              for t in config.trains.values() for p in t.packages}
    texts = result.texts
    for train in wanted:
        for pkg in train.packages:
            result.spots += _package_spots(root, train, pkg, texts, result)
        if train.version_source is not None:
            occ = train.version_source
            result.spots += _text_spots(train.name, occ.path, read(root, occ.path, texts),
                                        occ, f"version of {train.name}", "version")
        for occ in train.occurrences:
            result.spots += _occurrence_spots(root, files, train.name, occ,
                                              f"text {occ.search!r}", "version", texts)
        for pin in train.pins:
            result.spots += _occurrence_spots(root, files, pin.train, pin.occurrence,
                                              f"downstream pin of {pin.train} in {train.name}",
                                              "pin", texts)
    # Internal requirements can live in any package of the repository, whatever its train.
    wanted_names = {t.name for t in wanted}
    for train in config.trains.values():
        for pkg in train.packages:
            rel = pkg.path / "pyproject.toml"
            text = read(root, rel, texts)
            result.spots += [s for s in _requirement_spots(rel, text, parse_toml(rel, text),
                                                           owners)
                             if s.train in wanted_names]
    result.spots += [s for s in lockfile.uv_spots(root, owners, texts) if s.train in wanted_names]
    by_name = {t.name: t for t in config.trains.values()}
    result.spots = [s for s in result.spots
                    if not (s.discovered and files.excluded(by_name[s.train], s.path))]
    return result


# --- rewriting -------------------------------------------------------------------------------

def parse_loose(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def semver(version: Version) -> str:
    """A PEP 440 version as Cargo writes it (SemVer): 1.2.0b1 -> 1.2.0-beta.1."""
    if version.post is not None or version.local or version.epoch:
        raise ReleaseError(f"{version} has no SemVer form for Cargo.toml (post, local or epoch)")
    text = ".".join(str(n) for n in (list(version.release) + [0, 0])[:3])
    tags = []
    if version.pre is not None:
        tags.append(f"{PRE_NAMES[version.pre[0]]}.{version.pre[1]}")
    if version.dev is not None:
        tags.append(f"dev.{version.dev}")
    return text + ("-" + ".".join(tags) if tags else "")


def written_at(spot: Spot, new: Written) -> str:
    """The new version as this spot writes it."""
    new_text, new_version = new.text, new.version
    if spot.template:
        release = (list(new_version.release) + [0, 0])[:3]
        return spot.template.format(version=new_text, major=release[0], minor=release[1],
                                    micro=release[2])
    if spot.form == "normal":
        return str(new_version)
    if spot.form == "semver":
        return semver(new_version)
    return new_text


def new_requirement(spot: Spot, old: Written, new: Written) -> str:
    """The requirement with every clause naming `old` moved to `new`, operator and spacing
    kept, written in the clause's own style (`~= 1.4.0.dev` -> `~= 1.5.0.dev`). A clause
    names `old` when it is the same version with as many release numbers: `>=1.0` is a floor
    someone chose, not the current 1.0.0, and stays. A clause spelled as the train spells its
    version gets the train's new spelling."""
    def swap(m: re.Match[str]) -> str:
        moving = m["op"] in MOVING_OPERATORS and "*" not in m["version"]
        value = parse_loose(m["version"])
        if moving and value == old.version and value is not None and \
                len(value.release) == len(old.version.release):
            same = m["version"] == old.text
            text = new.text if same else format_version(new.version, parse(m["version"]).style)
            return f"{m['op']}{m['ws']}{text}"
        return m.group(0)

    return _SPECIFIER.sub(swap, spot.requirement)


def _set_toml_string(doc: Any, key: tuple[str | int, ...], value: str) -> None:
    container = doc
    for part in key[:-1]:
        container = container[part]
    old = container[key[-1]]
    literal = isinstance(old, String) and old.type in (StringType.SLL, StringType.MLL)
    multiline = isinstance(old, String) and old.type in (StringType.MLB, StringType.MLL)
    container[key[-1]] = tomlkit.string(value, literal=literal, multiline=multiline)


def rewrite(text: str, spots: list[Spot], old: Written, new: Written) -> str:
    """The file's text with every given spot (all in this file) moved from old to new."""
    toml_spots = [s for s in spots if s.key]
    text_spots = [s for s in spots if not s.key]
    if toml_spots:
        doc = tomlkit.parse(text)
        for spot in toml_spots:
            value = new_requirement(spot, old, new) if spot.kind == "requirement" else \
                written_at(spot, new)
            _set_toml_string(doc, spot.key, value)
        text = tomlkit.dumps(doc)
    if text_spots:
        lines = text.split("\n")  # as spots count lines: other line breaks are not lines
        for spot in sorted(text_spots, key=lambda s: (s.line, s.span), reverse=True):
            line = lines[spot.line - 1]
            start, end = spot.span
            if not spot.template and line[start:end] != spot.written:
                raise ReleaseError(f"{spot.where}: changed while planning; run again")
            lines[spot.line - 1] = line[:start] + written_at(spot, new) + line[end:]
        text = "\n".join(lines)
    return text
