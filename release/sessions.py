"""What each nox session does, given its posargs. Each returns an exit code (0 = success)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from release import logs
from release.errors import ReleaseError, from_os_error
from release.redaction import redact

if TYPE_CHECKING:
    from release.pipeline.stages import Release
    from release.publish.endpoints import Endpoint


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one `error:` line (exit 2), like the tasks'."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see nox -s {self.prog.split()[2]} -- --help)", file=sys.stderr)
        raise SystemExit(2)


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"nox -s {prog} --", description=description)
    parser.add_argument("--repo", type=Path, default=None,
                        help="repository to release (default: $RELEASE_REPO or the current "
                             "directory)")
    parser.add_argument("--train", action="append", default=None,
                        help="train to work on (repeatable; default: all trains)")
    return parser


Session = Callable[..., int]


def guarded(func: Session) -> Session:
    """Expected failures print one redacted line and return 1; no tracebacks."""

    def wrapper(argv: Sequence[str], **nox_given: str) -> int:
        # nox logs at debug level; our command lines are for RELEASE_DEBUG=1 only, and so
        # are urllib3's retry warnings and library warnings (logs.configure).
        logs.configure()
        try:
            code = int(func(argv, **nox_given))
            sys.stdout.flush()
            return code
        except ReleaseError as exc:
            print(redact(f"error: {exc}"), file=sys.stderr)
            return exc.exit_code
        except (OSError, shutil.Error) as exc:  # read-only, full disk: one line
            print(redact(f"error: {from_os_error(exc)}"), file=sys.stderr)
            return 1
        except SystemExit as exc:  # argparse: usage errors, --help
            return int(exc.code or 0)
        except BrokenPipeError:
            from release.cli import quiet_broken_pipe

            quiet_broken_pipe()
            return 141
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    wrapper.__doc__ = func.__doc__
    return wrapper


@guarded
def build(argv: Sequence[str]) -> int:
    """Build sdists and wheels of the selected trains from a clean worktree; write manifests.
    Files a release record shows uploaded are reused, never replaced."""
    from release.config import load
    from release.errors import BuildError
    from release.pipeline.published import build as build_or_reuse

    parser = _parser("build", "Build every package of the selected python trains from a "
                     "clean worktree of REF: sdist, then the wheel from the sdist, in isolated "
                     "build environments; write <out>/<train>-<version>/manifest.json.")
    parser.add_argument("--ref", default="HEAD", help="commit or tag to build (default: HEAD)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where <train>-<version>/ directories go (default: <repo>/dist)")
    parser.add_argument("--reproducible", action="store_true",
                        help="build twice and fail naming any file whose bytes differ, what "
                             "differs inside it and the backend setting that fixes it")
    parser.add_argument("--rebuild", action="store_true",
                        help="build trains whose files were already uploaded again, and refuse "
                             "unless the new files are byte-identical to the uploaded ones")
    parser.add_argument("--fresh-envs", action="store_true",
                        help="make new build environments instead of reusing cached ones")
    parser.add_argument("--jobs", type=int, default=None,
                        help="packages built at once per environment (default: CPU count)")
    args = parser.parse_args(argv)
    config = load(args.repo or os.environ.get("RELEASE_REPO") or ".")
    if args.train:
        trains = [config.train(name) for name in args.train]
        for train in trains:
            if train.kind != "python":
                raise BuildError(f"train {train.name!r} is an artifact train: it has nothing "
                                 "to build")
    else:
        trains = [t for t in config.trains.values() if t.kind == "python"]
        if not trains:
            raise BuildError("no python train to build")
    outcomes = build_or_reuse(config, trains, args.ref, args.out, rebuild=args.rebuild,
                              reproducible=args.reproducible, fresh_envs=args.fresh_envs,
                              jobs=args.jobs)
    for outcome in outcomes:
        print(outcome.line)
    return 0


def _release_for(argv: Sequence[str], prog: str, description: str, python: str | None,
                 interpreter: str | None, upload: bool = False
                 ) -> tuple[Release, argparse.Namespace]:
    """Parse the options the index sessions share and assemble a Release of current versions,
    verified on `python`: the Python nox parametrized this session with (verify-3.12)."""
    from release.config import load
    from release.pipeline.stages import assemble, select_trains
    from release.verify.interpreters import resolved
    from release.versions.agreement import train_version
    from release.versions.scan import scan

    parser = _parser(prog, description)
    parser.add_argument("--dist", type=Path, default=None,
                        help="where nox -s build put <train>-<version>/ (default: <repo>/dist)")
    parser.add_argument("--python", action="append", default=None,
                        help="install-back interpreter when called outside nox (repeatable; "
                             "default: config pythons); under nox: nox -s SESSION -p 3.12")
    parser.add_argument("--platform", action="append", default=None,
                        help="foreign platform to resolve for (repeatable; default: config)")
    parser.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                        help="seconds to wait for the index to show every file (default 600; "
                             "0: do not wait)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the platform x Python table as JSON to PATH")
    if upload:
        parser.add_argument("--upload-only", action="store_true",
                            help="upload and wait until the index shows every file, no "
                                 "install-back (CI: verify jobs per runner and Python follow)")
    args = parser.parse_args(argv)
    if args.python and python:
        raise ReleaseError(f"this session runs on Python {python} (nox -s {prog}-{python}); "
                           f"choose Pythons with nox itself: nox -s {prog} -p "
                           f"{args.python[0]}")
    config = load(args.repo or os.environ.get("RELEASE_REPO") or ".")
    trains = select_trains(config, args.train)
    found = scan(config, trains)
    upload_only = getattr(args, "upload_only", False)
    nox_given = bool(python and interpreter)
    # Under nox: the one interpreter nox resolved for this session; called directly (tests,
    # scripts): --python, else every configured Python.
    release = assemble(config, trains, {t.name: train_version(found, t).text for t in trains},
                       [] if upload_only or nox_given else args.python, args.platform)
    if nox_given and not upload_only:
        release.pythons = [resolved(str(python), Path(str(interpreter)))]
    # absolute, not resolved: a symlinked <repo>/dist must still be seen (and refused) as one
    release.dist_dir = (args.dist or config.root / "dist").absolute()
    release.wait, release.deadline = args.wait > 0, args.wait
    return release, args


def _report(release: Release, target: Endpoint, json_path: Path | None) -> None:
    """Write the platform x Python table of the target's verification as JSON."""
    if json_path is None:
        return
    from release.pipeline.stages import _verification
    from release.verify.report import report_rows

    seen = _verification(release, target)
    data = {"index": target.name, "url": target.where_simple,
            "releases": seen.get("releases", []), "ok": bool(seen.get("ok")),
            "rows": report_rows(seen, release.platforms, release.config.pythons)}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8", newline="\n")


