"""Where versions are written: discovered from each package's build config, plus config.

`scan` finds every place (a `Spot`) that carries a train's version: pyproject `version`,
hatch/setuptools version files, `__version__` assignments, `VERSION` files, internal pins in
other packages' dependencies, text occurrences, downstream pins. `rewrite` changes them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from tomlkit.items import String, StringType

from .config import Config, Occurrence, Package, Train
from .errors import ConfigError, ReleaseError

# A version as it appears in running text (no local part, so "1.2.0+" is not swallowed).
VERSION_TEXT = (
    r"[vV]?[0-9]+(?:\.[0-9]+)*"
    r"(?:[-_.]?(?:alpha|a|beta|b|preview|pre|c|rc)[-_.]?[0-9]*)?"
    r"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?"
    r"(?:[-_.]?dev[-_.]?[0-9]*)?"
)
_DUNDER = re.compile(
    r"^(?P<head>[ \t]*__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*)"
    r"(?P<q>['\"])(?P<version>[^'\"\n]*)(?P=q)",
    re.MULTILINE,
)
_SPECIFIER = re.compile(r"(?P<op>===|==|~=|!=|>=|<=|>|<)(?P<ws>\s*)(?P<version>[^\s,;]+)")
VERSION_FILE_NAMES = ("__init__.py", "version.py", "_version.py", "__about__.py")


@dataclass(frozen=True)
class Spot:
    """One place a train's version is written."""

    train: str
    path: Path  # relative to the repository root
    line: int  # 1-based, for messages
    written: str  # the version text as it stands in the file
    what: str  # for people: "[project] version of skyline", "pin in dependencies", ...
    kind: str  # "version" (the train's own), "requirement" (internal pin), "pin" (downstream)
    # How to change it: a tomlkit key path for TOML strings, or a column span on the line.
    key: tuple[str | int, ...] = ()
    span: tuple[int, int] = (0, 0)
    requirement: str = ""  # for kind == "requirement": the whole requirement string

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Scan:
    """Every spot in the repository, and the texts read to find them (reused by edits)."""

    config: Config
    spots: list[Spot] = field(default_factory=list)
    texts: dict[Path, str] = field(default_factory=dict)

    def for_train(self, train: str,
                  kinds: Iterable[str] = ("version", "requirement")) -> list[Spot]:
        wanted = set(kinds)
        return [s for s in self.spots if s.train == train and s.kind in wanted]


