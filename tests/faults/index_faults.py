"""Faults on the way to and from an index: down, slow, failing part-way, refusing, lying,
trickling; a kill or a full disk during the upload; a record edited after the build. Most run
the testpypi session in the lab (tests/faults/lab.py), TestPyPI behind the fault proxy."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from release.build.manifest import sha256_of
from release.pipeline.localindex import LocalDevpi
from release.publish.index import IndexClient
from tests.faults.lab import SIMPLE, UPLOAD, Lab, Seen, scenario
from tests.helpers.canary import canary_index
from tests.helpers.commands import invoke
from tests.helpers.repos import BIN, ROOT, env


@scenario("index-down")
def _index_down(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.down()
    seen = lab.session("testpypi")
    assert lab.listed() == {}
    assert lab.step("testpypi-upload")["status"] == "failed"
    assert "connection refused" in seen.line
    lab.proxy.up()
    lab.completes()
    return seen


@scenario("read-timeout")
def _read_timeout(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.monkeypatch.setattr("release.publish.endpoints.IndexClient",
                            partial(IndexClient, timeout=0.5, retries=1))
    lab.proxy.add("stall", method="GET", pattern=SIMPLE, seconds=1.5, times=-1)
    seen = lab.session("testpypi")
    assert "no answer within 0.5 s (gave up after 2 attempts)" in seen.line
    assert lab.listed() == {}
    assert lab.step("testpypi-upload")["status"] == "failed"
    lab.completes()
    return seen


def _fails_at_file_two(request: pytest.FixtureRequest, action: str, there: int) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.add(action, **UPLOAD, skip=1, times=-1)
    seen = lab.session("testpypi")
    assert seen.line.endswith("run the same command again to send the rest")
    assert len(lab.listed()) == there
    assert lab.listed().items() <= lab.ours().items()
    assert lab.step("testpypi-upload")["status"] == "failed"
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == there
    assert f"upload {4 - there} file(s) to testpypi" in done.output
    return seen


@scenario("http-500")
def _http_500(request: pytest.FixtureRequest) -> Seen:
    seen = _fails_at_file_two(request, "status", there=1)
    assert "HTTPError: 500 Internal Server Error from http://127.0.0.1:" in seen.line
    return seen


@scenario("connection-reset")
def _connection_reset(request: pytest.FixtureRequest) -> Seen:
    seen = _fails_at_file_two(request, "reset", there=1)
    assert "Connection reset by peer" in seen.line
    return seen


@scenario("answer-lost")
def _answer_lost(request: pytest.FixtureRequest) -> Seen:
    return _fails_at_file_two(request, "lost", there=2)


def _impostor(wheel: Path, out: Path) -> Path:
    """Our wheel's name, other bytes (a file someone else published under that name)."""
    out.mkdir()
    target = out / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            copy.writestr(item, source.read(item))
        copy.comment = b"not ours"
    return target


