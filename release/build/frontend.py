"""Build every package of a train from a clean worktree of one commit, and prove what was built.

Step 5 of a release. The sdist is built from a detached worktree of the commit (so nothing
uncommitted leaks in), the wheel from the unpacked sdist (so the sdist is known to be
complete), in build environments that see nothing of the user's pip/uv configuration.

Speed: `python -m build` spends most of its time creating one environment per package. Here
one environment serves every package with the same `build-system.requires`; it is cached
across runs (keyed by the requirements and the interpreter), and `_runner.py` runs the
PEP 517 hooks of all its packages in one interpreter, forking a child per package so the
backend is imported once yet no package sees another's state. Environments run in parallel.

What was built is recorded in `<out>/<train>-<version>/manifest.json` (name, version, file,
size, sha256, build time) and refused when a file is over the index's size limit, carries
another version than the train's, or fails `twine check --strict`.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release import config as config_module
from release import confine
from release.versions.agreement import train_version
from release.config import Config, Package, Train
from release.build.distdiff import explain, fix_for
from release.versions.edits import write_atomic
from release.errors import BuildError
from release.repo import clean_worktree, git, require_repo, rev
from release.versions.scan import scan
from release.versions.lockfiles import uv_binary
from release.platforms import venv_python
from release.proc import CommandError, run
from release.redaction import SECRET_VARIABLES, redact

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
BUILD_INDEX = "https://pypi.org/simple"  # build requirements come from PyPI, nowhere else
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)  # PEP 517 defaults for a project without [build-system]
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
ENV_MAX_AGE = 24 * 3600  # a cached environment is rebuilt after a day, so backends stay current
ENV_MARKER = "release-train-env.json"
MAX_ROUNDS = 3  # get_requires_for_build_* may ask for more; give up after this many rounds
RUNNER = Path(__file__).with_name("_runner.py")
# The user's environment must not steer a build: installers' configuration, interpreters'
# search paths, backends' overrides (e.g. SETUPTOOLS_SCM_PRETEND_VERSION).
SCRUB_PREFIXES = ("PIP_", "UV_", "HATCH_", "SETUPTOOLS_", "DISTUTILS_", "PYTHON", "CONDA_")
SCRUB_NAMES = ("VIRTUAL_ENV", "__PYVENV_LAUNCHER__", "_PYTHON_HOST_PLATFORM",
               "MACOSX_DEPLOYMENT_TARGET")

Progress = Callable[[str], None]


# --- what was built ------------------------------------------------------------------------

@dataclass(frozen=True)
class Artifact:
    """One built file, as recorded in the manifest."""

    package: str  # distribution name as configured
    version: str  # the version the file's own metadata carries
    filename: str
    kind: str  # "sdist" or "wheel"
    size: int
    sha256: str
    seconds: float  # time the backend took to build this file
    backend: str = ""
    build_requires: tuple[str, ...] = ()  # what the build environment held (name==version)

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "filename": self.filename,
                "kind": self.kind, "size": self.size, "sha256": self.sha256,
                "seconds": round(self.seconds, 3), "backend": self.backend,
                "build_requires": list(self.build_requires)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        return cls(str(data["package"]), str(data["version"]), str(data["filename"]),
                   str(data["kind"]), int(data["size"]), str(data["sha256"]),
                   float(data["seconds"]), str(data.get("backend", "")),
                   tuple(str(r) for r in data.get("build_requires", ())))


@dataclass(frozen=True)
class Manifest:
    """The files of one train built from one commit: what upload and install-back trust."""

    train: str
    version: str
    commit: str
    artifacts: tuple[Artifact, ...]
    directory: Path  # where the files and manifest.json live (not stored in the file)
    source_date_epoch: int | None = None
    reproducible: bool = False  # True when a second build produced the same bytes
    python: str = ""  # the interpreter the build environments were made from

    @property
    def path(self) -> Path:
        return self.directory / MANIFEST

    def files(self) -> list[Path]:
        return [self.directory / a.filename for a in self.artifacts]

    def to_json(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, "train": self.train, "version": self.version,
                "commit": self.commit, "source_date_epoch": self.source_date_epoch,
                "reproducible": self.reproducible, "python": self.python,
                "files": [a.to_json() for a in self.artifacts]}

    def write(self) -> Path:
        """Write manifest.json beside the files (atomically: readers never see half)."""
        write_atomic(self.path, json.dumps(self.to_json(), indent=2) + "\n")
        return self.path

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        """Read a manifest.json (or the directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                raise BuildError(f"{path}: unknown manifest format {data.get('format')!r}")
            epoch = data.get("source_date_epoch")
            return cls(str(data["train"]), str(data["version"]), str(data["commit"]),
                       tuple(Artifact.from_json(a) for a in data["files"]), path.parent,
                       None if epoch is None else int(epoch), bool(data.get("reproducible")),
                       str(data.get("python", "")))
        except FileNotFoundError:
            raise BuildError(f"{path}: no build manifest (run nox -s build)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BuildError(f"{path}: not a valid build manifest ({exc})") from None

    def verify(self) -> None:
        """Refuse if any file is missing or no longer has the recorded size and sha256."""
        for artifact in self.artifacts:
            file = self.directory / artifact.filename
            if not file.is_file():
                raise BuildError(f"{file}: listed in {self.path.name} but missing")
            size, digest = file.stat().st_size, sha256_of(file)
            if (size, digest) != (artifact.size, artifact.sha256):
                raise BuildError(f"{file}: changed since it was built ("
                                 f"{mismatch('the file', digest, artifact.sha256)}); build "
                                 "again, or put the built file back")


def manifest_dir(out_dir: Path, train: str, version: str) -> Path:
    """Where a train's files go: `<out>/<train>-<version>/`."""
    return out_dir / f"{train}-{version}"


def mismatch(where: str, theirs: str, ours: str) -> str:
    """The one way a wrong file is reported: both hashes in full, whose is whose."""
    return f"hash mismatch: {where} has {theirs}, we built {ours}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- what to build ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """One package to build: where its source is and what its build needs."""

    index: int
    train: str
    version: str  # the train's version at the commit, as written
    package: Package
    source: Path
    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()


def _build_system(pyproject: Path) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """requires, build-backend and backend-path, with PEP 517's defaults."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildError(f"{pyproject}: cannot read it: {exc}") from None
    table = data.get("build-system")
    if not isinstance(table, dict):
        return DEFAULT_REQUIRES, DEFAULT_BACKEND, ()
    requires = table.get("requires", list(DEFAULT_REQUIRES))
    backend = table.get("build-backend", DEFAULT_BACKEND)
    backend_path = table.get("backend-path", [])
    if not (isinstance(requires, list) and all(isinstance(r, str) for r in requires)):
        raise BuildError(f"{pyproject}: [build-system] requires must be a list of strings")
    if not isinstance(backend, str) or not isinstance(backend_path, list):
        raise BuildError(f"{pyproject}: [build-system] build-backend/backend-path are invalid")
    for text in requires:
        try:
            Requirement(text)
        except InvalidRequirement:
            raise BuildError(f"{pyproject}: invalid build requirement {text!r}") from None
    paths = []
    for rel in backend_path:
        where = (pyproject.parent / str(rel)).resolve()
        if not where.is_relative_to(pyproject.parent.resolve()):
            raise BuildError(f"{pyproject}: backend-path {rel!r} is outside the project")
        paths.append(str(where))
    return tuple(requires), backend, tuple(paths)


def _plan(tree: Path, trains: Sequence[Train]) -> tuple[list[_Job], dict[str, str], Config]:
    """The jobs for the trains as they are at the commit checked out in `tree`."""
    tree_config = config_module.load(tree)
    wanted = []
    for train in trains:
        if train.name not in tree_config.trains:
            raise BuildError(f"train {train.name!r} does not exist at the commit being built")
        wanted.append(tree_config.trains[train.name])
    found = scan(tree_config, wanted)
    jobs: list[_Job] = []
    versions: dict[str, str] = {}
    for train in wanted:
        version = train_version(found, train).text
        versions[train.name] = version
        for pkg in train.packages:
            requires, backend, backend_path = _build_system(tree / pkg.path / "pyproject.toml")
            jobs.append(_Job(len(jobs), train.name, version, pkg, (tree / pkg.path).resolve(),
                             requires, backend, backend_path))
    return jobs, versions, tree_config


# --- build environments ------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildEnv:
    """A virtual environment holding exactly some build requirements."""

    path: Path
    requires: tuple[str, ...]
    pins: tuple[str, ...]  # what got installed, name==version

    @property
    def python(self) -> Path:
        return Path(venv_python(self.path))


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment minus everything that configures installers or builds."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(SCRUB_PREFIXES) and k not in SCRUB_NAMES
           and k not in SECRET_VARIABLES}  # a backend never needs an upload credential
    env.update({"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "PYTHONNOUSERSITE": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


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
    uv, env_vars = uv_binary(), clean_env()
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


# --- running the hooks -------------------------------------------------------------------------

@dataclass
class _Outcome:
    """What one job produced (filled from the runner's result file)."""

    job: _Job
    env: BuildEnv
    sdist: Path | None = None
    wheel: Path | None = None
    sdist_seconds: float = 0.0
    wheel_seconds: float = 0.0
    needs: tuple[str, ...] = ()
    error: str = ""
    log: Path | None = None


@dataclass
class _Run:
    """One build of a set of jobs (the first or, with --reproducible, the second)."""

    jobs: list[_Job]
    out_for: Callable[[_Job], Path]
    work: Path
    cache_dir: Path
    epoch: int
    parallel: int
    progress: Progress
    logs: Path  # where the log of a failed build is kept
    label: str = ""
    outcomes: dict[int, _Outcome] = field(default_factory=dict)


def _runner_job(run_: _Run, jobs: Sequence[_Job], tag: str,
                extra: Mapping[int, tuple[str, ...]]) -> Path:
    packages = []
    for job in jobs:
        out = run_.out_for(job)
        base = run_.work / f"{tag}-{job.index}"
        packages.append({
            "name": job.package.name, "source": str(job.source), "backend": job.backend,
            "backend_path": list(job.backend_path) or None, "sdist_dir": str(out),
            "wheel_dir": str(out), "work": str(base), "log": f"{base}.log",
            "result": f"{base}.result.json", "satisfied": list(extra.get(job.index, ()))})
    job_file = run_.work / f"{tag}.job.json"
    job_file.write_text(json.dumps({"packages": packages, "jobs": run_.parallel}),
                        encoding="utf-8")
    return job_file


def _run_runner(run_: _Run, env: BuildEnv, jobs: Sequence[_Job], tag: str,
                extra: Mapping[int, tuple[str, ...]]) -> None:
    """One interpreter of `env` runs the hooks of all `jobs` (results land in files)."""
    job_file = _runner_job(run_, jobs, tag, extra)
    # The environment's scripts come first on PATH, as under pypa/build: backends such as
    # maturin run a tool their requirements installed there.
    path = os.pathsep.join([str(env.python.parent), os.environ.get("PATH", "")])
    environ = clean_env(SOURCE_DATE_EPOCH=str(run_.epoch), PATH=path)
    run([str(env.python), "-I", "-B", str(RUNNER), str(job_file)], cwd=run_.work,
        env=environ, timeout=3600)


def _collect(run_: _Run, env: BuildEnv, job: _Job, tag: str) -> _Outcome | None:
    base = run_.work / f"{tag}-{job.index}"
    result_file = Path(f"{base}.result.json")
    if not result_file.is_file():
        return None
    data = json.loads(result_file.read_text(encoding="utf-8"))
    out = run_.out_for(job)
    outcome = _Outcome(job, env, log=Path(f"{base}.log"))
    if data.get("sdist"):
        outcome.sdist = out / data["sdist"]
        outcome.sdist_seconds = float(data.get("sdist_seconds", 0.0))
    if data.get("wheel"):
        outcome.wheel = out / data["wheel"]
        outcome.wheel_seconds = float(data.get("wheel_seconds", 0.0))
    outcome.needs = tuple(data.get("needs", ()))
    outcome.error = str(data.get("error", ""))
    return outcome


def _build_round(run_: _Run, pending: list[_Job], extra: Mapping[int, tuple[str, ...]],
                 round_no: int, started: float) -> dict[int, tuple[str, ...]]:
    """Build pending jobs, one runner per distinct environment, all runners in parallel.

    Returns, per job, what its backend asked for beyond what its environment holds.
    """
    groups: dict[tuple[str, ...], list[_Job]] = {}
    for job in pending:
        key = tuple(sorted(set(job.requires) | set(extra.get(job.index, ()))))
        groups.setdefault(key, []).append(job)
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:  # a first run makes several
        made = pool.map(lambda key: build_environment(key, run_.cache_dir), groups)
        envs = dict(zip(groups, made, strict=True))
    # Without fork a runner would build its packages in one process, one after another:
    # then each package gets a runner of its own, so no state can pass between them.
    runners = [(envs[key], chunk) for key, jobs in groups.items()
               for chunk in ([jobs] if hasattr(os, "fork") else [[j] for j in jobs])]
    tags = [f"r{round_no}g{i}" for i in range(len(runners))]
    asked: dict[int, tuple[str, ...]] = {}
    reported: set[int] = set()

    def report() -> None:
        for (env, jobs), tag in zip(runners, tags, strict=True):
            for job in jobs:
                outcome = None if job.index in reported else _collect(run_, env, job, tag)
                if outcome is None:
                    continue
                reported.add(job.index)
                if outcome.needs:
                    asked[job.index] = outcome.needs
                    continue
                run_.outcomes[job.index] = outcome
                failed = " failed" if outcome.error else ""
                run_.progress(f"[{len(run_.outcomes)}/{len(run_.jobs)}] {job.package.name}"
                              f"{run_.label}{failed} ({time.perf_counter() - started:.1f} s)")

    workers = len(runners) if hasattr(os, "fork") else run_.parallel
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: set[Future[None]] = {
            pool.submit(_run_runner, run_, env, jobs, tag, extra)
            for (env, jobs), tag in zip(runners, tags, strict=True)}
        while running:
            finished, running = wait(running, timeout=0.05, return_when=FIRST_EXCEPTION)
            report()
            for future in finished:
                exc = future.exception()
                if exc is not None:
                    raise BuildError(f"a build runner failed: {exc}") from None
    report()
    for job in pending:
        if job.index not in reported:
            raise BuildError(f"{job.package.name}: the build runner gave no result")
    return asked


def _build_jobs(run_: _Run) -> None:
    """Every job built, or BuildError naming the first failure (its log is kept)."""
    started = time.perf_counter()
    extra: dict[int, tuple[str, ...]] = {}
    pending = list(run_.jobs)
    for round_no in range(MAX_ROUNDS):
        asked = _build_round(run_, pending, extra, round_no, started)
        if not asked:
            break
        for index, needs in asked.items():
            have = set(extra.get(index, ()))
            if set(needs) <= have:
                name = next(j.package.name for j in pending if j.index == index)
                raise BuildError(f"{name}: the backend asks for {', '.join(needs)} although "
                                 "the build environment has them")
            extra[index] = tuple(sorted(have | set(needs)))
        pending = [j for j in pending if j.index in asked]
    else:
        names = ", ".join(j.package.name for j in pending)
        raise BuildError(f"{names}: build requirements did not settle after {MAX_ROUNDS} rounds")
    for job in run_.jobs:
        outcome = run_.outcomes[job.index]
        if outcome.error or outcome.sdist is None or outcome.wheel is None:
            kept = run_.logs / f"{job.package.name}.log"
            if outcome.log is not None and outcome.log.is_file():
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(redact(outcome.log.read_text(encoding="utf-8",
                                                             errors="replace")),
                                encoding="utf-8")
            stage = "wheel" if outcome.sdist else "sdist"
            raise BuildError(f"{job.package.name}: building the {stage} failed: "
                             f"{outcome.error or 'no file produced'} (log: {kept})")


# --- checking what was built -------------------------------------------------------------------

def _metadata_text(path: Path) -> str:
    """PKG-INFO of an sdist or METADATA of a wheel: the file's own word on name and version."""
    try:
        if path.name.endswith((".whl", ".zip")):
            wanted = ".dist-info/METADATA" if path.name.endswith(".whl") else "/PKG-INFO"
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(wanted)]
                if len(names) == 1:
                    return zf.read(names[0]).decode("utf-8")
        else:
            with tarfile.open(path) as tf:
                members = [m for m in tf.getmembers() if m.isfile()
                           and m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
                handle = tf.extractfile(members[0]) if len(members) == 1 else None
                if handle is not None:
                    return handle.read().decode("utf-8")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, UnicodeDecodeError) as exc:
        raise BuildError(f"{path.name}: cannot read its metadata: {exc}") from None
    raise BuildError(f"{path.name}: has no single top-level metadata file (PKG-INFO/METADATA)")


def read_metadata(path: Path) -> tuple[str, str]:
    """(Name, Version) as written in a built file's metadata."""
    message = email.parser.HeaderParser().parsestr(_metadata_text(path))
    return str(message.get("Name", "")), str(message.get("Version", ""))


def _same_version(written: str, wanted: str) -> bool:
    try:
        return Version(written) == Version(wanted)
    except InvalidVersion:
        return False


def _artifacts(outcome: _Outcome, max_size: int) -> list[Artifact]:
    """Record the job's two files, refusing what must not be published."""
    job = outcome.job
    made = []
    for kind, path, seconds in (("sdist", outcome.sdist, outcome.sdist_seconds),
                                ("wheel", outcome.wheel, outcome.wheel_seconds)):
        assert path is not None
        size = path.stat().st_size
        if size > max_size:
            raise BuildError(f"{path.name} is {size} bytes, over the {max_size}-byte limit "
                             "(max-file-size); an index would refuse it")
        name, version = read_metadata(path)
        if canonicalize_name(name) != canonicalize_name(job.package.name):
            raise BuildError(f"{path.name}: its metadata names {name!r}, but the package "
                             f"at {job.package.path} is {job.package.name!r}")
        if not _same_version(version, job.version):
            raise BuildError(f"{path.name}: its metadata says version {version}, but train "
                             f"{job.train} is at {job.version} (run invoke check)")
        made.append(Artifact(job.package.name, version, path.name, kind, size, sha256_of(path),
                             seconds, job.backend, outcome.env.pins))
    return made


def twine_check(files: Sequence[Path]) -> None:
    """`twine check --strict` over all files at once; BuildError naming what it rejected."""
    if not files:
        return
    base = Path(os.path.commonpath([f.parent for f in files]))  # short names in the log
    proc = run([sys.executable, "-m", "twine", "--no-color", "check", "--strict",
                *(str(f.relative_to(base)) for f in files)], cwd=base, env=clean_env(COLUMNS="400"),
               check=False, timeout=600)
    if proc.returncode == 0:
        return
    output = f"{proc.stdout}\n{proc.stderr}"
    rejected, reason, in_reason = [], [], False
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("Checking ") and not text.endswith("PASSED"):
            rejected.append(Path(text[len("Checking "):].rsplit(":", 1)[0]).name)
        if in_reason and line[:1].isspace() and text:  # the message goes on, indented
            reason.append(text)
            continue
        in_reason = not reason and text.startswith(("ERROR", "WARNING"))
        if in_reason:
            reason.append(" ".join(text.split(None, 1)[1:]))
    what = ", ".join(rejected) or "the files"
    raise BuildError(f"twine check --strict rejected {what}: "
                     f"{' '.join(reason) or (output.strip().splitlines() or ['?'])[-1]}")


def _differences(first: _Run, second: _Run) -> list[str]:
    """Files whose bytes differ between two builds of the same commit, each with what differs
    inside it; then, once per backend, the setting that fixes it."""
    differ: list[str] = []
    fixes: dict[str, str] = {}
    for job in first.jobs:
        a, b = first.outcomes[job.index], second.outcomes[job.index]
        for left, right in ((a.sdist, b.sdist), (a.wheel, b.wheel)):
            assert left is not None and right is not None
            if left.name != right.name:
                differ.append(f"{left.name} (named {right.name} the second time)")
                continue
            causes = explain(left, right)
            if causes:
                differ.append(f"{left.name} ({'; '.join(causes)})")
                fixes.setdefault(job.backend.split(".", 1)[0], fix_for(job.backend, causes))
    return differ + [f"fix ({backend}): {fix}" for backend, fix in fixes.items()]


# --- the step ------------------------------------------------------------------------------------

def _commit(repo: Path, ref: str) -> tuple[str, int]:
    """The full sha REF names, and its commit time (the builds' SOURCE_DATE_EPOCH)."""
    sha = rev(repo, ref)
    if sha is None:
        raise BuildError(f"{ref!r} is not a commit or tag in {repo}")
    return sha, int(git(repo, "log", "-1", "--format=%ct", sha, what="git log"))


def train_versions_at(config: Config, trains: Sequence[Train], ref: str = "HEAD"
                      ) -> tuple[str, dict[str, str]]:
    """The commit REF names and each train's version in its files: what a build would make."""
    commit, _ = _commit(config.root, ref)
    inside = config.root.resolve().relative_to(require_repo(config.root).resolve())
    with clean_worktree(config.root, commit) as tree:
        _, versions, _ = _plan(tree / inside, trains)
    return commit, versions


def _require_every_package(trains: Sequence[Train], built: Config | Sequence[Artifact],
                           commit: str) -> None:
    """Every package of each train is in the build (sdist and wheel), or one line naming
    the ones left out: a package in a submodule or an untracked directory must never
    silently miss a release."""
    for train in trains:
        if isinstance(built, Config):
            there = {p.name for p in built.trains[train.name].packages} \
                if train.name in built.trains else set()
            kinds = {name: {"sdist", "wheel"} for name in there}
        else:
            kinds = {}
            for artifact in built:
                kinds.setdefault(artifact.package, set()).add(artifact.kind)
        missing = [f"{p.name} ({p.path})" for p in train.packages
                   if kinds.get(p.name) != {"sdist", "wheel"}]
        if missing:
            raise BuildError(f"train {train.name}: the build of {commit[:12]} would leave out "
                             f"{', '.join(missing)}: every package of a train is built or "
                             "none (is it committed? in a submodule that is not checked out?)")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_trains(config: Config, trains: Sequence[Train], ref: str = "HEAD",
                 out_dir: Path | None = None, *, reproducible: bool = False,
                 cache_dir: Path | None = None, fresh_envs: bool = False,
                 jobs: int | None = None, progress: Progress | None = None,
                 logs: Path | None = None,
                 prepare: Callable[[Path, str], None] | None = None) -> list[Manifest]:
    """Build the python trains at REF; one Manifest per train, files in `<out>/<train>-<version>`.

    Nothing lands in out_dir unless every file of every train passed every check: the files
    are built into a staging directory and moved into place at the end. Artifact trains have
    nothing to build and are skipped. The log of a failed build is kept in `logs` (default
    `<out>/logs`). `prepare(tree, commit)` readies the worktree first (before-build commands).
    """
    wanted = [t for t in trains if t.kind == "python"]
    if not wanted:
        return []
    root = config.root
    # absolute, not resolved: a symlinked dist/ must be seen (and refused) as one
    out_dir = (out_dir if out_dir is not None else root / "dist").absolute()
    logs = logs or out_dir / "logs"
    top = require_repo(root)
    inside = root.resolve().relative_to(top.resolve())  # the config may sit below the git root
    commit, epoch = _commit(root, ref)
    report = progress or _stderr
    parallel = max(1, jobs or os.cpu_count() or 1)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rt-build-")))
        cache = scratch / "envs" if fresh_envs else (cache_dir or default_cache_dir())
        tree = stack.enter_context(clean_worktree(root, commit)) / inside
        if prepare is not None:
            prepare(tree, commit)
        planned, versions, at_commit = _plan(tree, wanted)
        if rev(root, "HEAD") == commit:  # what `status` lists is what the build must hold
            _require_every_package(wanted, at_commit, commit)
        # The index limit is never loosened, by an old commit or by an uncommitted edit.
        max_size = min(config.max_file_size, at_commit.max_file_size)
        confine.mkdir(out_dir)  # a symlinked dist/ (or a '..' in a name) is refused
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
        stack.callback(shutil.rmtree, staging, True)
        (scratch / "one").mkdir()
        first = _Run(planned, lambda j: staging / f"{j.train}-{j.version}", scratch / "one",
                     cache, epoch, parallel, report, logs)
        _build_jobs(first)
        per_train: dict[str, list[Artifact]] = {t.name: [] for t in wanted}
        for job in planned:
            per_train[job.train] += _artifacts(first.outcomes[job.index], max_size)
        for train in wanted:
            _require_every_package([at_commit.trains[train.name]], per_train[train.name],
                                   commit)
        twine_check([p for o in first.outcomes.values() for p in (o.sdist, o.wheel) if p])
        if reproducible:
            again_tree = stack.enter_context(clean_worktree(root, commit)) / inside
            replanned, _, _ = _plan(again_tree, wanted)
            (scratch / "two").mkdir()
            second = _Run(replanned, lambda j: scratch / "two-out" / f"{j.train}-{j.version}",
                          scratch / "two", cache, epoch, parallel, report, logs,
                          label=" again")
            _build_jobs(second)
            differ = _differences(first, second)
            if differ:
                count = sum(not d.startswith("fix (") for d in differ)
                raise BuildError(f"not reproducible: {count} of {2 * len(planned)} files differ "
                                 f"between two builds of {commit[:12]} with SOURCE_DATE_EPOCH="
                                 f"{epoch}: " + "; ".join(differ))
        manifests = []
        python = ".".join(map(str, sys.version_info[:3]))
        for train in wanted:
            version = versions[train.name]
            final = confine.check(manifest_dir(out_dir, train.name, version))
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging / f"{train.name}-{version}", final)
            manifest = Manifest(train.name, version, commit, tuple(per_train[train.name]), final,
                                epoch, reproducible, python)
            manifest.write()
            manifests.append(manifest)
        for job in planned:  # a log kept from an earlier failure no longer applies
            (logs / f"{job.package.name}.log").unlink(missing_ok=True)
        if logs.is_dir() and not any(logs.iterdir()):
            logs.rmdir()
    return manifests
