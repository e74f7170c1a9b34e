"""Typed access to the tables of a release configuration: each value checked for its type,
each path for staying inside the repository, each search for its placeholders; every complaint
one line naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from release.config.model import PARTS_PLACEHOLDERS, Argv, Gates, is_glob
from release.errors import ConfigError


class Table:
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


def inside(root: Path, rel: str, reader: Table, key: str) -> Path:
    """Resolve a configured path, refusing anything outside the repository (symlinks too)."""
    candidate = Path(rel)
    if candidate.is_absolute():
        reader.fail(f"[{reader.where}] {key}: {rel!r} must be relative to the repository")
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        reader.fail(f"[{reader.where}] {key}: {rel!r} is outside the repository")
    return candidate


def occurrence(root: Path, file: Path, where: str, raw: Any,
                extra: frozenset[str] = frozenset(), must_exist: bool = True) -> Any:
    r = Table(file, where, raw, {"path", "search"} | extra)
    path_text = r.get("path", str, None)
    search = r.get("search", str, None)
    if path_text is None or search is None:
        r.fail(f"[{where}] needs both path and search")
    _check_search(r, search, allow_parts="train" not in extra)
    path = inside(root, path_text, r, "path")
    if must_exist and not is_glob(path_text) and not (root / path).is_file():
        r.fail(f"[{where}] path {path_text!r} does not exist")
    return r, path, search


def _check_search(r: Table, search: str, allow_parts: bool) -> None:
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


GATE_KEYS = {"checks", "before-build", "confirm"}


def gates(r: Table) -> Gates:
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