def _read_exact(path: Path) -> str:
    """A file's text with its line endings as they are (CRLF stays CRLF when written back)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _read(root: Path, rel: Path, texts: dict[Path, str]) -> str:
    if rel not in texts:
        try:
            texts[rel] = _read_exact(root / rel)
        except FileNotFoundError:
            raise ConfigError(f"{rel}: file not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{rel}: not UTF-8 text") from None
    return texts[rel]


def _toml(rel: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{rel}: not valid TOML: {exc}") from None


def _table(value: Any) -> dict[str, Any]:
    """A TOML table, or {} for anything else: a key of the wrong type is as good as absent."""
    return value if isinstance(value, dict) else {}


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _project_version_line(text: str) -> int:
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[] ")
        elif section == "project" and re.match(r"version\s*=", stripped):
            return number
    return 1


def _text_spots(train: str, rel: Path, text: str, occ: Occurrence, what: str,
                kind: str) -> list[Spot]:
    pattern = re.compile(re.escape(occ.before) + f"(?P<version>{VERSION_TEXT})"
                         + re.escape(occ.after))
    spots = []
    for m in pattern.finditer(text):
        line = _line_of(text, m.start("version"))
        line_start = text.rfind("\n", 0, m.start("version")) + 1
        spots.append(Spot(train, rel, line, m["version"], what, kind,
                          span=(m.start("version") - line_start, m.end("version") - line_start)))
    if not spots:
        raise ConfigError(f"{rel}: configured text {occ.search!r} not found (the file changed? "
                          "update the occurrence in the release config)")
    return spots


def _dunder_spots(train: str, rel: Path, text: str, what: str) -> list[Spot]:
    spots = []
    for m in _DUNDER.finditer(text):
        line_start = text.rfind("\n", 0, m.start("version")) + 1
        spots.append(Spot(train, rel, _line_of(text, m.start("version")), m["version"], what,
                          "version",
                          span=(m.start("version") - line_start, m.end("version") - line_start)))
    return spots


def _module_file(pkg_dir: Path, attr: str, package_dir: Mapping[str, str]) -> Path | None:
    """Find the file a setuptools `attr:` points into (`pkg.mod.__version__`)."""
    module = attr.rsplit(".", 1)[0]
    parts = module.split(".")
    bases = [pkg_dir / package_dir[""]] if "" in package_dir else []
    bases += [pkg_dir / "src", pkg_dir]
    for base in bases:
        as_package = base.joinpath(*parts) / "__init__.py"
        as_module = base.joinpath(*parts[:-1]) / f"{parts[-1]}.py"
        for candidate in (as_package, as_module):
            if candidate.is_file():
                return candidate
    return None


def _import_package_dirs(pkg_dir: Path) -> list[Path]:
    found = []
    for base in (pkg_dir / "src", pkg_dir):
        if base.is_dir():
            for child in sorted(base.iterdir()):
                if (child / "__init__.py").is_file() and child.name not in ("tests", "test"):
                    found.append(child)
    return found


def _package_spots(root: Path, train: Train, pkg: Package, texts: dict[Path, str]) -> list[Spot]:
    """The train's own version in one package: build config first, then companion files."""
    pyproject_rel = pkg.path / "pyproject.toml"
    text = _read(root, pyproject_rel, texts)
    data = _toml(pyproject_rel, text)
    project = _table(data.get("project"))
    pkg_dir = root / pkg.path
    spots: list[Spot] = []
    primary: Path | None = None
    dynamic = project.get("dynamic", [])
    if "version" in project:
        spots.append(Spot(train.name, pyproject_rel, _project_version_line(text),
                          str(project["version"]), f"[project] version of {pkg.name}", "version",
                          key=("project", "version")))
    elif isinstance(dynamic, list) and "version" in dynamic:
        tool = _table(data.get("tool"))
        hatch_path = _table(_table(tool.get("hatch")).get("version")).get("path")
        setuptools = _table(tool.get("setuptools"))
        st_version = _table(setuptools.get("dynamic")).get("version", {})
        if isinstance(hatch_path, str):
            primary = pkg_dir / hatch_path
        elif isinstance(st_version, dict) and isinstance(st_version.get("attr"), str):
            package_dir = {k: v for k, v in _table(setuptools.get("package-dir")).items()
                           if isinstance(v, str)}
            primary = _module_file(pkg_dir, st_version["attr"], package_dir)
        elif isinstance(st_version, dict) and isinstance(st_version.get("file"), str):
            primary = pkg_dir / st_version["file"]
        if primary is None or not primary.is_file():
            raise ConfigError(f"{pyproject_rel}: dynamic version of {pkg.name} not found "
                              "(supported: static, hatch [tool.hatch.version] path, "
                              "setuptools attr/file)")
    else:
        raise ConfigError(f"{pyproject_rel}: {pkg.name} has neither a version nor a dynamic one")

    companions = [pkg_dir / "VERSION"] + [d / n for d in _import_package_dirs(pkg_dir)
                                          for n in VERSION_FILE_NAMES]
    if primary is not None:
        companions.insert(0, primary)
    seen: set[Path] = set()
    for path in companions:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if not path.resolve().is_relative_to(root):
            raise ConfigError(f"{pyproject_rel}: the version of {pkg.name} would be read from "
                              f"{path}, which is outside the repository")
        rel = path.resolve().relative_to(root)
        body = _read(root, rel, texts)
        what = f"version of {pkg.name}"
        if path.suffix == ".py":
            found = _dunder_spots(train.name, rel, body, f"__version__ {what}")
            if path == primary and not found:
                raise ConfigError(f"{rel}: no __version__ = \"...\" to carry {pkg.name}'s version")
            spots += found
        elif path.name == "VERSION" or path == primary:
            stripped = body.strip()
            start = body.index(stripped) if stripped else 0
            line_start = body.rfind("\n", 0, start) + 1
            spots.append(Spot(train.name, rel, _line_of(body, start), stripped,
                              f"VERSION file of {pkg.name}", "version",
                              span=(start - line_start, start - line_start + len(stripped))))
    return spots


