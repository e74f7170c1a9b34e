"""Platforms: which one we run on, how each names its files, and the platform report.

Pure logic (no processes, no files), so every branch is tested on Linux: the paths of a virtual
environment and its scripts on Windows (`Scripts\\python.exe`, `name.exe`) and elsewhere
(`bin/python`), which configured platform name denotes the machine we run on, the one-line
reason a resolution failed, and the table platform x Python -> installed+imported / resolved
only / failed that `nox -s verify` prints and `--json` writes.
"""

from __future__ import annotations

import os
import platform as _platform
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

INSTALLED = "installed+imported"
RESOLVED = "resolved only"
FAILED = "failed"
NOT_CHECKED = "-"


def is_windows(os_name: str = os.name) -> bool:
    return os_name == "nt"


def pure_path(text: str, os_name: str = os.name) -> PurePath:
    """A path as the given OS spells it (Windows paths are checked on Linux too)."""
    return PureWindowsPath(text) if is_windows(os_name) else PurePosixPath(text)


def scripts_dir(env_dir: PurePath, os_name: str = os.name) -> PurePath:
    """Where a virtual environment keeps its interpreter and console scripts."""
    return env_dir / ("Scripts" if is_windows(os_name) else "bin")


def venv_python(env_dir: PurePath, os_name: str = os.name) -> PurePath:
    """The interpreter of a virtual environment: Scripts\\python.exe on Windows."""
    return scripts_dir(env_dir, os_name) / ("python.exe" if is_windows(os_name) else "python")


def script_name(name: str, os_name: str = os.name) -> str:
    """A console script's file name: installers write `name.exe` launchers on Windows."""
    if is_windows(os_name) and not name.lower().endswith(".exe"):
        return f"{name}.exe"
    return name


def executable_name(name: str, os_name: str = os.name) -> str:
    """A program's file name (uv, devpi-server) beside our interpreter."""
    return script_name(name, os_name)


def interpreter_names(wanted: str, os_name: str = os.name) -> list[str]:
    """File names a Python `wanted` ("3.12") may have in a PATH directory. Windows has no
    `python3.12`: its installs and setup-python put `python.exe` there (the version is asked
    of every candidate before it is used)."""
    if is_windows(os_name):
        return [f"python{wanted}.exe", "python.exe", "python3.exe"]
    return [f"python{wanted}"]


def pyenv_interpreter(version_dir: PurePath, wanted: str, os_name: str = os.name) -> PurePath:
    """The interpreter of one pyenv version: pyenv-win keeps python.exe at its top."""
    if is_windows(os_name):
        return version_dir / "python.exe"
    return version_dir / "bin" / f"python{wanted}"


def record_path_parts(rel: str) -> tuple[str, ...]:
    """A RECORD entry's path parts: RECORD always uses "/", but be lenient about "\\"."""
    return tuple(part for part in re.split(r"[\\/]", rel) if part)


# --- which platform we are ------------------------------------------------------------------

_MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "x64": "x86_64", "arm64": "aarch64",
             "aarch64": "aarch64"}


@dataclass(frozen=True)
class Host:
    """The machine install-back runs on, as facts (so tests can state any machine)."""

    system: str  # sys.platform: linux, win32, darwin
    machine: str  # platform.machine(): x86_64, AMD64, arm64, aarch64

    @classmethod
    def current(cls) -> Host:
        return cls(sys.platform, _platform.machine())

    @property
    def arch(self) -> str:
        return _MACHINES.get(self.machine.lower(), self.machine.lower())

    @property
    def family(self) -> str:
        if self.system.startswith("win"):
            return "windows"
        if self.system == "darwin":
            return "macos"
        return "linux"


def platform_family(name: str) -> str:
    """The OS family of a uv --python-platform name."""
    lowered = name.lower()
    if "windows" in lowered:
        return "windows"
    if "macos" in lowered or "darwin" in lowered or "apple" in lowered:
        return "macos"
    return "linux" if "linux" in lowered else lowered


def _arch(name: str) -> str | None:
    """The machine a platform name pins (None: any, like `windows` or `macos`)."""
    head = name.lower().split("-", 1)[0]
    return _MACHINES.get(head) if "-" in name else None


def host_platform(configured: Iterable[str], host: Host | None = None) -> str:
    """The configured platform name that denotes this machine (its install-back counts for that
    row); else a name of our own, `linux-x86_64`, `windows-x86_64`, `macos-aarch64`."""
    host = host or Host.current()
    for name in configured:
        if platform_family(name) == host.family and _arch(name) in (None, host.arch):
            if host.family == "linux" and "musl" in name.lower():
                continue  # a glibc machine does not stand for musllinux
            return name
    return f"{host.family}-{host.arch}"


# --- why a resolution failed, in one line ---------------------------------------------------

_BOX = re.compile(r"^[\s×╰─▶│├┬┴┼┤┌┐└┘╭╮╯]+")


def failure_reason(output: str) -> str:
    """The requirement that could not be met, from uv's explanation ("Because X and you require
    Y, we can conclude ..."), not uv's last line; else the first line that says anything."""
    lines = [_BOX.sub("", line).strip() for line in output.splitlines()]
    text = " ".join(line for line in lines if line)
    match = re.search(r"Because (.+?)(?:, we can conclude|$)", text)
    if match:
        clause = match.group(1)
        reason = re.split(r" and you require | and (?=[\w.-]+(?:==|>=|<=|~=)\S* depends on)",
                          clause)[0].strip().rstrip(".")
        required = re.search(r" and you require (.+?)(?:,|$)", clause)
        if required and required.group(1) not in reason:
            reason += f" (required: {required.group(1)})"
        return _shorten(reason)
    for line in lines:
        if line and not line.lower().startswith(("no solution found", "resolved ", "using ")):
            return _shorten(line.removeprefix("error: "))
    return "no output"


