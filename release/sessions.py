"""What each nox session does, given its posargs. Each returns an exit code (0 = success)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ReleaseError, from_os_error
from .secrets import redact

if TYPE_CHECKING:
    from .pipeline import Release


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"nox -s {prog} --", description=description)
    parser.add_argument("--repo", type=Path, default=None,
                        help="repository to release (default: $RELEASE_REPO or the current "
                             "directory)")
    parser.add_argument("--train", action="append", default=None,
                        help="train to work on (repeatable; default: all trains)")
    return parser


def guarded(func: Callable[[Sequence[str]], int]) -> Callable[[Sequence[str]], int]:
    """Expected failures print one redacted line and return 1; no tracebacks."""

    def wrapper(argv: Sequence[str]) -> int:
        # nox logs at debug level; our command lines are for RELEASE_DEBUG=1 only.
        level = logging.DEBUG if os.environ.get("RELEASE_DEBUG") else logging.INFO
        for name in ("release", "urllib3"):
            logging.getLogger(name).setLevel(level if name == "release" else logging.WARNING)
        try:
            return func(argv)
        except ReleaseError as exc:
            print(redact(f"error: {exc}"), file=sys.stderr)
            return exc.exit_code
        except (OSError, shutil.Error) as exc:  # read-only, full disk: one line
            print(redact(f"error: {from_os_error(exc)}"), file=sys.stderr)
            return 1
        except SystemExit as exc:  # argparse: usage errors, --help
            return int(exc.code or 0)

    wrapper.__doc__ = func.__doc__
    return wrapper


@guarded
def build(argv: Sequence[str]) -> int:
    """Build sdists and wheels of the selected trains from a clean worktree; write manifests.
    Files a release record shows uploaded are reused, never replaced."""
    from .config import load
    from .errors import BuildError
    from .published import build as build_or_reuse

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


def _release_for(argv: Sequence[str], prog: str, description: str) -> Release:
    """Parse the options the index sessions share and assemble a Release of current versions."""
    from .check import train_version
    from .config import load
    from .locations import scan
    from .pipeline import assemble, select_trains

    parser = _parser(prog, description)
    parser.add_argument("--dist", type=Path, default=None,
                        help="where nox -s build put <train>-<version>/ (default: <repo>/dist)")
    parser.add_argument("--python", action="append", default=None,
                        help="install-back interpreter (repeatable; default: config pythons)")
    parser.add_argument("--platform", action="append", default=None,
                        help="foreign platform to resolve for (repeatable; default: config)")
    parser.add_argument("--no-wait", action="store_true",
                        help="do not wait for the index to show every file")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="seconds to wait for the index to show every file (default 600)")
    args = parser.parse_args(argv)
    config = load(args.repo or os.environ.get("RELEASE_REPO") or ".")
    trains = select_trains(config, args.train)
    found = scan(config, trains)
    release = assemble(config, trains, {t.name: train_version(found, t).text for t in trains},
                       args.python, args.platform)
    # absolute, not resolved: a symlinked <repo>/dist must still be seen (and refused) as one
    release.dist_dir = (args.dist or config.root / "dist").absolute()
    release.wait, release.deadline = not args.no_wait, args.wait
    return release


@guarded
def testpypi(argv: Sequence[str]) -> int:
    """Upload the built release to TestPyPI, wait, install back on each Python, resolve for
    each platform; summary table. Resumable: a rerun skips what is done."""
    from .pipeline import adopt_manifests, fallbacks_for, stage_upload, stage_verify

    release = _release_for(argv, "testpypi", testpypi.__doc__ or "")
    adopt_manifests(release)
    stage_upload(release, release.testpypi)
    stage_verify(release, release.testpypi, fallbacks_for(release, release.testpypi))
    return 0


@guarded
def pypi(argv: Sequence[str]) -> int:
    """Production: upload a final or .postN to PyPI, only from its tag and only the files that
    passed TestPyPI install-back (same sha256); then verify it on PyPI."""
    from .pipeline import (
        adopt_manifests,
        check_production_rules,
        fallbacks_for,
        stage_upload,
        stage_verify,
    )

    release = _release_for(argv, "pypi", pypi.__doc__ or "")
    check_production_rules(release, adopt_manifests(release))
    stage_upload(release, release.pypi)
    stage_verify(release, release.pypi, fallbacks_for(release, release.pypi))
    return 0


@guarded
def verify(argv: Sequence[str]) -> int:
    """Verify the release on the latest index its records show it reached (PyPI after
    nox -s pypi, TestPyPI after nox -s testpypi): propagation, exact installs, bundle pins,
    install-back on each Python, platform resolution."""
    from .pipeline import adopt_manifests, fallbacks_for, latest_index, stage_verify

    release = _release_for(argv, "verify", verify.__doc__ or "")
    target = latest_index(release)
    print(f"verifying on {target.name} ({target.where_simple}): the latest index the release "
          "records show " + ", ".join(f"{t.name} {release.versions[t.name]}"
                                       for t in release.python_trains) + " reached")
    adopt_manifests(release)
    stage_verify(release, target, fallbacks_for(release, target), rerun=True)
    return 0


@guarded
def gates(argv: Sequence[str]) -> int:
    """The release's validation gates (before-build, then checks) on a clean worktree of REF,
    as a release runs them; logs in .release/logs/."""
    from .gates import run_gates_command

    parser = _parser("gates", gates.__doc__ or "")
    parser.add_argument("--ref", default="HEAD", help="commit or tag to check (default: HEAD)")
    args = parser.parse_args(argv)
    print(run_gates_command(args.repo or Path(os.environ.get("RELEASE_REPO") or "."),
                            args.train, args.ref))
    return 0


@guarded
def rehearse(argv: Sequence[str]) -> int:
    """The whole release on a scratch clone against two local devpi indexes: no credentials."""
    from .rehearsal import rehearse as run_rehearsal

    parser = argparse.ArgumentParser(prog="nox -s rehearse --", description=rehearse.__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="repository to rehearse (default: $RELEASE_REPO or this one)")
    parser.add_argument("--part", default="patch", help="version part to release "
                        "(default: patch; an rc stops after TestPyPI)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="keep the rehearsal here (default: a temp dir named for the repo)")
    parser.add_argument("--fresh", action="store_true", help="discard an unfinished rehearsal")
    parser.add_argument("--python", action="append", default=None)
    parser.add_argument("--platform", action="append", default=None)
    args = parser.parse_args(argv)
    path = args.path or Path(os.environ.get("RELEASE_REPO") or ".")
    print(run_rehearsal(path, workspace=args.workspace, fresh=args.fresh, part=args.part,
                        pythons=args.python, platforms=args.platform))
    return 0
