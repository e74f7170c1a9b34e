"""Speed benchmark: `nox -s build` against `uv build` and `python -m build`, each run for
each package in turn.

Usage: python bench/build.py [--runs 3] [--baseline-runs 3] [--uv-runs 3]

Both build the 14 packages of examples/monorepo (copied to a scratch git repository): sdist,
then the wheel from the sdist. `nox -s build` is run as a user runs it (a subprocess, with
its build-environment cache warm, as on any run after the first; the cold first run is
timed too). The baseline is `python -m build` (this environment's python, `build`
installed), which makes an isolated environment for every package; a second baseline is a
`uv build` loop (uv's own cache, warm after its first run). Prints each median, the
ratio, and peak memory: the largest single process (getrusage) and the whole process tree
(sampled from /proc). Exits 1 if the ratio is under 10 or the tree's peak reaches 1 GB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "monorepo"
BIN = Path(sys.executable).parent
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}
TARGET_RATIO = 10.0
MEMORY_LIMIT = 1 << 30


def scratch_repo(dest: Path) -> Path:
    """A copy of the example under git, one commit."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "dist", ".release"))
    env = {**os.environ, **GIT_ENV}
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *argv], cwd=dest, env=env, check=True)
    return dest


def packages(repo: Path) -> list[Path]:
    """Every package directory of the example's python trains, as configured."""
    table = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["release"]["trains"]
    found: list[Path] = []
    for train in table.values():
        for pattern in train.get("packages", []):
            found += sorted(p for p in repo.glob(pattern) if (p / "pyproject.toml").is_file())
    return found


def tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    family, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in family} - family
        family |= more
        grew = bool(more)
    total = 0
    for pid in family:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of the command (it must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return elapsed


# Runs a command and prints the largest resident set of any process it waited for (bytes).
WRAP = ("import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024); sys.exit(code)")


def memory(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, int]:
    """(largest single process, sampled peak of the whole process tree), in bytes."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-c", WRAP, *argv], cwd=cwd, env=env,
                                stdout=out, stderr=subprocess.DEVNULL)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.01)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed")
        out.seek(0)
        return int(out.read().split()[-1]), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of nox -s build")
    parser.add_argument("--baseline-runs", type=int, default=3,
                        help="timed runs of python -m build per package")
    parser.add_argument("--uv-runs", type=int, default=3,
                        help="timed runs of uv build per package (after one untimed)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "RELEASE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        repo = scratch_repo(Path(tmp) / "repo")
        dirs = packages(repo)
        nox = [str(BIN / "nox"), "-s", "build", "--", "--repo", str(repo)]
        ours_env = {**env, "RELEASE_TRAIN_CACHE_DIR": str(Path(tmp) / "cache")}
        cold = run(nox, ROOT, ours_env)  # a fresh cache: this run makes the environments
        ours = [run(nox, ROOT, ours_env) for _ in range(args.runs)]
        ours_rss, ours_tree = memory(nox, ROOT, ours_env)
        built = sorted(p.name for p in (repo / "dist").glob("*/*") if p.suffix in (
            ".whl", ".gz"))

        baseline = []
        for i in range(args.baseline_runs):
            out = Path(tmp) / f"baseline-{i}"
            start = time.perf_counter()
            for pkg in dirs:
                run([sys.executable, "-m", "build", "--outdir", str(out), str(pkg)], repo, env)
            baseline.append(time.perf_counter() - start)
        theirs = sorted(p.name for p in (Path(tmp) / "baseline-0").iterdir())
        uv_loop = []
        for i in range(args.uv_runs + 1):  # the first fills uv's cache: not counted
            out = Path(tmp) / f"uv-{i}"
            start = time.perf_counter()
            for pkg in dirs:
                run([str(BIN / "uv"), "build", "--no-config", "--quiet", "--out-dir", str(out),
                     str(pkg)], repo, env)
            if i:
                uv_loop.append(time.perf_counter() - start)
        # Memory of the baseline: three packages (hatchling and setuptools) are enough.
        base = [memory([sys.executable, "-m", "build", "--outdir", str(Path(tmp) / "m"),
                        str(pkg)], repo, env) for pkg in dirs[:3]]
        base_rss, base_tree = max(m[0] for m in base), max(m[1] for m in base)

    ours_median, base_median = statistics.median(ours), statistics.median(baseline)
    ratio = base_median / ours_median
    mib = 1 << 20
    print(f"packages: {len(dirs)}; files built: nox {len(built)}, baseline {len(theirs)}"
          f"{'' if built == theirs else ' (DIFFERENT FILE NAMES)'}")
    print(f"nox -s build (warm cache)       median {ours_median:6.2f} s  runs "
          + ", ".join(f"{t:.2f}" for t in ours))
    print(f"nox -s build (cold cache, 1st)         {cold:6.2f} s")
    print(f"python -m build, each package   median {base_median:6.2f} s  runs "
          + ", ".join(f"{t:.2f}" for t in baseline))
    if uv_loop:
        uv_median = statistics.median(uv_loop)
        print(f"uv build, each package          median {uv_median:6.2f} s  runs "
              + ", ".join(f"{t:.2f}" for t in uv_loop)
              + f"  (nox -s build is {uv_median / ours_median:.1f}x faster)")
    print(f"speed-up: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x)")
    print(f"peak RSS, largest single process: nox build {ours_rss / mib:.0f} MiB; "
          f"python -m build {base_rss / mib:.0f} MiB")
    print(f"peak RSS, whole process tree (sampled): nox build {ours_tree / mib:.0f} MiB; "
          f"python -m build {base_tree / mib:.0f} MiB")
    ok = ratio >= TARGET_RATIO and ours_tree < MEMORY_LIMIT and built == theirs
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