def _requirement_spots(rel: Path, text: str, data: dict[str, Any],
                       owners: Mapping[str, str]) -> Iterator[Spot]:
    """Internal pins: requirements in any package that name a package of some train."""
    project = _table(data.get("project"))
    lists: list[tuple[tuple[str | int, ...], Any]] = [
        (("project", "dependencies"), project.get("dependencies", []))]
    for extra, reqs in _table(project.get("optional-dependencies")).items():
        lists.append((("project", "optional-dependencies", extra), reqs))
    for group, reqs in _table(data.get("dependency-groups")).items():
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
                yield Spot(train, rel, _line_of(text, max(at, 0)), m["version"],
                           f"pin {raw!r} in {'.'.join(map(str, key))}", "requirement",
                           key=key + (index,), requirement=raw)


def scan(config: Config, trains: Iterable[Train] | None = None) -> Scan:
    """Find every version spot of the given trains (default all) and every internal pin."""
    root = config.root
    result = Scan(config)
    wanted = list(trains) if trains is not None else list(config.trains.values())
    owners: dict[str, str] = {canonicalize_name(p.name): t.name
                              for t in config.trains.values() for p in t.packages}
    for train in wanted:
        for pkg in train.packages:
            result.spots += _package_spots(root, train, pkg, result.texts)
        if train.version_source is not None:
            occ = train.version_source
            result.spots += _text_spots(train.name, occ.path, _read(root, occ.path, result.texts),
                                        occ, f"version of {train.name}", "version")
        for occ in train.occurrences:
            result.spots += _text_spots(train.name, occ.path, _read(root, occ.path, result.texts),
                                        occ, f"text {occ.search!r}", "version")
        for pin in train.pins:
            result.spots += _text_spots(pin.train, pin.path,
                                        _read(root, pin.path, result.texts), pin.occurrence,
                                        f"downstream pin of {pin.train} in {train.name}", "pin")
    # Internal pins can live in any package of the repository, whatever its train.
    wanted_names = {t.name for t in wanted}
    for train in config.trains.values():
        for pkg in train.packages:
            rel = pkg.path / "pyproject.toml"
            text = _read(root, rel, result.texts)
            result.spots += [s for s in _requirement_spots(rel, text, _toml(rel, text), owners)
                             if s.train in wanted_names]
    return result


# --- rewriting -------------------------------------------------------------------------------

def parse_loose(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def new_requirement(spot: Spot, old: Version, new: str) -> str:
    def swap(m: re.Match[str]) -> str:
        exact = m["op"] in ("==", "===") and "*" not in m["version"]
        if exact and parse_loose(m["version"]) == old:
            return f"{m['op']}{m['ws']}{new}"
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


def rewrite(text: str, spots: list[Spot], old: Version, new: str) -> str:
    """The file's text with every given spot (all in this file) moved from old to new."""
    toml_spots = [s for s in spots if s.key]
    text_spots = [s for s in spots if not s.key]
    if toml_spots:
        doc = tomlkit.parse(text)
        for spot in toml_spots:
            value = new if spot.kind != "requirement" else new_requirement(spot, old, new)
            _set_toml_string(doc, spot.key, value)
        text = tomlkit.dumps(doc)
    if text_spots:
        lines = text.split("\n")  # as spots count lines: other line breaks are not lines
        for spot in sorted(text_spots, key=lambda s: (s.line, s.span), reverse=True):
            line = lines[spot.line - 1]
            start, end = spot.span
            if line[start:end] != spot.written:
                raise ReleaseError(f"{spot.where}: changed while planning; run again")
            lines[spot.line - 1] = line[:start] + new + line[end:]
        text = "\n".join(lines)
    return text
