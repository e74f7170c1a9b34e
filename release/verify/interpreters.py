"""Find the interpreters install-back runs on, robustly, and say clearly which one is missing.

pyenv shims answer for the global version only (`python3.12` fails unless PYENV_VERSION
lists it), and uv stops at the first broken shim it meets; so shims are skipped and each
candidate is asked for its real version before it is used.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from release.errors import InstallError
from release.platforms import interpreter_names, is_windows, pyenv_interpreter


@dataclass(frozen=True)
class Interpreter:
    wanted: str  # "3.12" as configured
    path: Path
    version: str  # "3.12.1" as it answers


def _answers(path: Path) -> str | None:
    """The interpreter's real version, or None if it is not a working Python."""
    try:
        out = subprocess.run([str(path), "-c", "import sys; print(*sys.version_info[:3], sep='.')"],
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _pyenv_versions(wanted: str) -> list[Path]:
    """pyenv's interpreters of that minor version, newest first."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))

    def key(p: Path) -> Version:
        try:
            return Version(p.name)
        except InvalidVersion:
            return Version("0")

    versions = sorted((pyenv_root / "versions").glob(f"{wanted}*"), key=key, reverse=True)
    return [Path(pyenv_interpreter(v, wanted)) for v in versions
            if re.fullmatch(re.escape(wanted) + r"(\.\d+)*", v.name)]


def _candidates(wanted: str) -> list[Path]:
    """PATH order, with a pyenv shims directory standing for pyenv's own interpreters."""
    found: list[Path] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" in Path(directory).parts:
            found += _pyenv_versions(wanted)
        elif directory:
            found += [Path(directory) / name for name in interpreter_names(wanted)]
    found += _pyenv_versions(wanted)
    if not is_windows():
        for base in ("/usr/local/bin", "/usr/bin"):
            found.append(Path(base) / f"python{wanted}")
    return found


def find(wanted: str) -> Interpreter | None:
    """The first working interpreter that really is Python `wanted` (e.g. "3.12")."""
    if not re.fullmatch(r"\d+\.\d+", wanted):
        raise InstallError(f"python {wanted!r}: give versions as MAJOR.MINOR, e.g. 3.12")
    seen: set[Path] = set()
    for path in _candidates(wanted):
        if path in seen or not path.is_file() or not os.access(path, os.X_OK):
            continue
        seen.add(path)
        version = _answers(path)
        if version and version.rsplit(".", 1)[0] == wanted:
            return Interpreter(wanted, path, version)
    return None


def find_all(required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Interpreter]:
    """Every configured interpreter; a missing required one is an error naming it."""
    found = []
    for wanted in required:
        interpreter = find(wanted)
        if interpreter is not None:
            found.append(interpreter)
        elif wanted not in optional:
            raise InstallError(
                f"Python {wanted} is configured for install-back but was not found (looked on "
                "PATH and under $PYENV_ROOT/versions); install it, or list it in "
                "optional-pythons to skip it"
            )
    return found


_BASE = "import sys; print(getattr(sys, '_base_executable', sys.executable)); " \
        "print(*sys.version_info[:3], sep='.')"


def resolved(wanted: str, path: Path) -> Interpreter:
    """The interpreter nox resolved for a session parametrized with `wanted`, given the python
    of the (reused, empty) environment nox made with it: the base interpreter behind it, so
    install-back environments are made from the real one (Windows venvs hold a launcher)."""
    try:
        out = subprocess.run([str(path), "-c", _BASE], capture_output=True, text=True,
                             timeout=30, check=False)
    except OSError as exc:
        raise InstallError(f"{path}: the interpreter nox found for Python {wanted} does not "
                           f"run ({exc.strerror or exc})") from None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) < 2:
        raise InstallError(f"{path}: the interpreter nox found for Python {wanted} does not "
                           "answer")
    base, version = Path(lines[0]), lines[1]
    if version.rsplit(".", 1)[0] != wanted:
        raise InstallError(f"{path} is Python {version}, not {wanted}")
    return Interpreter(wanted, base if base.is_file() else path, version)
