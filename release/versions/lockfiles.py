"""Lock files (uv.lock, Cargo.lock): the `version` line of the repository's own members,
found and edited in place. Nothing is re-resolved: no network, no cache, and every other
byte of the lock stays as it is (maintainers' release commits change exactly these lines)."""

from __future__ import annotations

import re
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from release.errors import ReleaseError
from release.platforms import executable_name
from release.versions.spots import Spot, read, span_spot

LOCK = Path("uv.lock")
_KEY = re.compile(r'^(?P<key>name|version|source)\s*=\s*(?P<value>"(?P<text>[^"\n]*)"|.*)$',
                  re.MULTILINE)
_LOCAL_UV_SOURCE = re.compile(r"\b(editable|virtual|directory)\s*=")


_UV_LOCK = threading.Lock()


def uv_binary() -> str:
    """uv from this environment (a dependency), else from PATH. One thread at a time:
    install-back asks from several, and uv's finder reads sysconfig, whose first read of its
    variables is not thread-safe (another thread can see EXE as None)."""
    with _UV_LOCK:
        return _find_uv()


def _find_uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).parent / executable_name("uv")  # uv.exe on Windows
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise ReleaseError("uv is not installed (pip install uv)")
    return found


@dataclass(frozen=True)
class Member:
    """One `[[package]]` entry of a lock file."""

    name: str
    version: str
    start: int  # offset of the version text in the file
    end: int
    source: str  # the raw `source = ...` value ("" when absent)


def members(text: str) -> Iterator[Member]:
    """Every `[[package]]` entry that has a name and a version string."""
    starts = [m.start() for m in re.finditer(r"^\[\[package\]\][ \t]*\r?$", text, re.MULTILINE)]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        body = text.find("\n", start, end) + 1 or end  # after the [[package]] line
        sub = re.compile(r"^\[", re.MULTILINE).search(text, body, end)  # a sub-table ends it
        keys_end = sub.start() if sub else end
        found: dict[str, re.Match[str]] = {}
        for m in _KEY.finditer(text, start, keys_end):
            found.setdefault(m["key"], m)
        name, version = found.get("name"), found.get("version")
        if name is None or version is None or version["text"] is None:
            continue
        source = found.get("source")
        yield Member(name["text"] or "", version["text"], version.start("text"),
                     version.end("text"), source["value"] if source else "")


def uv_spots(root: Path, owners: Mapping[str, str], texts: dict[Path, str]) -> list[Spot]:
    """uv.lock's version of every workspace member that belongs to a train."""
    if not (root / LOCK).is_file():
        return []
    text = read(root, LOCK, texts)
    spots = []
    for m in members(text):
        train = owners.get(canonicalize_name(m.name))
        if train is not None and _LOCAL_UV_SOURCE.search(m.source):
            spots.append(span_spot(train, LOCK, text, m.start, m.end, m.version,
                                   f"uv.lock version of {m.name}", "lock", form="normal"))
    return spots


def cargo_spots(root: Path, lock: Path, train: str, crates: set[str],
                texts: dict[Path, str]) -> list[Spot]:
    """Cargo.lock's version of the repository's own crates (entries without a source)."""
    text = read(root, lock, texts)
    return [span_spot(train, lock, text, m.start, m.end, m.version,
                      f"Cargo.lock version of {m.name}", "lock", form="semver")
            for m in members(text) if m.name in crates and not m.source]
