"""Scale benchmark: `invoke bump`, `check` and `check --audit` on a generated 200-package repo.

Usage: python bench/bump.py [--packages 200] [--runs 5]
Prints the median wall time of each command (the whole `invoke` process, as users run it)
and, as a baseline measured in the same run, `invoke --list` (invoke's own start-up).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVOKE = str(Path(sys.executable).parent / "invoke")
TRAINS = ("core", "ext", "plugins", "tools")


def generate(root: Path, count: int) -> None:
    """`count` packages in four trains; every package pins the core train's first package."""
    lines = ["[tool.release]"]
    per_train = count // len(TRAINS)
    for t, train in enumerate(TRAINS):
        lines += [f"[tool.release.trains.{train}]", f'packages = ["{train}/*"]']
        for i in range(per_train):
            name = f"{train}-pkg{i:03d}"
            pkg = root / train / name
            module = name.replace("-", "_")
            (pkg / "src" / module).mkdir(parents=True)
            deps = [] if (t, i) == (0, 0) else ['"core-pkg000==1.0.0"']
            if i % 2:  # half static, half hatch dynamic with __version__
                (pkg / "pyproject.toml").write_text(
                    f'[project]\nname = "{name}"\nversion = "1.0.0"\n'
                    f"dependencies = [{', '.join(deps)}]\n"
                    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                )
                (pkg / "src" / module / "__init__.py").write_text("")
            else:
                (pkg / "pyproject.toml").write_text(
                    f'[project]\nname = "{name}"\ndynamic = ["version"]\n'
                    f"dependencies = [{', '.join(deps)}]\n"
                    f'[tool.hatch.version]\npath = "src/{module}/__init__.py"\n'
                )
                (pkg / "src" / module / "__init__.py").write_text('__version__ = "1.0.0"\n')
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Path(tmp) / "pristine"
        generate(pristine, args.packages)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        subprocess.run([*git, "init", "-q"], cwd=pristine, check=True)
        subprocess.run([*git, "add", "-A"], cwd=pristine, check=True)
        subprocess.run([*git, "commit", "-qm", "bench"], cwd=pristine, check=True)
        results: dict[str, list[float]] = {"invoke --list (baseline)": [], "check": [],
                                           "check --audit": [], "bump --dry-run": [],
                                           "bump": []}
        for _ in range(args.runs):
            work = Path(tmp) / "work"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(pristine, work)
            repo = ["--repo", str(work)]
            results["invoke --list (baseline)"].append(timed([INVOKE, "--list"], ROOT))
            results["check"].append(timed([INVOKE, "check", *repo], ROOT))
            results["check --audit"].append(timed([INVOKE, "check", "--audit", *repo], ROOT))
            results["bump --dry-run"].append(
                timed([INVOKE, "bump", "--part", "minor", "--train", "core", "--dry-run", *repo],
                      ROOT))
            results["bump"].append(
                timed([INVOKE, "bump", "--part", "minor", "--train", "core", *repo], ROOT))
            subprocess.run([INVOKE, "check", *repo], cwd=ROOT, check=True, capture_output=True)
    print(f"{args.packages} packages in {len(TRAINS)} trains, median of {args.runs} runs:")
    base = statistics.median(results["invoke --list (baseline)"])
    for name, times in results.items():
        median = statistics.median(times)
        print(f"  {name:26s} {median:6.3f} s   ({median / base:4.1f}x invoke start-up)")


if __name__ == "__main__":
    main()
