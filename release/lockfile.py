"""uv.lock: kept in step with the versions of the repository's own packages."""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

from packaging.utils import canonicalize_name

from .errors import ConfigError, ReleaseError
from .proc import run

LOCK = Path("uv.lock")


def uv_binary() -> str:
    """uv from this environment (a dependency), else from PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise ReleaseError("uv is not installed (pip install uv); it is needed for uv.lock")
    return found


def has_lock(root: Path) -> bool:
    return (root / LOCK).is_file()


def local_versions(root: Path) -> dict[str, str]:
    """Versions uv.lock records for packages that live in the repository (not from an index)."""
    try:
        data = tomllib.loads((root / LOCK).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"uv.lock: not valid TOML: {exc}") from None
    found: dict[str, str] = {}
    for pkg in data.get("package", []):
        source = pkg.get("source", {})
        if any(k in source for k in ("editable", "virtual", "directory")) and "version" in pkg:
            found[canonicalize_name(pkg["name"])] = str(pkg["version"])
    return found


def relock(root: Path) -> None:
    """Run `uv lock` so the lock file records the new versions (offline: nothing else moves)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    run([uv_binary(), "lock", "--offline", "--no-config"], cwd=root, env=env, timeout=300)
