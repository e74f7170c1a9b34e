"""What each nox session does, given its posargs. Each returns an exit code (0 = success)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ReleaseError
from .secrets import redact


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
        logging.getLogger("release").setLevel(
            logging.DEBUG if os.environ.get("RELEASE_DEBUG") else logging.INFO)
        try:
            return func(argv)
        except ReleaseError as exc:
            print(redact(f"error: {exc}"), file=sys.stderr)
            return exc.exit_code
        except SystemExit as exc:  # argparse: usage errors, --help
            return int(exc.code or 0)

    wrapper.__doc__ = func.__doc__
    return wrapper


@guarded
def build(argv: Sequence[str]) -> int:
    """Build sdists and wheels of the selected trains from a clean worktree; write manifests."""
    from .builds import build_trains
    from .config import load
    from .errors import BuildError

    parser = _parser("build", "Build every package of the selected python trains from a "
                     "clean worktree of REF: sdist, then the wheel from the sdist, in isolated "
                     "build environments; write <out>/<train>-<version>/manifest.json.")
    parser.add_argument("--ref", default="HEAD", help="commit or tag to build (default: HEAD)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where <train>-<version>/ directories go (default: <repo>/dist)")
    parser.add_argument("--reproducible", action="store_true",
                        help="build twice and fail naming any file whose bytes differ")
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
    manifests = build_trains(config, trains, args.ref, args.out, reproducible=args.reproducible,
                             fresh_envs=args.fresh_envs, jobs=args.jobs)
    for m in manifests:
        seconds = sum(a.seconds for a in m.artifacts)
        checked = ", reproducible" if m.reproducible else ""
        print(f"{m.train} {m.version}: {len(m.artifacts)} files from {m.commit[:12]} "
              f"({seconds:.1f} s of backend time{checked}) -> {m.path}")
    return 0
