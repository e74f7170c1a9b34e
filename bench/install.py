"""Benchmark: install-back of the example's 14 packages on 3 Pythons, ours vs venv + pip.

Usage: python bench/install.py [--runs 3]
Both sides do the same work: install the same `name==version` set from the same local devpi
index into a fresh environment per Python, isolated from the user's pip configuration, prove
every installed file against the built wheel, and smoke-test imports and console scripts (the
same functions). Ours makes the environments and installs with uv, every Python at once (as
verify does); the baseline with `python -m venv` + `pip install`, one Python after the other.
Medians of --runs each, and the ratio.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release.build.frontend import build_trains  # noqa: E402
from release.config import load  # noqa: E402
from release.pipeline.localindex import LocalDevpi  # noqa: E402
from release.verify.installs import (  # noqa: E402
    Wheel,
    install_back,
    prove_installed,
    smoke,
)
from release.verify.interpreters import find_all  # noqa: E402
from release.verify.report import workers  # noqa: E402
from release.verify.uvconfig import clean_env  # noqa: E402
from tests.helpers.repos import copy_example  # noqa: E402


def pip_baseline(python: Path, index: str, wheels: list[Wheel], workdir: Path) -> None:
    env_dir = Path(tempfile.mkdtemp(dir=workdir))
    subprocess.run([str(python), "-m", "venv", str(env_dir)], check=True)
    env = {**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env_python = env_dir / "bin" / "python"
    subprocess.run([str(env_python), "-m", "pip", "install", "--isolated", "--quiet",
                    "--no-cache-dir", "--index-url", index,
                    *[f"{w.name}=={w.version}" for w in wheels]], check=True, env=env)
    proven = prove_installed(env_python, wheels)
    smoked = smoke(env_python, wheels)
    assert set(proven.values()) == set(smoked.values()) == {"ok"}, (proven, smoked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pythons = find_all(("3.11", "3.12", "3.13"))
    with tempfile.TemporaryDirectory() as tmp, LocalDevpi(Path(tmp) / "devpi") as server:
        server.start()
        index = server.create_index("bench")
        repo = copy_example(Path(tmp) / "repo")
        config = load(repo)
        manifests = build_trains(config, list(config.trains.values()), progress=lambda _: None)
        files = [str(p) for m in manifests for p in m.files()]
        subprocess.run([sys.executable, "-m", "twine", "upload", "--non-interactive",
                        "--disable-progress-bar", "--repository-url", index.upload_url,
                        f"--username={index.username}", f"--password={index.password}", *files],
                       check=True, capture_output=True, env={**os.environ})
        wheels = [Wheel.read(Path(f)) for f in files if f.endswith(".whl")]
        ours, serial, baseline = [], [], []
        for _ in range(args.runs):
            work = Path(tempfile.mkdtemp(dir=tmp))
            start = time.perf_counter()
            # As verify runs them: every Python at once, one uv cache (cold: this run's own).
            with ThreadPoolExecutor(max_workers=workers(len(pythons))) as pool:
                jobs = [pool.submit(install_back, p, wheels, [index.simple_url], work,
                                    cache_dir=work / "uv-cache") for p in pythons]
                results = [job.result() for job in jobs]
            ours.append(time.perf_counter() - start)
            assert all(r.ok for r in results), [r.error for r in results]
            start = time.perf_counter()
            for python in pythons:  # the same, one Python after the other (a fresh cache)
                result = install_back(python, wheels, [index.simple_url], work,
                                      cache_dir=work / "uv-cache-serial")
                assert result.ok, result.error
            serial.append(time.perf_counter() - start)
            start = time.perf_counter()
            for python in pythons:
                pip_baseline(python.path, index.simple_url, wheels, work)
            baseline.append(time.perf_counter() - start)
            shutil.rmtree(work)
    a, b = statistics.median(ours), statistics.median(baseline)
    names = ", ".join(p.version for p in pythons)
    print(f"install-back of {len(wheels)} packages on Pythons {names}, median of {args.runs}:")
    print(f"  release-train (uv venv + uv pip, proof, smoke):    {a:6.2f} s  (every Python at "
          f"once; one after the other: {statistics.median(serial):.2f} s)")
    print(f"  python -m venv + pip install, same proof + smoke: {b:6.2f} s")
    print(f"  ratio: {b / a:.1f}x faster (goal >= 8x)")
    sys.exit(0 if b / a >= 8 else 1)


if __name__ == "__main__":
    main()
