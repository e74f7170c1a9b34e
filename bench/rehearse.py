"""Benchmark: `nox -s rehearse -- examples/monorepo` from a fresh workspace, as users run it.

Usage: python bench/rehearse.py [--runs 3] [--self | --self-only]
Prints each run's wall time (a cold devpi-server included: each run starts its own), the time
of every stage from the release records, the median, and the goal (12 s). As a baseline
measured in the same run, it also times `nox -s build` alone on the example (the work every
rehearsal repeats), so a slow machine shows up in both figures. `--self` also rehearses this
repository exactly as a user does, `nox -s rehearse` from its root (the default workspace,
whose previous rehearsal each run clears; third-party dependencies from the package registry
through the shared uv cache, warmed by a first untimed run): goal 20 s. `--self-only` does that
alone, with one `nox -s build` of the example per run as its baseline. Exits 1 when a goal is
missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release.pipeline.rehearsal import default_workspace  # noqa: E402

BIN = Path(sys.executable).parent
NOX = str(BIN / "nox")
GOAL = 12.0
GOAL_SELF = 20.0


def timed(argv: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "RELEASE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # uv, as in an activated venv
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        said = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.startswith("error:")]
        sys.exit(f"error: {' '.join(argv[:4])} failed: "
                 f"{said[-1].removeprefix('error: ') if said else done.returncode}")
    return elapsed


def stages(repo: Path) -> str:
    """The stages' seconds from the release records (the largest over the trains)."""
    times: dict[str, float] = {}
    for path in sorted((repo / ".release").glob("*.json")):
        for name, step in json.loads(path.read_text()).get("steps", {}).items():
            times[name] = max(times.get(name, 0.0), float(step.get("seconds", 0.0)))
    return ", ".join(f"{name} {s:.1f}s" for name, s in times.items() if s >= 0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--self", dest="itself", action="store_true",
                        help="also rehearse this repository (goal 20 s, warm uv cache)")
    parser.add_argument("--self-only", action="store_true",
                        help="only rehearse this repository (baseline: nox -s build of the "
                             "example, once per run)")
    args = parser.parse_args()
    rehearsals, builds, selves = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs if not args.self_only else 0):
            workspace = Path(tmp) / f"ws{i}"
            rehearsals.append(timed([NOX, "-s", "rehearse", "--", "examples/monorepo",
                                     "--workspace", str(workspace), "--fresh"]))
            print(f"  run {i + 1}: {rehearsals[-1]:.1f} s; {stages(workspace / 'repo')}")
            # The baseline builds a clone of the released repository: the rehearsal's own
            # copy holds records of uploaded files, which `nox -s build` reuses, not rebuilds.
            repo = Path(tmp) / f"build{i}"
            timed(["git", "clone", "-q", str(workspace / "repo"), str(repo)])
            builds.append(timed([NOX, "-s", "build", "--", "--repo", str(repo)]))
        if args.itself or args.self_only:
            mine = default_workspace(ROOT) / "repo"
            for i in range(args.runs + 1):  # the first run warms the uv cache: not counted
                took = timed([NOX, "-s", "rehearse"])  # as a user types it, from the root
                if not i:
                    continue
                selves.append(took)
                print(f"  this repository, run {i}: {took:.1f} s; {stages(mine)}")
                if args.self_only:
                    repo = Path(tmp) / f"example{i}"
                    timed(["git", "clone", "-q", str(ROOT), str(repo)])
                    builds.append(timed([NOX, "-s", "build", "--", "--repo",
                                         str(repo / "examples" / "monorepo")]))
    build = statistics.median(builds)
    ok = True
    if rehearsals:
        median = statistics.median(rehearsals)
        ok = median <= GOAL
        print(f"nox -s rehearse -- examples/monorepo: {', '.join(f'{t:.1f}' for t in rehearsals)}"
              f" s; median {median:.1f} s (goal <= {GOAL:.0f} s: {'met' if ok else 'MISSED'})")
        print(f"baseline nox -s build on the same repo: median {build:.1f} s "
              f"(rehearsal = {median / build:.1f}x a build)")
    if selves:
        mine_median = statistics.median(selves)
        met = mine_median <= GOAL_SELF
        ok &= met
        print(f"nox -s rehearse (this repository, warm uv cache): "
              f"{', '.join(f'{t:.1f}' for t in selves)} s; median {mine_median:.1f} s (goal <= "
              f"{GOAL_SELF:.0f} s: {'met' if met else 'MISSED'}); "
              f"{mine_median / build:.1f}x the baseline build ({build:.1f} s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
