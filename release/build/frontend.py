"""Build every package of a train from a clean worktree of one commit, and prove what was built.

Step 5 of a release. The sdist is built from a detached worktree of the commit (so nothing
uncommitted leaks in), the wheel from the unpacked sdist (so the sdist is known to be
complete), in build environments that see nothing of the user's pip/uv configuration.
`build_trains` is the step: it plans one job per package (`jobs`), runs them in cached build
environments shared by every package with the same `build-system.requires` (`environments`),
checks every file, and moves the files into place beside their manifest (`manifest`) only
once every file of every train passed: none over the index's size limit, none carrying another
name or version than the train's, none failing `twine check --strict`, and with
`--reproducible` none whose bytes differ in a second build of the same commit.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release import confine
from release.build.distdiff import explain, fix_for
from release.build.environments import build_env, default_cache_dir
from release.build.jobs import BuildRun, Job, Outcome, Progress, build_jobs, plan_jobs
from release.build.manifest import Artifact, manifest_dir, read_metadata, sha256_of
from release.build.manifest import Manifest as Manifest  # publish/uploads.py imports it here
from release.build.manifest import mismatch as mismatch  # publish/uploads.py imports it here
from release.config import Config, Train
from release.errors import BuildError
from release.proc import run
from release.repo import git, require_repo, rev
from release.worktrees import clean_worktree

# --- checking what was built -------------------------------------------------------------------


def _same_version(written: str, wanted: str) -> bool:
    try:
        return Version(written) == Version(wanted)
    except InvalidVersion:
        return False


def _artifacts(outcome: Outcome, max_size: int) -> list[Artifact]:
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
                *(str(f.relative_to(base)) for f in files)], cwd=base, env=build_env(COLUMNS="400"),
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


def _differences(first: BuildRun, second: BuildRun) -> list[str]:
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
        _, versions, _ = plan_jobs(tree / inside, trains)
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


@dataclass(frozen=True)
class _Where:
    """What the builds of one call share: the commit, the directories, how to report."""

    root: Path
    inside: Path  # the configuration's directory, relative to the git root
    commit: str
    epoch: int  # SOURCE_DATE_EPOCH: the commit's time
    cache: Path  # build environments
    scratch: Path
    parallel: int
    report: Progress
    logs: Path  # where the log of a failed build is kept

    def build(self, jobs: list[Job], out_for: Callable[[Job], Path], name: str,
              label: str = "") -> BuildRun:
        """Every job built into out_for(job), or BuildError naming the first failure."""
        (self.scratch / name).mkdir()
        done = BuildRun(jobs, out_for, self.scratch / name, self.cache, self.epoch,
                        self.parallel, self.report, self.logs, label=label)
        build_jobs(done)
        return done


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
    top = require_repo(root)
    inside = root.resolve().relative_to(top.resolve())  # the config may sit below the git root
    commit, epoch = _commit(root, ref)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rt-build-")))
        where = _Where(root, inside, commit, epoch,
                       scratch / "envs" if fresh_envs else (cache_dir or default_cache_dir()),
                       scratch, max(1, jobs or os.cpu_count() or 1), progress or _stderr,
                       logs or out_dir / "logs")
        tree = stack.enter_context(clean_worktree(root, commit)) / inside
        if prepare is not None:
            prepare(tree, commit)
        planned, versions, at_commit = plan_jobs(tree, wanted)
        if rev(root, "HEAD") == commit:  # what `status` lists is what the build must hold
            _require_every_package(wanted, at_commit, commit)
        # The index limit is never loosened, by an old commit or by an uncommitted edit.
        max_size = min(config.max_file_size, at_commit.max_file_size)
        confine.mkdir(out_dir)  # a symlinked dist/ (or a '..' in a name) is refused
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
        stack.callback(shutil.rmtree, staging, True)
        first = where.build(planned, lambda j: staging / f"{j.train}-{j.version}", "one")
        per_train = _checked(first, wanted, at_commit, commit, max_size)
        if reproducible:
            again_tree = stack.enter_context(clean_worktree(root, commit)) / inside
            _require_reproducible(where, first, plan_jobs(again_tree, wanted)[0])
        manifests = [_put_in_place(where, staging, out_dir, train.name, versions[train.name],
                                   per_train[train.name], reproducible) for train in wanted]
        for job in planned:  # a log kept from an earlier failure no longer applies
            (where.logs / f"{job.package.name}.log").unlink(missing_ok=True)
        if where.logs.is_dir() and not any(where.logs.iterdir()):
            where.logs.rmdir()
    return manifests


def _checked(first: BuildRun, wanted: Sequence[Train], at_commit: Config, commit: str,
             max_size: int) -> dict[str, list[Artifact]]:
    """Each train's files, recorded once each passed its checks; every package of each train
    built (sdist and wheel); `twine check --strict` over all of them."""
    per_train: dict[str, list[Artifact]] = {t.name: [] for t in wanted}
    for job in first.jobs:
        per_train[job.train] += _artifacts(first.outcomes[job.index], max_size)
    for train in wanted:
        _require_every_package([at_commit.trains[train.name]], per_train[train.name], commit)
    twine_check([p for o in first.outcomes.values() for p in (o.sdist, o.wheel) if p])
    return per_train


def _require_reproducible(where: _Where, first: BuildRun, again: list[Job]) -> None:
    """Build the jobs again (planned from a second clean worktree); BuildError naming every
    file whose bytes differ from the first build's, and what differs inside it."""
    second = where.build(again, lambda j: where.scratch / "two-out" / f"{j.train}-{j.version}",
                         "two", label=" again")
    differ = _differences(first, second)
    if differ:
        count = sum(not d.startswith("fix (") for d in differ)
        raise BuildError(f"not reproducible: {count} of {2 * len(first.jobs)} files differ "
                         f"between two builds of {where.commit[:12]} with SOURCE_DATE_EPOCH="
                         f"{where.epoch}: " + "; ".join(differ))


def _put_in_place(where: _Where, staging: Path, out_dir: Path, train: str, version: str,
                  artifacts: Sequence[Artifact], reproducible: bool) -> Manifest:
    """Move a train's staged files to `<out>/<train>-<version>` and write their manifest."""
    final = confine.check(manifest_dir(out_dir, train, version))
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging / f"{train}-{version}", final)  # a directory: renamed whole
    manifest = Manifest(train, version, where.commit, tuple(artifacts), final, where.epoch,
                        reproducible, ".".join(map(str, sys.version_info[:3])))
    manifest.write()
    return manifest