@scenario("name-taken")
def _name_taken(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    twine_upload = request.getfixturevalue("twine_upload")
    tmp: Path = request.getfixturevalue("tmp_path")
    wheel = next(p for p in lab.files if p.name.startswith("skyline_core") and
                 p.suffix == ".whl")
    impostor = _impostor(wheel, tmp / "impostor")
    assert twine_upload(lab.testpypi, impostor).returncode == 0
    before = lab.listed()
    seen = lab.session("testpypi")
    assert seen.line.endswith("Nothing was uploaded.")
    assert lab.listed() == before == {wheel.name: sha256_of(impostor)}
    again = lab.session("testpypi")
    assert (again.exit, again.line) == (seen.exit, seen.line)
    assert lab.listed() == before
    return seen


@scenario("wrong-token")
def _wrong_token(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    server: LocalDevpi = request.getfixturevalue("server")
    real = canary_index(server, "realtoken", password="the-real-token-1234")
    lab.testpypi = real
    for name, value in lab.values().items():
        lab.monkeypatch.setenv(name, value)  # the index wants another token than the canary
    seen = lab.session("testpypi")
    assert "HTTPError: 401 Unauthorized" in seen.line
    assert seen.line.endswith("check the token in TESTPYPI_TOKEN, then run the same command "
                              "again")
    assert lab.listed() == {}
    lab.monkeypatch.setenv("TESTPYPI_TOKEN", real.password)
    lab.completes()
    return seen


def _with_setting(request: pytest.FixtureRequest, name: str, value: str | None
                  ) -> tuple[Seen, bool]:
    """Run with one variable changed (None: unset): nothing is uploaded; set back, the same
    command completes. Returns what was seen and whether a record was written."""
    lab: Lab = request.getfixturevalue("lab")
    good = os.environ[name]
    if value is None:
        lab.monkeypatch.delenv(name)
    else:
        lab.monkeypatch.setenv(name, value)
    seen = lab.session("testpypi")
    assert lab.listed() == {}
    recorded = (lab.repo / ".release").exists()
    lab.monkeypatch.setenv(name, good)
    lab.completes()
    return seen, recorded


@scenario("no-credentials")
def _no_credentials(request: pytest.FixtureRequest) -> Seen:
    request.getfixturevalue("monkeypatch").delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    seen, _ = _with_setting(request, "TESTPYPI_TOKEN", None)
    return seen


@scenario("insecure-index")
def _insecure_index(request: pytest.FixtureRequest) -> Seen:
    seen, recorded = _with_setting(request, "TESTPYPI_UPLOAD_URL",
                                   "http://test.pypi.example.org/legacy/")
    assert not recorded  # refused before anything, the record included
    return seen


@scenario("slow-propagation")
def _slow_propagation(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.faults.lag_after_upload = 1.2
    seen = lab.session("testpypi")
    assert seen.exit == 0, seen.output[-2000:]
    assert "all 4 files visible after" in seen.output
    waited = lab.record()["verifications"]["testpypi"]["waited"]
    assert waited >= 0.5
    assert lab.listed() == lab.ours()
    return Seen(seen.exit, next(ln for ln in seen.output.splitlines()
                                if ln.startswith("waiting for")), seen.output)


@scenario("propagation-deadline")
def _propagation_deadline(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.faults.lag_after_upload = 60.0
    seen = lab.session("testpypi", "--wait", "1")
    assert "rerun to keep waiting, or raise the deadline with --wait" in seen.line
    assert lab.step("testpypi-upload")["status"] == "done"
    assert lab.step("testpypi-verify")["status"] == "failed"
    done = lab.completes()
    assert re.search(r"testpypi-upload: done before on http://\S+/, skipped", done.output)
    return seen


@scenario("fallback-higher")
def _fallback_higher(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    twine_upload = request.getfixturevalue("twine_upload")
    higher = request.getfixturevalue("higher_core")
    assert twine_upload(lab.pypi, *higher).returncode == 0  # PyPI is the fallback of TestPyPI
    seen = lab.session("testpypi")
    assert seen.exit == 0, seen.output[-2000:]
    report = lab.record()["verifications"]["testpypi"]
    assert report["pythons"][0]["packages"] == {"skyline": "ok", "skyline-core": "ok"}
    assert IndexClient(lab.pypi.simple_url).has_version("skyline-core", "99.0.0")
    return Seen(seen.exit, "result: ok", seen.output)


@scenario("killed-upload")
def _killed_upload(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    running: list[subprocess.Popen[str]] = []
    lab.proxy.add("after", **UPLOAD, skip=1, hook=lambda: os.killpg(running[0].pid,
                                                                  signal.SIGKILL))
    argv = [str(BIN / "nox"), "-s", "testpypi", "-p", "3.11", "--", "--repo", str(lab.repo),
            "--dist", str(lab.dist), "--platform", "windows"]
    running.append(subprocess.Popen(argv, cwd=ROOT, env=env(**lab.values()), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True))
    output, _ = running[0].communicate(timeout=300)
    assert running[0].returncode == -signal.SIGKILL, output[-2000:]
    lab.outputs.append(output)
    assert len(lab.listed()) == 2
    assert lab.step("testpypi-upload")["status"] == "running"
    status = invoke("status", "--repo", str(lab.repo))
    assert "core 0.4.2: in progress" in status.stdout
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == 2
    assert lab.step("testpypi-upload")["attempts"] == 2
    return Seen(done.exit, next(ln for ln in done.output.splitlines() if "already on" in ln),
                done.output)


@scenario("disk-full-record")
def _disk_full_record(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    record = lab.repo / ".release" / "core-0.4.2.json"
    real = os.fsync
    kept: list[bytes] = []

    def fsync(fd: int) -> None:
        """The disk is full for the record once the upload is done: the write fails when it
        is flushed, as it does on a real full disk."""
        path = os.readlink(f"/proc/self/fd/{fd}")
        if f"/.release/.{record.name}." in path and '"uploaded"' in Path(path).read_text():
            kept.append(record.read_bytes())
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    lab.monkeypatch.setattr(os, "fsync", fsync)
    seen = lab.session("testpypi")
    lab.monkeypatch.setattr(os, "fsync", real)
    assert "No space left on device" in seen.line
    assert kept and record.read_bytes() == kept[0]  # the record as it was before that write
    assert json.loads(record.read_text())["steps"]["testpypi-upload"]["status"] == "running"
    assert sorted(p.name for p in record.parent.iterdir()) == [".gitignore", record.name]
    assert lab.listed() == lab.ours()  # the upload itself went through
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == 4
    return seen


class _Loopback:
    """A tiny HTTP server on 127.0.0.1 whose handler the test writes (real sockets)."""

    def __init__(self, handle: Callable[[Any], None]) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handle(self)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up on a trickle: expected

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@scenario("url-backslash")
def _url_backslash(request: pytest.FixtureRequest) -> Seen:
    import requests

    lab: Lab = request.getfixturevalue("lab")
    seen_paths: list[str] = []

    def answer(handler: Any) -> None:
        seen_paths.append(handler.path)
        handler.send_response(204)
        handler.end_headers()

    server = _Loopback(answer)
    try:
        tricky = server.url.replace("http://", "http://evil\\@") + "/"
        # The connection, not only the check: requests really goes to "evil", not loopback.
        with pytest.raises(requests.ConnectionError):
            requests.get(tricky, timeout=2)
        assert requests.get(server.url + "/", timeout=2).status_code == 204
        assert seen_paths == ["/"]
        lab.monkeypatch.setenv("TESTPYPI_UPLOAD_URL", tricky)
        seen = lab.session("testpypi")
        from release.errors import ConfigError
        from release.publish.endpoints import require_secure

        with pytest.raises(ConfigError, match="backslash"):
            require_secure("http://evil\\@127.0.0.1:1/", "GITHUB_API_URL")
    finally:
        server.close()
    assert seen_paths == ["/"] and lab.listed() == {}
    return seen


@scenario("trickle")
def _trickle(request: pytest.FixtureRequest) -> Seen:
    import time

    lab: Lab = request.getfixturevalue("lab")

    def trickle(handler: Any) -> None:
        if handler.command == "POST":  # an upload: never answered
            time.sleep(30)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)

    server = _Loopback(trickle)
    try:
        lab.monkeypatch.setenv("RELEASE_DEADLINE", "2")
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", server.url + "/")
        started = time.monotonic()
        seen = lab.session("testpypi")
        assert time.monotonic() - started < 15
        # The upload never answered: the index lists nothing (a real, empty index), the
        # POST goes to the server that never answers.
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", lab.proxy.translate(lab.testpypi.simple_url))
        lab.monkeypatch.setenv("TESTPYPI_UPLOAD_URL", server.url + "/")
        lab.monkeypatch.setenv("RELEASE_UPLOAD_DEADLINE", "3")
        started = time.monotonic()
        upload = lab.session("testpypi")
        assert time.monotonic() - started < 30
        assert upload.exit == 1 and "uploading 4 file(s) to" in upload.line
        assert "gave up after 3 s" in upload.line
    finally:
        server.close()
    assert lab.listed() == {}
    return seen


@scenario("listed-without-hash")
def _listed_without_hash(request: pytest.FixtureRequest) -> Seen:
    from release.publish.index import _files_from_json

    lab: Lab = request.getfixturevalue("lab")
    wheel = next(p for p in lab.files if p.name.startswith("skyline_core-")
                 and p.suffix == ".whl")

    def listing(handler: Any) -> None:
        if handler.path.endswith(".whl"):
            body = b"not our wheel"
        else:
            body = f'<a href="/files/{wheel.name}">{wheel.name}</a>'.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = _Loopback(listing)
    try:
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", server.url + "/")
        seen = lab.session("testpypi")
    finally:
        server.close()
    assert lab.listed() == {}

    class Answer:
        url = "http://127.0.0.1/simple/x/"

        @staticmethod
        def json() -> dict[str, Any]:
            return {"meta": {"api-version": "1.1"}, "files": [
                {"filename": "x-1.0.tar.gz", "url": "x-1.0.tar.gz", "hashes": {"sha256": "AB"}}]}

    (listed,) = _files_from_json(Answer(), Answer.url)  # type: ignore[arg-type]
    assert listed.sha256 == "ab"
    return seen


@scenario("record-edited")
def _record_edited(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    first = lab.session("testpypi")
    assert first.exit == 0, first.output[-3000:]
    record = lab.repo / ".release" / "core-0.4.2.json"
    data = json.loads(record.read_text())
    data["artifacts"][0]["sha256"] = "f" * 64
    record.write_text(json.dumps(data))
    seen = lab.session("testpypi")
    assert "hash mismatch: the record has " + "f" * 64 in seen.line
    assert lab.listed() == lab.ours()
    return seen
