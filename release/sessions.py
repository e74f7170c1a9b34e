"""The nox sessions' wiring: each parses its posargs and calls one adapter of
`release.commands.sessions` (or `release.commands.gates`); each returns an exit code (0 =
success), failures said as one line (`release.commands.guard`)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from release.commands.guard import Failure, attempt

if TYPE_CHECKING:
    from release.commands.sessions import IndexOptions


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


def _repo(given: Path | None) -> Path:
    """--repo, else $RELEASE_REPO, else the current directory."""
    return given or Path(os.environ.get("RELEASE_REPO") or ".")


Session = Callable[..., int]


def guarded(func: Session) -> Session:
    """Expected failures print one redacted line and return their exit code; no tracebacks.
    Usage errors and --help return argparse's code."""

    @functools.wraps(func)
    def wrapper(argv: Sequence[str], **nox_given: str) -> int:
        def call() -> int:
            try:
                return int(func(argv, **nox_given))
            except SystemExit as exc:  # argparse: usage errors, --help
                return int(exc.code or 0)

        outcome = attempt(call)
        return outcome.say() if isinstance(outcome, Failure) else outcome

    return wrapper


@guarded
def build(argv: Sequence[str]) -> int:
    """Build sdists and wheels of the selected trains from a clean worktree; write manifests.
    Files a release record shows uploaded are reused, never replaced."""
    from release.commands.sessions import run_build

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
    said = run_build(_repo(args.repo), args.train, args.ref, args.out, rebuild=args.rebuild,
                     reproducible=args.reproducible, fresh_envs=args.fresh_envs, jobs=args.jobs)
    if said:
        print(said)
    return 0


def _index_options(argv: Sequence[str], prog: str, description: str, python: str | None,
                   interpreter: str | None, upload: bool = False) -> IndexOptions:
    """The options the index sessions share; `python`: the Python nox parametrized this
    session with (verify-3.12), `interpreter` the one it resolved for it."""
    from release.commands.sessions import IndexOptions

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
    return IndexOptions(session=prog, repo=_repo(args.repo), trains=args.train, dist=args.dist,
                        pythons=args.python, platforms=args.platform, wait=args.wait,
                        json=args.json, upload_only=getattr(args, "upload_only", False),
                        python=python, interpreter=interpreter)


@guarded
def testpypi(argv: Sequence[str], python: str | None = None,
             interpreter: str | None = None) -> int:
    """Upload the built release to TestPyPI (once), wait, install back on this session's
    Python, resolve for each platform; tables. Resumable: a rerun skips what is done."""
    from release.commands.sessions import run_index_session

    run_index_session(_index_options(argv, "testpypi", testpypi.__doc__ or "", python,
                                     interpreter, upload=True), production=False)
    return 0


@guarded
def pypi(argv: Sequence[str], python: str | None = None,
         interpreter: str | None = None) -> int:
    """Production: upload a final or .postN to PyPI (once), only from its tag and only the
    files that passed TestPyPI install-back (same sha256); then verify it on this Python."""
    from release.commands.sessions import run_index_session

    run_index_session(_index_options(argv, "pypi", pypi.__doc__ or "", python, interpreter,
                                     upload=True), production=True)
    return 0


@guarded
def verify(argv: Sequence[str], python: str | None = None,
           interpreter: str | None = None) -> int:
    """Verify the release on the latest index its records show it reached (PyPI after
    nox -s pypi, TestPyPI after nox -s testpypi): propagation, exact installs, bundle pins,
    install-back on this session's Python, platform resolution; the platform table."""
    from release.commands.sessions import run_verify

    run_verify(_index_options(argv, "verify", verify.__doc__ or "", python, interpreter))
    return 0


@guarded
def report(argv: Sequence[str]) -> int:
    """Merge the release records other jobs wrote (CI: one per runner and Python) into this
    checkout's, then print (and --json write) the platform x Python table."""
    from release.commands.sessions import run_report

    parser = _parser("report", report.__doc__ or "")
    parser.add_argument("--merge", type=Path, action="append", default=[], metavar="DIR",
                        help="a directory holding release records (searched recursively; "
                             "repeatable)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the table as JSON to PATH")
    args = parser.parse_args(argv)
    run_report(_repo(args.repo), args.train, args.merge, args.json)
    return 0


@guarded
def gates(argv: Sequence[str]) -> int:
    """The release's validation gates (before-build, then checks) on a clean worktree of REF,
    as a release runs them; logs in .release/logs/."""
    from release.commands.gates import run_gates_command

    parser = _parser("gates", gates.__doc__ or "")
    parser.add_argument("--ref", default="HEAD", help="commit or tag to check (default: HEAD)")
    args = parser.parse_args(argv)
    print(run_gates_command(_repo(args.repo), args.train, args.ref))
    return 0


@guarded
def rehearse(argv: Sequence[str]) -> int:
    """The whole release on a scratch clone against two local devpi indexes: no credentials."""
    from release.commands.sessions import run_rehearse

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
    print(run_rehearse(_repo(args.repo or args.path), workspace=args.workspace,
                       fresh=args.fresh, part=args.part, pythons=args.python,
                       platforms=args.platform, trains=args.train))
    return 0
