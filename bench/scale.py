"""Scale benchmark: the whole release of generated 50-, 100- and 200-package repositories.

Usage: python bench/scale.py [--sizes 50 100 200] [--runs 1] [--keep DIR]

Each repository has 4 trains (core, ext, plugins, tools) of packages built by hatchling,
setuptools and flit in turn; every package outside the first pins `core-pkg000` exactly, and
the tools train holds `tools-bundle`, which pins 20 packages of the other trains exactly. Each
is released whole (`--part patch`, every train) by the rehearsal: `release-train release` on
a scratch clone against two local devpi-server indexes (TestPyPI and PyPI stand-ins, started
cold), install-back on Python 3.11, 3.12 and 3.13 and foreign-platform resolution included. Run
in a child process as `nox -s rehearse` runs it (without nox's own start-up).

Prints, per size: wall time, the time of every stage (from the release records' journal), the
cost per package, and peak memory (the whole process tree sampled from /proc, and the largest
single process by getrusage). Goals: 200 packages <= 90 s; 200 <= 4.5x the 50-package time
(a flat cost per package); peak memory < 1 GiB. Exits 1 when one is missed. Loopback only:
the package registry is used only for build backends (hatchling, setuptools, flit-core).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TRAINS = ("core", "ext", "plugins", "tools")
BUNDLE_PINS = 20
GOAL_SECONDS = 90.0
GOAL_RATIO = 4.5
GOAL_MEMORY = 1 << 30

# bench/build.py's sampler of a process tree's memory (loaded by path: `build` is pypa's).
_spec = importlib.util.spec_from_file_location("bench_build", ROOT / "bench" / "build.py")
assert _spec is not None and _spec.loader is not None
_bench_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench_build)
tree_rss = _bench_build.tree_rss

RUN = ("import sys; from release.sessions import rehearse; "
       "sys.exit(rehearse(sys.argv[1:]))")


def _package(root: Path, train: str, name: str, backend: int, deps: list[str]) -> None:
    """One package: hatchling (static version), setuptools (static version) or flit (the
    module's __version__), in a src layout."""
    module = name.replace("-", "_")
    src = root / train / name / "src" / module
    src.mkdir(parents=True)
    requires = ", ".join(f'"{d}"' for d in deps)
    if backend == 0:
        system = 'requires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        project = f'name = "{name}"\nversion = "1.0.0"\n'
        init = f'"""{name}."""\n'
    elif backend == 1:
        system = 'requires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        project = f'name = "{name}"\nversion = "1.0.0"\n'
        init = f'"""{name}."""\n'
    else:
        system = 'requires = ["flit_core>=3.4,<4"]\nbuild-backend = "flit_core.buildapi"\n'
        project = f'name = "{name}"\ndynamic = ["version", "description"]\n'
        init = f'"""{name}."""\n\n__version__ = "1.0.0"\n'
    (src / "__init__.py").write_text(init, encoding="utf-8")
    (root / train / name / "README.md").write_text(f"# {name}\n", encoding="utf-8")
    (root / train / name / "pyproject.toml").write_text(
        f"[build-system]\n{system}\n[project]\n{project}readme = \"README.md\"\n"
        "requires-python = \">=3.11\"\n"
        f"dependencies = [{requires}]\n", encoding="utf-8")


def generate(root: Path, count: int) -> list[str]:
    """`count` packages in 4 trains, committed; returns the package names."""
    per_train = count // len(TRAINS)
    names: list[str] = []
    lines = ["[tool.release]", 'pythons = ["3.11", "3.12", "3.13"]', ""]
    for t, train in enumerate(TRAINS):
        lines += [f"[tool.release.trains.{train}]", f'packages = ["{train}/*"]', ""]
        extra = count - per_train * len(TRAINS) if t == 0 else 0
        for i in range(per_train + extra):
            if train == "tools" and i == per_train - 1:
                continue  # the bundle takes this place
            name = f"{train}-pkg{i:03d}"
            deps = [] if not names else ["core-pkg000==1.0.0"]
            _package(root, train, name, len(names) % 3, deps)
            names.append(name)
    pinned = [n for n in names if not n.startswith("tools-")][1:BUNDLE_PINS + 1]
    _package(root, "tools", "tools-bundle", 0, [f"{n}==1.0.0" for n in pinned])
    names.append("tools-bundle")
    (root / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "scale bench"], cwd=root, check=True)
    return names


