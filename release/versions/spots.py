"""A `Spot`: one place in one file where a train's version is written, and how to read files
for finding them (exact line endings, one read per file, paths kept inside the repository)."""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from release.errors import ConfigError

SpotKind = Literal["version", "requirement", "pin", "lock"]
# How a new version is written at a spot: in the style written there, PEP 440 normal form
# (lock files), or SemVer (Cargo).
Form = Literal["written", "normal", "semver"]

DUNDER = re.compile(
    r"^(?P<head>[ \t]*__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*)"
    r"(?P<q>['\"])(?P<version>[^'\"\n]*)(?P=q)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Spot:
    """One place a train's version is written."""

    train: str
    path: Path  # relative to the repository root
    line: int  # 1-based, for messages
    written: str  # the version text as it stands in the file (derived for a template)
    what: str  # for people: "[project] version of skyline",
    #            "requirement 'skyline-core==1.2.0' in project.dependencies", ...
    kind: SpotKind  # the train's own version, an internal requirement, a downstream pin,
    #                 or a lock file's record of a member
    # How to change it: a tomlkit key path for TOML strings, or a column span on the line.
    key: tuple[str | int, ...] = ()
    span: tuple[int, int] = (0, 0)
    requirement: str = ""  # for kind == "requirement": the whole requirement string
    template: str = ""  # a search with {major}/{minor}/{micro}: the span holds all of it
    form: Form = "written"
    discovered: bool = False  # found from build config (an `exclude` can leave it alone)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def read_exact(path: Path) -> str:
    """A file's text with its line endings as they are (CRLF stays CRLF when written back)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def read(root: Path, rel: Path, texts: dict[Path, str]) -> str:
    """The text of root/rel, read once per scan."""
    if rel not in texts:
        try:
            texts[rel] = read_exact(root / rel)
        except FileNotFoundError:
            raise ConfigError(f"{rel}: file not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{rel}: not UTF-8 text") from None
        except IsADirectoryError:
            raise ConfigError(f"{rel}: is a directory, not a file") from None
    return texts[rel]


def inside(root: Path, path: Path, why: str) -> Path:
    """path relative to the repository, refusing anything that resolves outside it."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError(f"{why} would be read from {path}, which is outside the repository")
    return resolved.relative_to(root)


def parse_toml(rel: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{rel}: not valid TOML: {exc}") from None


def table(value: Any) -> dict[str, Any]:
    """A TOML table, or {} for anything else: a key of the wrong type is as good as absent."""
    return value if isinstance(value, dict) else {}


def line_of(text: str, offset: int) -> int:
    """1-based line of an offset: a binary search in the text's newline offsets (computed once
    per text), so a file with many spots is scanned in linear time, not quadratic."""
    return bisect.bisect_left(_newlines(text), offset) + 1


@functools.lru_cache(maxsize=16)
def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def span_spot(train: str, rel: Path, text: str, start: int, end: int, written: str, what: str,
              kind: SpotKind = "version", **extra: Any) -> Spot:
    """A spot for text[start:end], addressed by line and column span."""
    line_start = text.rfind("\n", 0, start) + 1
    return Spot(train, rel, line_of(text, start), written, what, kind,
                span=(start - line_start, end - line_start), **extra)


def toml_key_line(text: str, table_name: str, key: str) -> int:
    """The line of `key = ...` in `[table_name]` (1 when it cannot be told)."""
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[] ")
        elif section == table_name and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return 1


def dunder_spots(train: str, rel: Path, text: str, what: str) -> list[Spot]:
    """Every `__version__ = "..."` assignment in a Python file."""
    return [span_spot(train, rel, text, m.start("version"), m.end("version"), m["version"], what,
                      discovered=True)
            for m in DUNDER.finditer(text)]
