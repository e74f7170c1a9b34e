"""Benchmark: upload the example's 28 files through a loopback proxy adding 150 ms to every
request (a real index's round trip), release-train's concurrent upload vs one twine process.

Usage: python bench/upload.py [--runs 3] [--latency 0.15] [--concurrency 4]
Each run uploads to fresh indexes of one local devpi-server: ours (`release.publish.uploads.upload`:
the index asked about every file first, then `--concurrency` twine processes, each with a share
of whole projects) and the baseline (one `twine upload` of the 28 files, what a release did
before). Prints each side's median and the ratio; exits 1 unless ours is >= 3x faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release.build.frontend import build_trains  # noqa: E402
from release.config import load  # noqa: E402
from release.errors import ReleaseError  # noqa: E402
from release.pipeline.localindex import LocalDevpi, LocalIndex  # noqa: E402
from release.publish.endpoints import Endpoint  # noqa: E402
from release.publish.uploads import upload  # noqa: E402
from tests.proxy import FaultProxy  # noqa: E402
from tests.repos import copy_example  # noqa: E402

GOAL = 3.0


def endpoint(index: LocalIndex, proxy: FaultProxy) -> Endpoint:
    os.environ["BENCH_TOKEN"] = index.upload_password  # both sides: the login token
    os.environ["BENCH_USERNAME"] = index.username
    return Endpoint("bench", proxy.translate(index.upload_url),
                    proxy.translate(index.simple_url), None, production=False,
                    allow_prereleases=False, token_env="BENCH_TOKEN")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    ours, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp, LocalDevpi(Path(tmp) / "devpi") as server:
        server.start()
        repo = copy_example(Path(tmp) / "repo")
        config = load(repo)
        manifests = build_trains(config, list(config.trains.values()), progress=lambda _: None)
        files = [str(p) for m in manifests for p in m.files()]
        with FaultProxy(server.url).running() as proxy:
            proxy.add("stall", times=-1, seconds=args.latency)  # every request, both sides
            for run in range(args.runs):
                index = server.create_index(f"ours{run}")
                start = time.perf_counter()
                result = upload(manifests, endpoint(index, proxy), say=lambda _: None,
                                concurrency=args.concurrency)
                ours.append(time.perf_counter() - start)
                if len(result.uploaded) != len(files):
                    sys.exit(f"error: ours uploaded {len(result.uploaded)} of {len(files)}")
                index = server.create_index(f"twine{run}")
                env = {**os.environ, "TWINE_USERNAME": index.username,
                       "TWINE_PASSWORD": index.upload_password}
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "twine", "upload", "--non-interactive",
                     "--disable-progress-bar", "--repository-url",
                     proxy.translate(index.upload_url), *sorted(
                         files, key=lambda f: (not f.endswith(".tar.gz"), f))],
                    capture_output=True, text=True, env=env, timeout=600)
                baseline.append(time.perf_counter() - start)
                if done.returncode != 0:
                    sys.exit(f"error: twine upload failed: {done.stdout.splitlines()[-1:]}")
            posts = proxy.faults.uploads()
    a, b = statistics.median(ours), statistics.median(baseline)
    print(f"upload of {len(files)} files through a proxy adding {args.latency * 1000:.0f} ms "
          f"per request, median of {args.runs} ({posts} uploads seen):")
    print(f"  release-train, {args.concurrency} connections (index asked first): {a:6.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in ours)})")
    print(f"  one twine process (baseline):                       {b:6.2f} s  "
          f"({', '.join(f'{t:.2f}' for t in baseline)})")
    print(f"  ratio: {b / a:.1f}x faster (goal >= {GOAL:g}x)")
    sys.exit(0 if b / a >= GOAL else 1)


if __name__ == "__main__":
    try:
        main()
    except ReleaseError as exc:
        sys.exit(f"error: {exc}")