def _index_session(argv: Sequence[str], python: str | None, interpreter: str | None,
                   prog: str, description: str, production: bool) -> int:
    from release.pipeline.stages import (
        adopt_manifests,
        check_production_rules,
        fallbacks_for,
        stage_smoke,
        stage_upload,
        stage_verify,
        stage_visible,
    )

    release, args = _release_for(argv, prog, description, python, interpreter, upload=True)
    target = release.pypi if production else release.testpypi
    manifests = adopt_manifests(release)
    if production:
        check_production_rules(release, manifests)
    stage_upload(release, target)  # once: the session of the next Python finds it done
    if args.upload_only:
        stage_visible(release, target)
        return 0
    try:
        stage_verify(release, target, fallbacks_for(release, target))
    finally:
        _report(release, target, args.json)
    stage_smoke(release, target)
    return 0


@guarded
def testpypi(argv: Sequence[str], python: str | None = None,
             interpreter: str | None = None) -> int:
    """Upload the built release to TestPyPI (once), wait, install back on this session's
    Python, resolve for each platform; tables. Resumable: a rerun skips what is done."""
    return _index_session(argv, python, interpreter, "testpypi", testpypi.__doc__ or "",
                          production=False)


@guarded
def pypi(argv: Sequence[str], python: str | None = None,
         interpreter: str | None = None) -> int:
    """Production: upload a final or .postN to PyPI (once), only from its tag and only the
    files that passed TestPyPI install-back (same sha256); then verify it on this Python."""
    return _index_session(argv, python, interpreter, "pypi", pypi.__doc__ or "", production=True)


