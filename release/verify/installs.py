"""Install the release back from an index, prove the files are ours, and smoke-test them.

Isolation: uv runs with `--no-config` and only a configuration file we write (the indexes, in
order: index_config), a cache of its own and a scrubbed environment, so the user's pip/uv
configuration (extra indexes, find-links) cannot supply a file. Priority: the target index is
uv's first index and the fallback only the default, and uv's first-index strategy never looks
further for a name the target has. Proof: every file the wheel's RECORD
lists is hashed on disk after install and compared with the RECORD of the wheel we built, so a
file from another index, a locally built sdist or a tampered upload cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PathDistribution
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from release.platforms import (
    failure_reason,
    host_platform,
    record_path_parts,
    script_name,
    venv_python,
)
from release.proc import CommandError, run
from release.verify.interpreters import Interpreter
from release.verify.uvconfig import clean_env, index_env, refresh_args, uv_indexes
from release.versions.lockfiles import uv_binary

# Files an installer writes into .dist-info itself: not part of what we built.
INSTALLER_FILES = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD", "uv_cache.json",
                   "uv_build.json"}


@dataclass(frozen=True)
class Wheel:
    """A wheel we built: what install-back must find installed, file for file."""

    path: Path
    name: str  # canonical
    version: str
    record: dict[str, str]  # path inside the wheel -> "sha256=<urlsafe b64>"
    top_level: tuple[str, ...]  # importable top-level modules
    scripts: tuple[str, ...]  # console scripts
    requires: tuple[str, ...] = ()  # Requires-Dist of its METADATA

    @classmethod
    def read(cls, path: Path) -> Wheel:
        """Its RECORD, Requires-Dist and console scripts, as importlib.metadata reads them
        from the archive itself (nothing unpacked, nothing installed)."""
        name, version, _, _ = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as archive:
            info = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
            dist = PathDistribution(zipfile.Path(archive, info.removesuffix("RECORD")))
            record = {str(f): f"{f.hash.mode}={f.hash.value}" for f in dist.files or ()
                      if f.hash is not None}
            requires = dist.requires or []
            scripts = [ep.name for ep in dist.entry_points.select(group="console_scripts")]
        top = sorted({n.split("/", 1)[0].removesuffix(".py") for n in record
                      if "/" in n and n.split("/", 1)[0].isidentifier()
                      or n.endswith(".py") and "/" not in n})
        return cls(path, canonicalize_name(name), str(version), record, tuple(top),
                   tuple(scripts), tuple(str(r) for r in requires))


@dataclass
class PythonResult:
    """What install-back saw on one interpreter."""

    python: str
    interpreter: str
    ok: bool
    seconds: float
    version: str = ""  # the interpreter's exact version, e.g. 3.12.1
    packages: dict[str, str] = field(default_factory=dict)  # name -> "ok" or the failure
    error: str = ""
    environment: str = ""  # the environment's python, kept until the caller's workdir goes
    platform: str = ""  # the configured platform name of the machine it ran on
    reason: str = ""  # one line: the requirement that could not be met, or what failed


@contextmanager
def fresh_environment(python: Interpreter, workdir: Path) -> Iterator[Path]:
    """A new virtual environment for one interpreter; yields its python."""
    env_dir = Path(tempfile.mkdtemp(prefix=f"py{python.wanted}-", dir=workdir))
    run([uv_binary(), "venv", "--no-config", "--quiet", "--python", str(python.path),
         str(env_dir)], env=clean_env(), timeout=120)
    yield Path(venv_python(env_dir))


def _b64_sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_PROBE = """
import json, sys, sysconfig, importlib, importlib.metadata as md
out = {"purelib": sysconfig.get_paths()["purelib"], "scripts": sysconfig.get_paths()["scripts"],
       "dists": {}, "imports": {}}
for name in sys.argv[1:]:
    try:
        dist = md.distribution(name)
        out["dists"][name] = {"version": dist.version, "requires": dist.requires or []}
    except md.PackageNotFoundError:
        out["dists"][name] = None
