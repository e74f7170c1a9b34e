"""Runs inside a build environment: PEP 517 hooks for many packages in one interpreter.

Executed as a script with the build environment's python (stdlib only, nothing from
release-train is importable there). Importing a build backend is most of the cost of a small
build, so the backends are imported once and every package is then built in a forked child:
the import is paid once, yet no package sees another's state (setuptools keeps globals,
sys.modules caches a project's own modules). Where fork does not exist, packages are built
one after another in this process; the parent then gives each runner a single package.

Usage: python _runner.py JOB.json. The job names the packages; each package's result is
written, when it is done, to its own JSON file so that the parent can show progress.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

# Modules the backends import lazily while building; importing them before forking saves
# each child the work. Missing ones are skipped: this only warms, it never decides.
WARM = {
    "setuptools": [
        "setuptools.command.sdist", "setuptools.command.egg_info", "setuptools.command.build_py",
        "setuptools.command.bdist_wheel", "setuptools.command.install_lib",
        "setuptools.command.install_scripts", "setuptools.command.install_egg_info",
        "setuptools.command.build", "setuptools.command.install", "setuptools.config.pyprojecttoml",
        "setuptools.config._validate_pyproject",
        "setuptools.config._apply_pyprojecttoml", "setuptools.discovery", "setuptools.dist",
        "setuptools.wheel", "zipfile", "email.generator", "email.policy",
    ],
    "hatchling": [
        "hatchling.builders.sdist", "hatchling.builders.wheel", "hatchling.builders.plugin.hooks",
        "hatchling.metadata.core", "hatchling.metadata.plugin.hooks",
        "hatchling.version.source.plugin.hooks", "hatchling.version.scheme.plugin.hooks",
        "hatchling.builders.hooks.plugin.hooks", "hatchling.plugin.manager",
        "hatchling.licenses.supported", "hatchling.utils.context", "pathspec",
        "trove_classifiers", "packaging.requirements", "packaging.specifiers", "zipfile",
        "tarfile", "gzip",
    ],
}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def load_backend(spec: str, backend_path: list[str] | None = None) -> Any:
    """The object a `build-backend` string names ("pkg.mod:obj.attr")."""
    if backend_path:
        sys.path[:0] = backend_path
    module_name, _, attrs = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in filter(None, attrs.split(".")):
        obj = getattr(obj, attr)
    return obj


def warm(spec: str) -> None:
    for name in WARM.get(spec.split(".", 1)[0].split(":", 1)[0], []):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - warming is best effort
            pass


def unmet(requires: list[str], satisfied: list[str]) -> list[str]:
    """The requirements this environment does not satisfy (the parent installs them).

    `satisfied` are requirements the parent installed on an earlier request: trusted.
    """
    from importlib import metadata

    missing = []
    requires = [r for r in requires if r not in satisfied]
    try:
        from packaging.requirements import Requirement
    except ImportError:
        Requirement = None  # type: ignore[assignment,misc]  # noqa: N806
    for text in requires:
        if Requirement is not None:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            try:
                have = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                missing.append(text)
                continue
            if not req.specifier.contains(have, prereleases=True):
                missing.append(text)
        else:  # no packaging here: be conservative, anything with a version bound is unmet
            match = _NAME.match(text)
            name = match.group(1) if match else text
            try:
                metadata.version(name)
            except metadata.PackageNotFoundError:
                missing.append(text)
                continue
            if any(op in text for op in "<>=!~;["):
                missing.append(text)
    return missing


def unpack(sdist: Path, into: Path) -> Path:
    """Extract an sdist safely and return its single top-level directory."""
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # pragma: no cover - Pythons before 3.8.17/3.11.4
            for member in tar.getmembers():
                target = (into / member.name).resolve()
                if not target.is_relative_to(into.resolve()) or member.issym() or member.islnk():
                    raise ValueError(f"{sdist.name}: unsafe member {member.name!r}")
            tar.extractall(into)
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise ValueError(f"{sdist.name}: expected one top-level directory, found {len(tops)}")
    return tops[0]


def build_one(pkg: dict[str, Any]) -> dict[str, Any]:
    """sdist from the source tree, then the wheel from the unpacked sdist."""
    backend = load_backend(pkg["backend"], pkg.get("backend_path"))
    result: dict[str, Any] = {"name": pkg["name"]}
    source, work = Path(pkg["source"]), Path(pkg["work"])
    sdist_dir, wheel_dir = Path(pkg["sdist_dir"]), Path(pkg["wheel_dir"])
    for d in (work, sdist_dir, wheel_dir):
        d.mkdir(parents=True, exist_ok=True)

    def requires(hook: str) -> list[str]:
        found = list(getattr(backend, hook, lambda _cs=None: [])({}))
        return unmet(found, list(pkg.get("satisfied", ())))

    start = time.perf_counter()
    os.chdir(source)
    needs = requires("get_requires_for_build_sdist")
    if needs:
        return {**result, "needs": needs, "stage": "sdist"}
    sdist = backend.build_sdist(str(sdist_dir), {})
    result["sdist"] = sdist
    result["sdist_seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    tree = unpack(sdist_dir / sdist, work / "sdist")
    os.chdir(tree)
    if backend_path := pkg.get("backend_path"):
        # An in-tree backend ships in the sdist: build the wheel with that copy of it, as a
        # fresh process in the unpacked sdist would.
        for name, module in list(sys.modules.items()):
            where = getattr(module, "__file__", None) or ""
            if any(where.startswith(p) for p in backend_path):
                del sys.modules[name]
        sys.path[:] = [p for p in sys.path if p not in backend_path]
        backend = load_backend(pkg["backend"],
                               [str(tree / Path(p).relative_to(source)) for p in backend_path])
    needs = requires("get_requires_for_build_wheel")
    if needs:
        return {**result, "needs": needs, "stage": "wheel"}
    result["wheel"] = backend.build_wheel(str(wheel_dir), {})
    result["wheel_seconds"] = time.perf_counter() - start
    return result


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Whole or not at all: the parent polls for the file while we run. Not confine's
    write_atomic: this script runs in a build environment where release-train cannot be
    imported (stdlib only), and writes only into the parent's private scratch directory."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def child(pkg: dict[str, Any]) -> int:
    """Build one package with its output in its own log; the result says what happened."""
    log = os.open(pkg["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        result = build_one(pkg)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, whatever it is
        traceback.print_exc()
        text = str(exc).strip().splitlines()
        result = {"name": pkg["name"],
                  "error": f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")}
    sys.stdout.flush()
    sys.stderr.flush()
    write_json(Path(pkg["result"]), result)
    return 0


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    packages: list[dict[str, Any]] = job["packages"]
    parallel = max(1, int(job.get("jobs", 1)))
    for spec in dict.fromkeys(p["backend"] for p in packages if not p.get("backend_path")):
        try:
            load_backend(spec)
            warm(spec)
        except Exception:  # noqa: BLE001 - the child reports the import error properly
            pass
    if not hasattr(os, "fork"):
        for pkg in packages:
            child(pkg)
        return 0
    running = 0
    for pkg in packages:
        if running >= parallel:
            os.wait()
            running -= 1
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = child(pkg)
            finally:
                os._exit(code)
        running += 1
    while running:
        os.wait()
        running -= 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
