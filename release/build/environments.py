"""Build environments: virtual environments holding exactly a package's build requirements.

One environment serves every package with the same `build-system.requires`. It is made with uv
from PyPI alone, seeing nothing of the user's pip/uv configuration (`build_env`), and cached in
release-train's cache directory (`default_cache_dir`), keyed by the requirements and the
interpreter; it is reused for a day, never changed in place, and removed once no run can still
be using it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from release import confine
from release.errors import BuildError
from release.platforms import venv_python
from release.proc import CommandError, run, scrubbed_env
from release.versions.lockfiles import uv_binary

BUILD_INDEX = "https://pypi.org/simple"  # build requirements come from PyPI, nowhere else
ENV_MAX_AGE = 24 * 3600  # a cached environment is rebuilt after a day, so backends stay current
ENV_MARKER = "release-train-env.json"
# Besides installers' and interpreters' settings (scrubbed_env), a backend's own overrides
# must not steer a build, nor the platform the user's shell targets.
BACKEND_PREFIXES = ("HATCH_", "SETUPTOOLS_", "DISTUTILS_")
BACKEND_NAMES = ("_PYTHON_HOST_PLATFORM", "MACOSX_DEPLOYMENT_TARGET")


@dataclass(frozen=True)
class BuildEnv:
    """A virtual environment holding exactly some build requirements."""

    path: Path
    requires: tuple[str, ...]
    pins: tuple[str, ...]  # what got installed, name==version

    @property
    def python(self) -> Path:
        return Path(venv_python(self.path))


def build_env(**extra: str) -> dict[str, str]:
    """The environment of a build: scrubbed (proc.scrubbed_env), and without what steers a
    backend (e.g. SETUPTOOLS_SCM_PRETEND_VERSION) or the platform it builds for."""
    return scrubbed_env(isolated=True, prefixes=BACKEND_PREFIXES, names=BACKEND_NAMES,
                        PYTHONDONTWRITEBYTECODE="1", **extra)


def default_cache_dir() -> Path:
    """$RELEASE_TRAIN_CACHE_DIR, else the XDG cache: reused by every run on this machine."""
    chosen = os.environ.get("RELEASE_TRAIN_CACHE_DIR")
    if chosen:
        return confine.allow(Path(chosen))
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return confine.allow(Path(base) / "release-train")


def _env_key(requires: Sequence[str]) -> str:
    """Same requirements on the same interpreter: same environment."""
    normal = sorted({str(Requirement(r)) for r in requires})
    ident = {"requires": normal, "python": sys.version, "executable": os.path.realpath(
        sys.executable), "platform": sys.platform, "format": 2}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def _installed(env_path: Path) -> tuple[str, ...]:
    sites = list(env_path.glob("lib/python*/site-packages")) + list(
        env_path.glob("Lib/site-packages"))
    dists = importlib_metadata.distributions(path=[str(s) for s in sites])
    return tuple(sorted({f"{canonicalize_name(d.metadata['Name'])}=={d.version}"
                         for d in dists if d.metadata["Name"]}))


def _cached(envs: Path, key: str, requires: tuple[str, ...]) -> BuildEnv | None:
    """The newest complete environment for key made less than ENV_MAX_AGE ago."""
    now = time.time()
    for path in sorted(envs.glob(f"{key}-*"), reverse=True):
        try:
            info = json.loads((path / ENV_MARKER).read_text(encoding="utf-8"))
            env = BuildEnv(path, requires, tuple(info["pins"]))
            if now - float(info["created"]) < ENV_MAX_AGE and env.python.exists():
                return env
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def _collect_garbage(envs: Path) -> None:
    """Remove environments (and leftovers) no run can still be using: older than two ages."""
    cutoff = time.time() - 2 * ENV_MAX_AGE
    for path in envs.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def build_environment(requires: Sequence[str], cache_dir: Path) -> BuildEnv:
    """An environment with exactly `requires` from PyPI, made with uv and no user config.

    Environments live in `cache_dir/build-envs/<key>-<created>` and are reused while younger
    than ENV_MAX_AGE, so a repeat run costs nothing. A new one is made under a temporary
    name and renamed when complete; old ones are never changed in place, only removed when no
    run can still be using them.
    """
    requires = tuple(requires)
    envs = cache_dir / "build-envs"
    key = _env_key(requires)
    found = _cached(envs, key, requires)
    if found is not None:
        return found
    envs.mkdir(parents=True, exist_ok=True)
    _collect_garbage(envs)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=envs))
    made = BuildEnv(tmp / "env", requires, ())
    uv, env_vars = uv_binary(), build_env()
    try:
        run([uv, "venv", "--no-config", "--quiet", "--relocatable", "--python", sys.executable,
             str(made.path)], env=env_vars, timeout=300)
        if requires:
            run([uv, "pip", "install", "--no-config", "--quiet", "--compile-bytecode",
                 "--python", str(made.python), "--index-url", BUILD_INDEX, "--", *requires],
                env=env_vars, timeout=900)
        pins = _installed(made.path)
        created = time.time()
        (made.path / ENV_MARKER).write_text(json.dumps(
            {"requires": list(requires), "pins": list(pins), "created": created,
             "python": sys.version, "executable": sys.executable}), encoding="utf-8")
        final = envs / f"{key}-{int(created * 1000)}"
        made.path.rename(final)
    except CommandError as exc:
        raise BuildError(f"could not install build requirements {', '.join(requires)} "
                         f"from {BUILD_INDEX}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildEnv(final, requires, pins)