def release(repo: Path, workspace: Path, log: Path) -> tuple[float, int, int]:
    """(wall seconds, sampled peak of the process tree, largest single process) of the whole
    release, run as `nox -s rehearse` runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "RELEASE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with log.open("w") as out:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", RUN, "--repo", str(repo),
                                  "--workspace", str(workspace), "--fresh"],
                                 cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while child.poll() is None:
            peak = max(peak, tree_rss(child.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    if child.returncode != 0:
        lines = [ln for ln in log.read_text().splitlines() if ln.startswith("error:")]
        raise SystemExit(f"error: the release of {repo.name} failed: "
                         f"{lines[-1] if lines else 'see ' + str(log)}")
    single = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
    return elapsed, peak, single


def stage_times(repo: Path) -> dict[str, float]:
    """Each stage's seconds from the release records (a stage runs over every train at once
    and journals the same time in each record: the largest is taken)."""
    times: dict[str, float] = {}
    for path in sorted((repo / ".release").glob("*.json")):
        steps = json.loads(path.read_text()).get("steps", {})
        for name, step in steps.items():
            if step.get("status") == "done":
                times[name] = max(times.get(name, 0.0), float(step.get("seconds", 0.0)))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--runs", type=int, default=1, help="releases per size (median)")
    parser.add_argument("--keep", type=Path, default=None, help="keep workspaces and logs here")
    args = parser.parse_args()
    if min(args.sizes) < 4 * (BUNDLE_PINS // 3 + 2):
        parser.error(f"sizes must be at least {4 * (BUNDLE_PINS // 3 + 2)}")
    medians: dict[int, float] = {}
    peaks: dict[int, int] = {}
    mib = 1 << 20
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        base = args.keep or Path(tmp)
        for size in args.sizes:
            repo = base / f"repo{size}"
            names = generate(repo, size)
            walls, stages = [], []
            for run in range(args.runs):
                ws = base / f"ws{size}-{run}"
                wall, peak, single = release(repo, ws, base / f"release{size}-{run}.log")
                walls.append(wall)
                stages.append(stage_times(ws / "repo"))
                peaks[size] = max(peaks.get(size, 0), peak)
            medians[size] = statistics.median(walls)
            files = sum(1 for built in (ws / "repo" / ".release" / "dist").glob("*/*.*")
                        if not built.name.endswith(".json"))
            print(f"{len(names)} packages ({files} files), 4 trains: release "
                  f"{', '.join(f'{w:.1f}' for w in walls)} s, median {medians[size]:.1f} s, "
                  f"{medians[size] / len(names) * 1000:.0f} ms per package; peak memory "
                  f"{peak / mib:.0f} MiB (process tree), {single / mib:.0f} MiB (largest "
                  "single process)")
            last = stages[len(stages) // 2]
            print("  stages: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds
                                            in last.items() if seconds >= 0.05))
    ok = True
    biggest, smallest = max(medians), min(medians)
    if biggest >= 200:
        met = medians[biggest] <= GOAL_SECONDS
        ok &= met
        print(f"goal: {biggest} packages <= {GOAL_SECONDS:.0f} s: {medians[biggest]:.1f} s "
              f"{'met' if met else 'MISSED'}")
    if biggest > smallest:
        ratio = medians[biggest] / medians[smallest]
        allowed = GOAL_RATIO * biggest / 200 * 50 / smallest
        met = ratio <= allowed
        ok &= met
        print(f"goal: {biggest} packages <= {allowed:.1f}x the {smallest}-package time: "
              f"{ratio:.2f}x {'met' if met else 'MISSED'}")
    peak = max(peaks.values())
    ok &= peak < GOAL_MEMORY
    print(f"goal: peak memory < 1 GiB: {peak / mib:.0f} MiB "
          f"{'met' if peak < GOAL_MEMORY else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
