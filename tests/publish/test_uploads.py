"""Uploads to a real devpi index: hashes listed back, skips, refusals, resume after a stop."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from release.build.frontend import build_trains
from release.build.manifest import Artifact, Manifest, sha256_of
from release.config import load
from release.errors import BuildError, UploadError
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish.endpoints import Endpoint
from release.publish.index import IndexClient
from release.publish.uploads import Share, shares, upload
from tests.helpers.indexes import fresh_index
from tests.helpers.proxy import FaultProxy, Rule
from tests.helpers.repos import copy_example

pytestmark = pytest.mark.slow  # every test here is end to end

CANARY = "canary-7f3a9c2e-secret"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    repo = copy_example(tmp_path_factory.mktemp("uploads") / "repo")
    config = load(repo)
    return build_trains(config, list(config.trains.values()), progress=lambda _: None)


@pytest.fixture
def copies(built: list[Manifest], tmp_path: Path) -> list[Manifest]:
    """The built manifests, copied so a test may tamper with its files."""
    result = []
    for manifest in built:
        target = tmp_path / manifest.directory.name
        shutil.copytree(manifest.directory, target)
        result.append(Manifest.load(target))
    return result


def endpoint_for(index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Endpoint:
    monkeypatch.setenv("LOCALTEST_USERNAME", index.username)
    monkeypatch.setenv("LOCALTEST_TOKEN", index.password)
    return Endpoint("localtest", index.upload_url, index.simple_url, None, production=False,
                    allow_prereleases=False, token_env="LOCALTEST_TOKEN")


def listed(index: LocalIndex, manifests: list[Manifest]) -> dict[str, str | None]:
    client = IndexClient(index.simple_url)
    return {f.filename: f.sha256 for m in manifests for name in {a.package for a in m.artifacts}
            for f in client.files(name)}


def test_upload_lists_back_our_hashes_and_a_rerun_skips_everything(
        copies: list[Manifest], local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("PYPI_TOKEN", "TWINE_PASSWORD", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, CANARY)
    target = endpoint_for(local_index, monkeypatch)
    first = upload(copies, target)
    assert len(first.uploaded) == 28 and first.skipped == ()
    expected = {a.filename: a.sha256 for m in copies for a in m.artifacts}
    assert listed(local_index, copies) == expected
    again = upload(copies, target)
    assert again.uploaded == () and len(again.skipped) == 28
    out = capsys.readouterr()
    assert CANARY not in out.out + out.err
    assert local_index.password not in out.out + out.err


def test_a_tampered_build_is_refused_before_anything_is_sent(
        copies: list[Manifest], local_index: LocalIndex,
        monkeypatch: pytest.MonkeyPatch) -> None:
    victim = copies[0].directory / copies[0].artifacts[0].filename
    victim.write_bytes(victim.read_bytes() + b"tampered")
    with pytest.raises(BuildError, match="changed since it was built"):
        upload(copies, endpoint_for(local_index, monkeypatch))
    assert listed(local_index, copies) == {}


def impostor(manifest: Manifest, artifact: Artifact, directory: Path) -> Manifest:
    """A manifest of one file under artifact's name with other bytes: what someone else
    published under that name."""
    directory.mkdir()
    copy = directory / artifact.filename
    copy.write_bytes((manifest.directory / artifact.filename).read_bytes() + b"\0")
    other = replace(artifact, size=copy.stat().st_size, sha256=sha256_of(copy))
    return replace(manifest, artifacts=(other,), directory=directory)


def test_our_name_with_other_content_on_the_index_stops_everything(
        copies: list[Manifest], local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    target = endpoint_for(local_index, monkeypatch)
    # Someone already published a different file under one of our file names.
    artifact = copies[1].artifacts[3]
    upload([impostor(copies[1], artifact, tmp_path / "impostor")], target)
    before = listed(local_index, copies)
    with pytest.raises(UploadError) as info:
        upload(copies, target)
    message = str(info.value)
    assert f"{artifact.filename} is already on localtest with different content" in message
    assert message.endswith("Nothing was uploaded.")
    assert listed(local_index, copies) == before  # not a byte was sent


def stop_after(server: LocalDevpi, index: LocalIndex, manifests: list[Manifest],
               k: int) -> Iterator[threading.Thread]:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if len(listed(index, manifests)) >= k:
                    server.stop()
                    return
            except Exception:  # noqa: BLE001 - the server may be mid-request
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield thread
    thread.join(timeout=60)


def test_server_stopped_after_k_files_then_rerun_sends_only_the_rest(
        copies: list[Manifest], devpi: LocalDevpi, monkeypatch: pytest.MonkeyPatch) -> None:
    index = fresh_index(devpi, "stopped")
    target = endpoint_for(index, monkeypatch)
    for _ in stop_after(devpi, index, copies, k=10):
        with pytest.raises(UploadError) as info:
            upload(copies, target)
    assert "run the same command again to send the rest" in str(info.value)
    assert "\n" not in str(info.value)
    devpi.start()
    there = listed(index, copies)
    assert 10 <= len(there) < 28
    rerun = upload(copies, target)
    assert len(rerun.uploaded) == 28 - len(there)
    assert set(rerun.skipped) == set(there)
    assert listed(index, copies) == {a.filename: a.sha256 for m in copies for a in m.artifacts}
    assert os.environ["LOCALTEST_TOKEN"] not in str(info.value)


# --- concurrent uploads: several twine processes, every guarantee kept ------------------------

@pytest.fixture
def proxied(devpi: LocalDevpi) -> Iterator[FaultProxy]:
    """The session's devpi behind a proxy that records every upload the index answers, 50 ms
    away (a near index gets one connection: see test_a_near_index_gets_one_twine)."""
    with FaultProxy(devpi.url).running() as proxy:
        proxy.add("stall", times=-1, seconds=0.05)
        yield proxy


def via(proxy: FaultProxy, index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Endpoint:
    target = endpoint_for(index, monkeypatch)
    return replace(target, upload_url=proxy.translate(target.upload_url),
                   simple_url=proxy.translate(target.simple_url))


def test_shares_keep_whole_projects_in_twines_order(copies: list[Manifest]) -> None:
    files = [m.directory / a.filename for m in copies for a in m.artifacts]
    projects = {a.filename: a.package for m in copies for a in m.artifacts}
    split = shares(files, projects, 4)
    assert len(split) == 4 and all(share.after is None for share in split)
    assert sorted(p for s in split for p in s.files) == sorted(files)
    for share in split:
        for project in {projects[p.name] for p in share.files}:
            mine = [p.name for p in share.files if projects[p.name] == project]
            assert mine[0].endswith(".whl")  # as twine sends them: its wheel, then its sdist
        assert all(not [q for q in other.files
                        if projects[q.name] in {projects[p.name] for p in share.files}]
                   for other in split if other is not share)  # a project in one share only
    assert max(len(s.files) for s in split) - min(len(s.files) for s in split) <= 2  # balanced
    assert max(len(s.files) for s in shares(files, projects, 7)) == 4  # 28 files, 7 connections
    assert shares(files, projects, 1) == [Share(tuple(sorted(files, key=lambda p: (
        not p.name.endswith(".whl"), p.name))))]  # 1: one run, in twine's order
    assert len(shares(files[:2], projects, 4)) == 1  # never more shares than projects


def test_a_project_with_many_files_spreads_them_once_its_first_is_sent(tmp_path: Path) -> None:
    # One project with an sdist and 9 wheels, two small ones: 14 files, 4 connections.
    names = ["big-1.0.tar.gz", *(f"big-1.0-py3-none-plat{i}.whl" for i in range(9)),
             "a-1.0.tar.gz", "a-1.0-py3-none-any.whl", "b-1.0.tar.gz", "b-1.0-py3-none-any.whl"]
    files = []
    for name in names:
        (path := tmp_path / name).write_bytes(b"x")
        files.append(path)
    projects = {name: name.split("-")[0] for name in names}
    plan = shares(files, projects, 4)
    assert sorted(p for s in plan for p in s.files) == sorted(files)
    first = [s for s in plan if s.after is None]
    later = [s for s in plan if s.after is not None]
    assert len(first) <= 4 and {p.name for s in first for p in s.files} == {
        "big-1.0-py3-none-plat0.whl", "a-1.0.tar.gz", "a-1.0-py3-none-any.whl", "b-1.0.tar.gz",
        "b-1.0-py3-none-any.whl"}  # the big project's first file, the small ones whole
    carrier = next(i for i, s in enumerate(plan)
                   if tmp_path / "big-1.0-py3-none-plat0.whl" in s.files)
    assert len(later) == 4 and all(s.after == carrier for s in later)  # its wheels: after it
    assert max(len(s.files) for s in later) == 3  # spread over every connection


def test_concurrent_upload_sends_each_file_once_and_a_rerun_skips_them_all(
        copies: list[Manifest], local_index: LocalIndex, proxied: FaultProxy,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = via(proxied, local_index, monkeypatch)
    first = upload(copies, target, concurrency=4)
    assert "upload 28 file(s) to localtest" in (said := capsys.readouterr().out)
    assert said.rstrip().endswith("over 4 connections")
    assert sorted(proxied.faults.stored()) == sorted(first.uploaded)
    assert len(first.uploaded) == 28
    assert listed(local_index, copies) == {a.filename: a.sha256 for m in copies
                                           for a in m.artifacts}
    posts = proxied.faults.uploads()
    again = upload(copies, target, concurrency=4)
    assert again.uploaded == () and len(again.skipped) == 28
    assert proxied.faults.uploads() == posts  # identical files: not a byte sent again


def test_a_near_index_gets_one_twine(
        copies: list[Manifest], local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = upload(copies, endpoint_for(local_index, monkeypatch), concurrency=4)
    said = capsys.readouterr().out
    assert len(result.uploaded) == 28 and "upload 28 file(s) to localtest (" in said
    assert "connections" not in said  # loopback answers at once: one process, in order


def test_concurrent_upload_refuses_other_content_before_any_share_starts(
        copies: list[Manifest], local_index: LocalIndex, proxied: FaultProxy,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = via(proxied, local_index, monkeypatch)
    artifact = copies[0].artifacts[-1]  # the last file of the last share to be sent
    other = impostor(copies[0], artifact, tmp_path / "impostor")
    upload([other], target)
    posts = proxied.faults.uploads()
    with pytest.raises(UploadError, match="Nothing was uploaded.$"):
        upload(copies, target, concurrency=4)
    assert proxied.faults.uploads() == posts  # no share sent a byte
    assert listed(local_index, copies) == {artifact.filename: other.artifacts[0].sha256}


def test_server_stopped_mid_concurrent_upload_then_rerun_sends_each_file_once(
        copies: list[Manifest], devpi: LocalDevpi, proxied: FaultProxy,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    index = fresh_index(devpi, "stopped-concurrent")
    target = via(proxied, index, monkeypatch)
    started = time.monotonic()
    for _ in stop_after(devpi, index, copies, k=8):
        with pytest.raises(UploadError) as info:
            upload(copies, target, concurrency=4)
    assert time.monotonic() - started < 60  # the other shares stopped, none hung
    assert "over 4 connections" in capsys.readouterr().out
    message = str(info.value)
    assert "run the same command again to send the rest" in message and "\n" not in message
    devpi.start()
    there = listed(index, copies)
    assert 8 <= len(there) < 28
    # Accepted by the index, once each (one whose answer the stop cut off is there unheard).
    assert set(proxied.faults.stored()) <= set(there)
    assert len(proxied.faults.stored()) == len(set(proxied.faults.stored()))
    before = len(proxied.faults.posted)
    rerun = upload(copies, target, concurrency=4)
    everything = {a.filename: a.sha256 for m in copies for a in m.artifacts}
    missing = set(everything) - set(there)
    assert set(rerun.skipped) == set(there) and sorted(rerun.uploaded) == sorted(missing)
    sent_again = [name for name, _ in proxied.faults.posted[before:]]
    assert sorted(sent_again) == sorted(missing)  # only what was missing, each once
    assert listed(index, copies) == everything
    assert not Counter(proxied.faults.stored()) - Counter(list(everything))  # none twice


def in_flight_after(events: list[tuple[float, str, str]], start: int) -> int:
    """The most uploads the index was busy with at once, from event `start` on."""
    busy = peak = 0
    for _, kind, what in events[start:]:
        if kind == "arrived" and what.startswith("POST "):
            busy += 1
            peak = max(peak, busy)
        elif kind == "answered" and not what.startswith(("GET ", "POST ", "PUT ", "HEAD ")):
            busy -= 1
    return peak


def test_a_project_with_many_wheels_goes_over_every_connection_after_its_sdist(
        copies: list[Manifest], local_index: LocalIndex, proxied: FaultProxy,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    core = next(m for m in copies if m.train == "core")
    sdist, wheel = (next(a for a in core.artifacts
                         if a.package == "skyline-core" and a.kind == kind)
                    for kind in ("sdist", "wheel"))
    small = [a for a in core.artifacts if a.package == "skyline"]
    # The same wheel under six more platform tags: one project with 8 files among 10.
    extra = []
    for tag in ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "musllinux_1_2_x86_64",
                "win_amd64", "win32", "macosx_11_0_arm64"):
        name = wheel.filename.replace("-any.whl", f"-{tag}.whl")
        shutil.copyfile(core.directory / wheel.filename, core.directory / name)
        extra.append(replace(wheel, filename=name))
    many = replace(core, artifacts=(sdist, wheel, *extra, *small))
    target = via(proxied, local_index, monkeypatch)
    # Each upload takes half a second at the index: uploads sent at once overlap there even
    # when a busy machine starts them some tenths of a second apart.
    proxied.faults.rules.insert(0, Rule("stall", method="POST", times=-1, seconds=0.5))
    result = upload([many], target, concurrency=4)
    assert "upload 10 file(s) to localtest" in capsys.readouterr().out
    assert sorted(result.uploaded) == sorted(a.filename for a in many.artifacts)
    assert listed(local_index, [many]) == {a.filename: a.sha256 for a in many.artifacts}
    events = proxied.faults.events
    for package in ("skyline-core", "skyline"):
        mine = {a.filename for a in many.artifacts if a.package == package}
        sent = [(i, e[2]) for i, e in enumerate(events) if e[1] == "sent" and e[2] in mine]
        first = events.index(next(e for e in events if e[1:] == ("answered", sent[0][1])))
        assert all(i > first for i, _ in sent[1:])  # its first file stored before the next goes
    # ... and then skyline-core's other seven files went over more than one connection at once.
    lead = next(e[2] for e in events if e[1] == "sent" and e[2].startswith("skyline_core"))
    assert in_flight_after(events, events.index(next(
        e for e in events if e[1:] == ("answered", lead)))) >= 2
    assert sorted(proxied.faults.stored()) == sorted(result.uploaded)  # each file once
