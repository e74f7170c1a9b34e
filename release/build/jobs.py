"""Build jobs: one per package, planned from a commit's tree, run in build environments.

`plan_jobs` reads, at the commit being built, each train's version and each package's
`[build-system]` (PEP 517's defaults when absent). `build_jobs` groups the jobs by what their
build needs, gets one environment per group (`environments`), and has one interpreter of each
run `_runner.py`, which calls the PEP 517 hooks of all its packages, forking a child per
package so the backend is imported once yet no package sees another's state; runners run in
parallel. A backend that asks for more (`get_requires_for_build_*`) gets it in a next round.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from release import config as config_module
from release.build.environments import BuildEnv, build_env, build_environment
from release.config import Config, Package, Train
from release.errors import BuildError
from release.proc import run
from release.redaction import redact
from release.versions.agreement import train_version
from release.versions.scan import scan

DEFAULT_REQUIRES = ("setuptools>=40.8.0",)  # PEP 517 defaults for a project without [build-system]
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
MAX_ROUNDS = 3  # get_requires_for_build_* may ask for more; give up after this many rounds
RUNNER = Path(__file__).with_name("_runner.py")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
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


def plan_jobs(tree: Path, trains: Sequence[Train]) -> tuple[list[Job], dict[str, str], Config]:
    """The jobs for the trains as they are at the commit checked out in `tree`."""
    tree_config = config_module.load(tree)
    wanted = []
    for train in trains:
        if train.name not in tree_config.trains:
            raise BuildError(f"train {train.name!r} does not exist at the commit being built")
        wanted.append(tree_config.trains[train.name])
    found = scan(tree_config, wanted)
    jobs: list[Job] = []
    versions: dict[str, str] = {}
    for train in wanted:
        version = train_version(found, train).text
        versions[train.name] = version
        for pkg in train.packages:
            requires, backend, backend_path = _build_system(tree / pkg.path / "pyproject.toml")
            jobs.append(Job(len(jobs), train.name, version, pkg, (tree / pkg.path).resolve(),
                             requires, backend, backend_path))
    return jobs, versions, tree_config


# --- running the hooks -------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one job produced (filled from the runner's result file)."""

    job: Job
    env: BuildEnv
    sdist: Path | None = None
    wheel: Path | None = None
    sdist_seconds: float = 0.0
    wheel_seconds: float = 0.0
    needs: tuple[str, ...] = ()
    error: str = ""
    log: Path | None = None


@dataclass
class BuildRun:
    """One build of a set of jobs (the first or, with --reproducible, the second)."""

    jobs: list[Job]
    out_for: Callable[[Job], Path]
    work: Path
    cache_dir: Path
    epoch: int
    parallel: int
    progress: Progress
    logs: Path  # where the log of a failed build is kept
    label: str = ""
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def _runner_job(run_: BuildRun, jobs: Sequence[Job], tag: str,
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


def _run_runner(run_: BuildRun, env: BuildEnv, jobs: Sequence[Job], tag: str,
                extra: Mapping[int, tuple[str, ...]]) -> None:
    """One interpreter of `env` runs the hooks of all `jobs` (results land in files)."""
    job_file = _runner_job(run_, jobs, tag, extra)
    # The environment's scripts come first on PATH, as under pypa/build: backends such as
    # maturin run a tool their requirements installed there.
    path = os.pathsep.join([str(env.python.parent), os.environ.get("PATH", "")])
    environ = build_env(SOURCE_DATE_EPOCH=str(run_.epoch), PATH=path)
    run([str(env.python), "-I", "-B", str(RUNNER), str(job_file)], cwd=run_.work,
        env=environ, timeout=3600)


def _collect(run_: BuildRun, env: BuildEnv, job: Job, tag: str) -> Outcome | None:
    base = run_.work / f"{tag}-{job.index}"
    result_file = Path(f"{base}.result.json")
    if not result_file.is_file():
        return None
    data = json.loads(result_file.read_text(encoding="utf-8"))
    out = run_.out_for(job)
    outcome = Outcome(job, env, log=Path(f"{base}.log"))
    if data.get("sdist"):
        outcome.sdist = out / data["sdist"]
        outcome.sdist_seconds = float(data.get("sdist_seconds", 0.0))
    if data.get("wheel"):
        outcome.wheel = out / data["wheel"]
        outcome.wheel_seconds = float(data.get("wheel_seconds", 0.0))
    outcome.needs = tuple(data.get("needs", ()))
    outcome.error = str(data.get("error", ""))
    return outcome


def _build_round(run_: BuildRun, pending: list[Job], extra: Mapping[int, tuple[str, ...]],
                 round_no: int, started: float) -> dict[int, tuple[str, ...]]:
    """Build pending jobs, one runner per distinct environment, all runners in parallel.

    Returns, per job, what its backend asked for beyond what its environment holds.
    """
    groups: dict[tuple[str, ...], list[Job]] = {}
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


def build_jobs(run_: BuildRun) -> None:
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
