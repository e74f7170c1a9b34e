"""IndexClient reads what an index shows, from a real devpi-server and from a scripted stub."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from release.errors import IndexServerError, VersionError
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish import index as index_module
from release.publish.index import JSON_SIMPLE, IndexClient, IndexFile
from tests.helpers.dists import TinyDists, Upload
from tests.helpers.indexes import fresh_index


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def published(devpi: LocalDevpi, tiny_dists: TinyDists, twine_upload: Upload) -> LocalIndex:
    """One index holding rt-demo 1.0.0 (sdist and wheel), shared by this module's readers."""
    devpi.start()
    index = fresh_index(devpi, "published")
    done = twine_upload(index, *tiny_dists.paths)
    assert done.returncode == 0, done.stdout + done.stderr
    return index


@pytest.fixture
def index(devpi: LocalDevpi, published: LocalIndex) -> LocalIndex:
    """The shared index, with the server up even if an earlier test stopped it and failed."""
    devpi.start()
    return published


@pytest.mark.slow
@pytest.mark.parametrize("prefer_json", [True, False], ids=["pep691-json", "pep503-html"])
def test_files_lists_both_with_their_sha256(index: LocalIndex, tiny_dists: TinyDists,
                                            prefer_json: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Prove which parser ran: the other one must not be called.
    unused = "_files_from_html" if prefer_json else "_files_from_json"
    monkeypatch.setattr(index_module, unused, lambda *a: pytest.fail(f"{unused} was used"))
    client = IndexClient(index.simple_url, prefer_json=prefer_json)
    files = {f.filename: f for f in client.files("rt-demo")}
    assert set(files) == {p.name for p in tiny_dists.paths}
    for path in tiny_dists.paths:
        listed = files[path.name]
        assert listed.sha256 == sha256(path.read_bytes())
        assert listed.version == "1.0.0"
        assert not listed.yanked
        assert listed.url.startswith(index.url) and "#" not in listed.url
        assert sha256(requests.get(listed.url, timeout=10).content) == listed.sha256


@pytest.mark.slow
def test_versions_names_and_unknown_projects(index: LocalIndex,
                                             tiny_dists: TinyDists) -> None:
    client = IndexClient(index.simple_url)
    assert client.has_version("rt-demo", "1.0.0")
    assert client.has_version("RT_Demo", "1.0")  # names normalize; PEP 440: 1.0 == 1.0.0
    assert not client.has_version("rt-demo", "1.0.1")
    assert not client.has_version("rt-demo", "1.0.0rc1")
    with pytest.raises(VersionError):
        client.has_version("rt-demo", "not a version")
    assert client.files("no-such-project") == []
    assert not client.has_version("no-such-project", "1.0.0")
    wheel = client.find_file("rt.demo", tiny_dists.wheel.name)
    assert wheel is not None and wheel.filename == tiny_dists.wheel.name
    assert client.find_file("rt-demo", "rt_demo-9.9.9.tar.gz") is None


@pytest.mark.slow
def test_json_release_from_devpi(index: LocalIndex, tiny_dists: TinyDists) -> None:
    client = IndexClient(index.simple_url, index.json_api)
    assert client.json_style == "devpi"
    release = client.json_release("rt-demo", "1.0.0")
    assert release is not None and release["version"] == "1.0.0"
    hashes = {link["href"].rsplit("/", 1)[-1]: link["hashes"]["sha256"]
              for link in release["+links"]}
    assert hashes == {p.name: sha256(p.read_bytes()) for p in tiny_dists.paths}
    assert client.json_release("rt-demo", "2.0.0") is None
    assert client.json_release("no-such-project", "1.0.0") is None
    assert IndexClient(index.simple_url).json_release("rt-demo", "1.0.0") is None


def test_json_style_is_inferred_from_the_urls() -> None:
    pypi = IndexClient("https://pypi.org/simple/", "https://pypi.org/pypi")
    assert pypi.json_style == "pypi"
    # A devpi index may well be called "pypi": its simple root decides, not its name.
    devpi = IndexClient("http://127.0.0.1:1/u/pypi/+simple/", "http://127.0.0.1:1/u/pypi")
    assert devpi.json_style == "devpi"


@pytest.mark.slow
def test_stopped_server_is_a_one_line_error_quickly(devpi: LocalDevpi,
                                                    index: LocalIndex) -> None:
    # Credentials in the URL must not reach the message.
    simple = index.simple_url.replace(
        "http://", f"http://{index.username}:{index.password}@")
    client = IndexClient(simple, retries=2, backoff=0.1)
    assert len(client.files("rt-demo")) == 2
    devpi.stop()
    try:
        began = time.monotonic()
        with pytest.raises(IndexServerError) as caught:
            client.files("rt-demo")
        elapsed = time.monotonic() - began
    finally:
        devpi.start()
    message = str(caught.value)
    assert elapsed < 5
    assert "\n" not in message
    assert "cannot reach the index at http://***@127.0.0.1:" in message
    assert "connection refused" in message and "after 3 attempts" in message
    assert index.password not in message
    assert "Traceback" not in message and "HTTPConnectionPool" not in message


# -- a scripted index: what devpi does not show (yanked files, 5xx, odd pages) ---------------

Route = tuple[int, str, bytes]


class Stub:
    """A tiny HTTP server answering scripted routes and counting requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stub.hits[self.path] = stub.hits.get(self.path, 0) + 1
                status, content_type, body = stub.routes.get(
                    self.path, (404, "text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_5xx_is_retried_a_bounded_number_of_times(stub: Stub) -> None:
    stub.routes["/simple/flaky/"] = (503, "text/plain", b"busy")
    client = IndexClient(f"{stub.url}/simple/", retries=2, backoff=0.01)
    with pytest.raises(IndexServerError, match=r"answered HTTP 503"):
        client.files("flaky")
    assert stub.hits["/simple/flaky/"] == 3


def test_json_simple_page_with_yanked_and_odd_files(stub: Stub) -> None:
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": [
        {"filename": "demo-2.0.tar.gz", "url": "/files/demo-2.0.tar.gz",
         "hashes": {"sha256": "ab" * 32}, "yanked": "broken build"},
        {"filename": "demo-2.0-py3-none-any.whl", "url": "https://cdn.invalid/d.whl",
         "hashes": {}, "yanked": False},
        {"filename": "demo-1.0.egg", "url": "demo-1.0.egg", "hashes": {"md5": "00"}},
    ]}
    stub.routes["/simple/demo/"] = (200, JSON_SIMPLE, json.dumps(page).encode())
    files = IndexClient(f"{stub.url}/simple/").files("Demo")
    assert files == [
        IndexFile("demo-2.0.tar.gz", f"{stub.url}/files/demo-2.0.tar.gz", "ab" * 32, "2.0", True),
        IndexFile("demo-2.0-py3-none-any.whl", "https://cdn.invalid/d.whl", None, "2.0", False),
        IndexFile("demo-1.0.egg", f"{stub.url}/simple/demo/demo-1.0.egg", None, None, False),
    ]


def test_html_simple_page_with_base_and_yanked(stub: Stub) -> None:
    page = b"""<!DOCTYPE html><html><head><base href="/pkgs/"></head><body>
      <a href="demo-1.0.tar.gz#sha256=CDCD" data-yanked="">demo-1.0.tar.gz</a>
      <a href="sub/demo-1.1-py3-none-any.whl#md5=00">demo-1.1-py3-none-any.whl</a>
      <a name="no-href">nothing</a>
    </body></html>"""
    stub.routes["/simple/demo/"] = (200, "text/html; charset=utf-8", page)
    files = IndexClient(f"{stub.url}/simple/").files("demo")
    assert files == [
        IndexFile("demo-1.0.tar.gz", f"{stub.url}/pkgs/demo-1.0.tar.gz", "cdcd", "1.0", True),
        IndexFile("demo-1.1-py3-none-any.whl", f"{stub.url}/pkgs/sub/demo-1.1-py3-none-any.whl",
                  None, "1.1", False),
    ]


def test_unsupported_simple_api_version_is_refused(stub: Stub) -> None:
    page = {"meta": {"api-version": "2.0"}, "name": "demo", "files": []}
    stub.routes["/simple/demo/"] = (200, JSON_SIMPLE, json.dumps(page).encode())
    with pytest.raises(IndexServerError, match="simple API 2.0"):
        IndexClient(f"{stub.url}/simple/").files("demo")


def test_pypi_style_json_release(stub: Stub) -> None:
    stub.routes["/pypi/demo/1.0/json"] = (200, "application/json",
                                          json.dumps({"info": {"version": "1.0"}}).encode())
    client = IndexClient(f"{stub.url}/simple/", f"{stub.url}/pypi")
    assert client.json_release("Demo", "1.0") == {"info": {"version": "1.0"}}
    assert client.json_release("demo", "2.0") is None
