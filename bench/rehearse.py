"""Benchmark: `nox -s rehearse -- examples/monorepo` from a fresh workspace, as users run it.

Usage: python bench/rehearse.py [--runs 3]
Prints each run's wall time, the median, and the goal (20 s). As a baseline measured in the
same run, it also times `nox -s build` alone on the example (the work every rehearsal
repeats), so a slow machine shows up in both figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOX = str(Path(sys.executable).parent / "nox")
GOAL = 20.0


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rehearsals, builds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            workspace = Path(tmp) / f"ws{i}"
            rehearsals.append(timed([NOX, "-s", "rehearse", "--", "examples/monorepo",
                                     "--workspace", str(workspace), "--fresh"]))
            # The baseline builds a clone of the released repository: the rehearsal's own
            # copy holds records of uploaded files, which `nox -s build` reuses, not rebuilds.
            repo = Path(tmp) / f"build{i}"
            timed(["git", "clone", "-q", str(workspace / "repo"), str(repo)])
            builds.append(timed([NOX, "-s", "build", "--", "--repo", str(repo)]))
    median = statistics.median(rehearsals)
    print(f"nox -s rehearse -- examples/monorepo: {', '.join(f'{t:.1f}' for t in rehearsals)} s;"
          f" median {median:.1f} s (goal <= {GOAL:.0f} s)")
    print(f"baseline nox -s build on the same repo: median {statistics.median(builds):.1f} s "
          f"(rehearsal = {median / statistics.median(builds):.1f}x a build)")
    sys.exit(0 if median <= GOAL else 1)


if __name__ == "__main__":
    main()