def _shorten(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- the platform report --------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """What one (platform, Python) got: installed+imported, resolved only, failed, or -."""

    outcome: str
    reason: str = ""


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def platform_cells(verification: Mapping[str, Any],
                   configured: Sequence[str] = ()) -> dict[tuple[str, str], Cell]:
    """(platform, python) -> Cell, from a verification in the record: install-backs count for
    the platform they ran on, dry-run resolutions for the platform they resolved for; a
    failure wins over a pass, an install over a resolution."""
    cells: dict[tuple[str, str], Cell] = {}
    for item in verification.get("pythons", []):
        key = (str(item.get("platform") or host_platform(configured)), str(item["python"]))
        if item.get("ok"):
            if cells.get(key, Cell(NOT_CHECKED)).outcome != FAILED:
                cells[key] = Cell(INSTALLED)
        else:
            cells[key] = Cell(FAILED, str(item.get("reason") or item.get("error") or ""))
    for item in verification.get("platforms", []):
        key = (str(item["platform"]), str(item["python"]))
        now = cells.get(key, Cell(NOT_CHECKED)).outcome
        if not item.get("ok"):
            if now != FAILED:
                cells[key] = Cell(FAILED, str(item.get("reason") or item.get("detail") or ""))
        elif now == NOT_CHECKED:
            cells[key] = Cell(RESOLVED)
    return cells


def platform_table(verification: Mapping[str, Any], configured: Sequence[str] = (),
                   pythons: Sequence[str] = ()) -> list[dict[str, str]]:
    """The rows `--json` writes: one per (platform, python), in table order."""
    cells = platform_cells(verification, configured)
    platforms = list(dict.fromkeys([*configured, *(p for p, _ in cells)]))
    versions = sorted({*pythons, *(v for _, v in cells)}, key=_key)
    rows = []
    for name in platforms:
        for version in versions:
            cell = cells.get((name, version), Cell(NOT_CHECKED))
            rows.append({"platform": name, "python": version, "check": cell.outcome,
                         "reason": cell.reason})
    return rows


def render_table(title: str, rows: Sequence[Mapping[str, str]]) -> str:
    """platform x Python, one cell per check, then one line per failure with its reason."""
    platforms = list(dict.fromkeys(r["platform"] for r in rows))
    versions = list(dict.fromkeys(r["python"] for r in rows))
    by = {(r["platform"], r["python"]): r for r in rows}
    width = max([len("platform"), *map(len, platforms)]) + 2
    col = max(len(INSTALLED), len(RESOLVED)) + 2
    lines = [title, ("  " + "platform".ljust(width)
                     + "".join(v.ljust(col) for v in versions)).rstrip()]
    for name in platforms:
        lines.append(("  " + name.ljust(width) + "".join(
            by[(name, v)]["check"].ljust(col) for v in versions)).rstrip())
    for row in rows:
        if row["check"] == FAILED:
            lines.append(f"  {row['platform']} / Python {row['python']}: {row['reason']}")
    return "\n".join(lines)


# --- one verification from many runs ------------------------------------------------

def _by_check(items: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(i.get("platform", "")), str(i["python"])): dict(i) for i in items or []}


def merge_verification(old: Mapping[str, Any] | None,
                       new: Mapping[str, Any]) -> dict[str, Any]:
    """One verification of an index from several runs: one Python per nox session, one runner
    per CI job. Checks are keyed by (platform, Python), the newer one wins; a run against
    another URL or other files starts over."""
    if not old or old.get("url") != new.get("url") or old.get("files") != new.get("files"):
        return dict(new)
    pythons = {**_by_check(old.get("pythons")), **_by_check(new.get("pythons"))}
    platforms = {**_by_check(old.get("platforms")), **_by_check(new.get("platforms"))}
    problems = sorted({*old.get("pin_problems", []), *new.get("pin_problems", [])})
    merged = {**old, **new, "pythons": list(pythons.values()),
              "platforms": list(platforms.values()), "pin_problems": problems,
              "waited": old.get("waited") if old.get("waited") is not None
              else new.get("waited")}
    checks = [*pythons.values(), *platforms.values()]
    merged["ok"] = bool(checks) and all(c.get("ok") for c in checks) and not problems
    return merged


def installed_ok(verification: Mapping[str, Any], platform: str, python: str) -> bool:
    """That Python passed install-back on that platform in this verification."""
    check = _by_check(verification.get("pythons")).get((platform, python))
    return bool(check and check.get("ok"))



# --- file locking ---------------------------------------------------------------------------

def replace_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                 os_name: str = os.name, attempts: int = 20, pause: float = 0.05) -> None:
    """os.replace, which on Windows fails while another process (a virus scanner, an indexer,
    a reader of the record) holds the target open: retry briefly there, then raise."""
    import time

    tries = attempts if is_windows(os_name) else 1
    for attempt in range(tries):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == tries - 1:
                raise
            time.sleep(pause)
