"""Benchmark: upload the example's 28 files through a loopback proxy adding 150 ms to every
request (a real index's round trip), release-train's concurrent upload vs one twine process.

Usage: python bench/upload.py [--runs 3] [--latency 0.15] [--concurrency 8]
Each run uploads to fresh indexes of one local devpi-server: ours (`release.publish.uploads.upload`:
the index asked about every file first, then `--concurrency` twine processes (default: the
configured default), each with a share of whole projects) and the baseline (one `twine upload`
of the 28 files, what a release did before). Prints each side's median and the ratio, and
where our median run spent its time (from the proxy's log: asking the index, until the first
upload arrives, each share's sending); exits 1 unless ours is >= 3x faster.
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

from release.build.frontend import Manifest, build_trains  # noqa: E402
from release.config import DEFAULT_UPLOAD_CONCURRENCY, load  # noqa: E402
from release.errors import ReleaseError  # noqa: E402
from release.pipeline.localindex import LocalDevpi, LocalIndex  # noqa: E402
from release.publish.endpoints import Endpoint  # noqa: E402
from release.publish.uploads import shares, upload  # noqa: E402
from tests.helpers.proxy import FaultProxy  # noqa: E402
from tests.helpers.repos import copy_example  # noqa: E402

GOAL = 3.0


def endpoint(index: LocalIndex, proxy: FaultProxy) -> Endpoint:
    os.environ["BENCH_TOKEN"] = index.upload_password  # both sides: the login token
    os.environ["BENCH_USERNAME"] = index.username
    return Endpoint("bench", proxy.translate(index.upload_url),
                    proxy.translate(index.simple_url), None, production=False,
                    allow_prereleases=False, token_env="BENCH_TOKEN")


def breakdown(events: list[tuple[float, str, str]], began: float,
              manifests: list[Manifest], concurrency: int) -> str:
    """Asking the index (until its last answer), the wait for the first upload to arrive
    (twine starting), and each share's span from its first file sent to its last answered."""
    asked = max((t for t, kind, what in events if kind == "answered"
                 and what.startswith("GET ")), default=began) - began
    first = min((t for t, kind, what in events if kind == "arrived"
                 and what.startswith("POST ")), default=began) - began
    done = {what: t for t, kind, what in events if kind == "answered"}
    sent = {what: t for t, kind, what in events if kind == "sent"}
    files = [m.directory / a.filename for m in manifests for a in m.artifacts]
    projects = {a.filename: a.package for m in manifests for a in m.artifacts}
    plan = shares(files, projects, concurrency)
    spans = [max(done[p.name] for p in share.files) - min(sent[p.name] for p in share.files)
             for share in plan]
    sizes = sorted(len(share.files) for share in plan)
    return (f"index asked {asked:.2f} s; first upload arrived at {first:.2f} s; {len(plan)} "
            f"shares of {sizes[0]}-{sizes[-1]} files, each sending for {min(spans):.2f}-"
            f"{max(spans):.2f} s; all answered at {max(done.values()) - began:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_UPLOAD_CONCURRENCY)
    args = parser.parse_args()
    ours, baseline, breakdowns = [], [], []
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
                seen = len(proxy.faults.events)
                began = time.monotonic()
                start = time.perf_counter()
                result = upload(manifests, endpoint(index, proxy), say=lambda _: None,
                                concurrency=args.concurrency)
                ours.append(time.perf_counter() - start)
                breakdowns.append(breakdown(proxy.faults.events[seen:], began, manifests,
                                            args.concurrency))
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
    median_run = ours.index(sorted(ours)[len(ours) // 2])
    print(f"  where our median run's time went: {breakdowns[median_run]}")
    sys.exit(0 if b / a >= GOAL else 1)


if __name__ == "__main__":
    try:
        main()
    except ReleaseError as exc:
        sys.exit(f"error: {exc}")