@guarded
def verify(argv: Sequence[str], python: str | None = None,
           interpreter: str | None = None) -> int:
    """Verify the release on the latest index its records show it reached (PyPI after
    nox -s pypi, TestPyPI after nox -s testpypi): propagation, exact installs, bundle pins,
    install-back on this session's Python, platform resolution; the platform table."""
    from release.pipeline.stages import adopt_manifests, fallbacks_for, latest_index, stage_verify

    release, args = _release_for(argv, "verify", verify.__doc__ or "", python, interpreter)
    target = latest_index(release)
    print(f"verifying on {target.name} ({target.where_simple}): the latest index the release "
          "records show " + ", ".join(f"{t.name} {release.versions[t.name]}"
                                       for t in release.python_trains) + " reached")
    adopt_manifests(release)
    try:
        stage_verify(release, target, fallbacks_for(release, target), rerun=True)
    finally:
        _report(release, target, args.json)
    return 0


@guarded
def report(argv: Sequence[str]) -> int:
    """Merge the release records other jobs wrote (CI: one per runner and Python) into this
    checkout's, then print (and --json write) the platform x Python table."""
    from release.config import load
    from release.pipeline.stages import latest_index, platform_report_of, select_trains
    from release.record import merge_records
    from release.versions.agreement import train_version
    from release.versions.scan import scan

    parser = _parser("report", report.__doc__ or "")
    parser.add_argument("--merge", type=Path, action="append", default=[], metavar="DIR",
                        help="a directory holding release records (searched recursively; "
                             "repeatable)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the table as JSON to PATH")
    args = parser.parse_args(argv)
    config = load(args.repo or os.environ.get("RELEASE_REPO") or ".")
    for line in merge_records(config.root, args.merge):
        print(line)
    trains = select_trains(config, args.train)
    found = scan(config, trains)
    from release.pipeline.stages import assemble

    release = assemble(config, trains, {t.name: train_version(found, t).text for t in trains},
                       pythons=[], platforms=None)
    target = latest_index(release)
    print(platform_report_of(release, target))
    _report(release, target, args.json)
    return 0


@guarded
def gates(argv: Sequence[str]) -> int:
    """The release's validation gates (before-build, then checks) on a clean worktree of REF,
    as a release runs them; logs in .release/logs/."""
    from release.pipeline.gates import run_gates_command

    parser = _parser("gates", gates.__doc__ or "")
    parser.add_argument("--ref", default="HEAD", help="commit or tag to check (default: HEAD)")
    args = parser.parse_args(argv)
    print(run_gates_command(args.repo or Path(os.environ.get("RELEASE_REPO") or "."),
                            args.train, args.ref))
    return 0


@guarded
def rehearse(argv: Sequence[str]) -> int:
    """The whole release on a scratch clone against two local devpi indexes: no credentials."""
    from release.pipeline.rehearsal import rehearse as run_rehearsal

    parser = _Parser(prog="nox -s rehearse --", description=rehearse.__doc__)
    parser.add_argument("--repo", type=Path, default=None,
                        help="repository to rehearse (default: $RELEASE_REPO or the current "
                             "directory)")
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="the same as --repo (kept for older scripts)")
    parser.add_argument("--train", action="append", default=None,
                        help="train to release (repeatable; default: every python train)")
    parser.add_argument("--part", default="patch", help="version part to release "
                        "(default: patch; an rc stops after TestPyPI)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="keep the rehearsal here (default: a temp dir named for the repo)")
    parser.add_argument("--fresh", action="store_true", help="discard an unfinished rehearsal")
    parser.add_argument("--python", action="append", default=None,
                        help="install-back interpreter (repeatable; default: config pythons)")
    parser.add_argument("--platform", action="append", default=None,
                        help="foreign platform to resolve for (repeatable; default: config)")
    args = parser.parse_args(argv)
    if args.repo and args.path and args.repo != args.path:
        parser.error("give the repository once: --repo PATH or PATH")
    path = args.repo or args.path or Path(os.environ.get("RELEASE_REPO") or ".")
    print(run_rehearsal(path, workspace=args.workspace, fresh=args.fresh, part=args.part,
                        pythons=args.python, platforms=args.platform, trains=args.train))
    return 0