print(json.dumps(out))
"""

_IMPORT = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def prove_installed(python: Path, wheels: Sequence[Wheel]) -> dict[str, str]:
    """For each wheel: "ok", or why the installed files are not the ones we built."""
    probe = json.loads(run([str(python), "-c", _PROBE, *[w.name for w in wheels]],
                           env=clean_env()).stdout)
    purelib = Path(probe["purelib"])
    result: dict[str, str] = {}
    for wheel in wheels:
        dist = probe["dists"].get(wheel.name)
        if dist is None:
            result[wheel.name] = "not installed"
            continue
        if dist["version"] != wheel.version:
            result[wheel.name] = f"installed {dist['version']}, expected {wheel.version}"
            continue
        wrong = []
        for rel, digest in wheel.record.items():
            parts = record_path_parts(rel)
            if parts[-1] in INSTALLER_FILES and parts[0].endswith(".dist-info"):
                continue
            if ".data/scripts/" in rel:
                continue  # scripts are rewritten on install (shebang)
            on_disk = purelib.joinpath(*parts)
            if not on_disk.is_file() or _b64_sha256(on_disk) != digest:
                wrong.append(rel)
        result[wheel.name] = "ok" if not wrong else \
            f"{len(wrong)} installed file(s) differ from the built wheel, e.g. {wrong[0]}"
    return result


def _imports(python: Path, wheels: Sequence[Wheel]) -> dict[str, str]:
    """Import every top-level module: all in one process, per wheel only to say which broke."""
    modules = [m for w in wheels for m in w.top_level]
    if run([str(python), "-c", _IMPORT, *modules], env=clean_env(), check=False,
           timeout=120).returncode == 0:
        return {w.name: "ok" for w in wheels}
    result = {}
    for wheel in wheels:
        proc = run([str(python), "-c", _IMPORT, *wheel.top_level], env=clean_env(),
                   check=False, timeout=120)
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        result[wheel.name] = "ok" if proc.returncode == 0 else f"import failed: {tail}"
    return result


_SCRIPTS = """
import contextlib, importlib.metadata as md, io, json, os, sys
wanted = set(sys.argv[1:])
bindir = os.path.dirname(sys.executable)
suffix = ".exe" if os.name == "nt" else ""  # installers write name.exe launchers on Windows
failures = {}
seen = set()
for ep in md.entry_points(group="console_scripts"):
    if ep.name not in wanted or ep.name in seen:
        continue
    seen.add(ep.name)
    if not os.access(os.path.join(bindir, ep.name + suffix), os.X_OK):
        failures[ep.name] = "no executable wrapper installed"
        continue
    sys.argv = [ep.name, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = ep.load()()
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:
        code = f"{type(exc).__name__}: {exc}"
    if code not in (0, None):
        failures[ep.name] = f"--help gave {code}: {out.getvalue().strip()[-200:]}"
for name in wanted - seen:
    failures[name] = "no such console script installed"
print(json.dumps(failures))
"""


def smoke(python: Path, wheels: Sequence[Wheel], commands: Sequence[Sequence[str]] = ()
          ) -> dict[str, str]:
    """Import every top-level module; run each console script once with --help: the first
    for real, through its wrapper as its own process, the others' entry points in one
    interpreter of the environment (each wrapper must exist); then any configured smoke
    commands. Each script runs once: a second start of the same program (its imports, on
    a fresh environment compiling them) proved nothing the first had not."""
    result = _imports(python, wheels)
    scripts = [s for w in wheels for s in w.scripts]
    jobs: list[tuple[str, list[str]]] = []
    if scripts:
        first, others = scripts[0], scripts[1:]
        failures = json.loads(run([str(python), "-c", _SCRIPTS, *others], env=clean_env(),
                                  timeout=300).stdout) if others else {}
        for wheel in wheels:
            broken = [f"{s}: {failures[s]}" for s in wheel.scripts if s in failures]
            if broken:
                result[wheel.name] = f"smoke failed: {broken[0]}"
        owner = next(w.name for w in wheels if first in w.scripts)
        wrapper = python.parent / script_name(first)
        if os.access(wrapper, os.X_OK):
            jobs.append((owner, [str(wrapper), "--help"]))
        else:
            result[owner] = f"smoke failed: {first}: no executable wrapper installed"
    for command in commands:
        local = python.parent / script_name(command[0])
        head = str(local) if local.exists() else command[0]
        jobs.append((" ".join(command), [head, *command[1:]]))
    for name, argv in jobs:
        try:
            run(argv, env=clean_env(), timeout=120)
        except CommandError as exc:
            result[name or argv[0]] = f"smoke failed: {exc}"
    return result


def install_back(python: Interpreter, wheels: Sequence[Wheel], indexes: Sequence[str],
                 workdir: Path, *, no_deps: bool = False,
                 cache_dir: Path | None = None,
                 smoke_commands: Sequence[Sequence[str]] = (),
                 find_links: Sequence[str] = (),
                 platforms: Sequence[str] = ()) -> PythonResult:
    """Install name==version of every wheel from indexes[0] (the target; later indexes only
    for what it lacks) on `python`, prove the files are the built ones, then smoke-test."""
    started = time.monotonic()
    result = PythonResult(python.wanted, str(python.path), ok=False, seconds=0.0,
                          version=python.version, platform=host_platform(platforms))
    cache = cache_dir or workdir / "uv-cache"
    try:
        with fresh_environment(python, workdir) as env_python:
            sources = uv_indexes(indexes[:1]) if no_deps else uv_indexes(indexes, find_links)
            with sources as where:
                argv = [uv_binary(), "pip", "install", "--no-config", *where, "--quiet",
                        "--python", str(env_python), "--cache-dir", str(cache),
                        *refresh_args(w.name for w in wheels), "--only-binary",
                        ":all:" if no_deps else ",".join(w.name for w in wheels)]
                if no_deps:
                    argv.append("--no-deps")
                argv += [f"{w.name}=={w.version}" for w in wheels]
                run(argv, env=index_env(), timeout=600, credentials=True)
            result.environment = str(env_python)
            result.packages = prove_installed(env_python, wheels)
            if not no_deps and all(v == "ok" for v in result.packages.values()):
                for name, outcome in smoke(env_python, wheels, smoke_commands).items():
                    if outcome != "ok" or name not in result.packages:
                        result.packages[name] = outcome
            result.ok = all(v == "ok" for v in result.packages.values())
            if not result.ok:
                bad = [f"{k}: {v}" for k, v in result.packages.items() if v != "ok"]
                result.error = result.reason = bad[0]
    except CommandError as exc:
        result.error = install_failure(exc, [f"{w.name}=={w.version}" for w in wheels])
        result.reason = failure_reason(exc.output)
    result.seconds = time.monotonic() - started
    return result


def install_failure(exc: CommandError, wanted: Sequence[str]) -> str:
    """One line naming the requirement uv could not install and why, not uv's command line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", exc.output)
    lines = [ln.strip(" \t╰─▶×│|:") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    reason = next((ln for ln in lines if ln.startswith("Because")), None) or \
        next((ln for ln in lines if "not found" in ln or "No solution" in ln), None) or \
        (lines[-1] if lines else f"uv exited {exc.returncode}")
    lowered = text.lower()
    named = [req for req in wanted if req.split("==")[0].lower() in lowered]
    which = named[0] if named else ", ".join(wanted)
    return f"installing {which} failed: {reason}"


@dataclass(frozen=True)
class PlatformResult:
    platform: str
    python: str
    ok: bool
    detail: str  # resolved pins, or why not


def resolve_for_platform(platform: str, python_version: str, requirements: Sequence[str],
                         indexes: Sequence[str], cache_dir: Path,
                         find_links: Sequence[str] = (),
                         interpreter: Path | None = None) -> PlatformResult:
    """Resolve (never install) the release for a foreign platform and Python. `interpreter`:
    one uv may use as it is (else uv looks through PATH for one, a second or more through
    pyenv's shims)."""
    ok, detail = _compile(["--python-platform", platform, "--python-version", python_version],
                          requirements, indexes, cache_dir, find_links, interpreter)
    return PlatformResult(platform, python_version, ok, detail)


def resolve_universal(python_version: str, requirements: Sequence[str],
                      indexes: Sequence[str], cache_dir: Path, find_links: Sequence[str] = (),
                      interpreter: Path | None = None) -> tuple[bool, str]:
    """One resolution for every platform and every Python from `python_version` on (uv's
    universal mode forks on markers and needs a solution in each fork): when it succeeds,
    each platform x Python resolves, and one run of uv asked the indexes instead of one per
    pair. When it fails, only the pairs say which one cannot (the caller resolves them)."""
    return _compile(["--universal", "--python-version", python_version], requirements, indexes,
                    cache_dir, find_links, interpreter)


def _compile(target: Sequence[str], requirements: Sequence[str], indexes: Sequence[str],
             cache_dir: Path, find_links: Sequence[str], interpreter: Path | None
             ) -> tuple[bool, str]:
    where = ["--python", str(interpreter)] if interpreter is not None else []
    with uv_indexes(indexes, find_links) as sources:
        argv = [uv_binary(), "pip", "compile", "-", "--no-config", *sources, "--quiet",
                "--no-header", *where, "--no-annotate", *target, "--cache-dir", str(cache_dir),
                *refresh_args(r.split("==")[0] for r in requirements)]
        proc = run(argv, env=index_env(), check=False, input="\n".join(requirements) + "\n",
                   timeout=300, credentials=True)
    if proc.returncode == 0:
        pins = [line.strip() for line in proc.stdout.splitlines()
                if line.strip() and not line.startswith("#")]
        return True, f"{len(pins)} packages resolved"
    return False, (failure_reason(proc.stderr) if proc.stderr.strip()
                   else f"uv exited {proc.returncode}")
