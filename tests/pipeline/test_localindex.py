"""The local devpi-server behaves like PyPI where releases care, and survives restarts."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
import requests

from release.errors import IndexServerError
from release.pipeline.devpidata import TEMPLATE_FORMAT
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish.index import IndexClient
from release.redaction import redact
from tests.helpers.commands import rehearse_argv
from tests.helpers.dists import TinyDists, Upload
from tests.helpers.indexes import start_devpi
from tests.helpers.repos import EXAMPLE, ROOT, env

pytestmark = pytest.mark.slow  # every test here is end to end


def altered_copy(wheel: Path, directory: Path) -> Path:
    """The same file name with different bytes (a zip comment keeps the wheel valid)."""
    copy = directory / wheel.name
    shutil.copy(wheel, copy)
    with zipfile.ZipFile(copy, "a") as archive:
        archive.comment = b"a different build"
    assert hashlib.sha256(copy.read_bytes()).digest() != hashlib.sha256(wheel.read_bytes()).digest()
    return copy


def test_server_starts_fast_and_index_is_pypi_like(devpi: LocalDevpi,
                                                   local_index: LocalIndex) -> None:
    assert devpi.running
    assert devpi.startup_seconds is not None and devpi.startup_seconds < 5
    assert devpi.url.startswith("http://127.0.0.1:")
    assert local_index.simple_url == f"{local_index.url}/+simple/"
    config = requests.get(local_index.url, headers={"Accept": "application/json"},
                          timeout=10).json()["result"]
    assert config["volatile"] is False
    assert config["bases"] == []


def test_passwords_stay_out_of_output(local_index: LocalIndex) -> None:
    assert local_index.password not in repr(local_index)
    assert local_index.password not in redact(f"login with {local_index.password}")


def test_restart_keeps_data_and_url(devpi: LocalDevpi, local_index: LocalIndex,
                                    tiny_dists: TinyDists, twine_upload: Upload) -> None:
    assert twine_upload(local_index, tiny_dists.sdist).returncode == 0
    url = devpi.url
    devpi.stop()
    assert not devpi.running
    devpi.start()
    assert devpi.url == url
    assert devpi.startup_seconds is not None and devpi.startup_seconds < 5
    client = IndexClient(local_index.simple_url)
    assert [f.filename for f in client.files("rt-demo")] == [tiny_dists.sdist.name]
    # The user and its password survive the restart too: uploading still works.
    assert twine_upload(local_index, tiny_dists.wheel).returncode == 0


def test_identical_reupload_is_accepted_and_different_is_refused(
        local_index: LocalIndex, tiny_dists: TinyDists, twine_upload: Upload,
        tmp_path: Path) -> None:
    assert twine_upload(local_index, tiny_dists.wheel).returncode == 0
    # devpi answers 200 "Upload of identical file to non volatile index." (PyPI answers 200 too).
    again = twine_upload(local_index, tiny_dists.wheel)
    assert again.returncode == 0, again.stdout + again.stderr
    different = twine_upload(local_index, altered_copy(tiny_dists.wheel, tmp_path))
    output = different.stdout + different.stderr
    assert different.returncode != 0
    assert "409" in output and "already exists in non-volatile index" in output
    listed = IndexClient(local_index.simple_url).find_file("rt-demo", tiny_dists.wheel.name)
    assert listed is not None
    assert listed.sha256 == hashlib.sha256(tiny_dists.wheel.read_bytes()).hexdigest()


def test_failed_start_raises_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalDevpi(tmp_path / "devpi", port=taken.getsockname()[1])
        with pytest.raises(IndexServerError) as caught:
            server.start()
    server.close()
    message = str(caught.value)
    assert "devpi-server exited" in message
    assert str(server.log_path) in message
    assert "address already in use" in message.lower()
    assert not server.running


def test_new_servers_copy_one_template_that_devpi_init_made_once(tmp_path: Path) -> None:
    """devpi-init runs once per devpi-server version (in the tool's cache); each server gets
    a copy with a node id of its own, and root's password is one nobody was given."""
    cache = tmp_path / "cache"
    first = LocalDevpi(tmp_path / "one", cache_dir=cache)
    second = LocalDevpi(tmp_path / "two", cache_dir=cache)
    try:
        first.start()
        templates = list((cache / "devpi-templates").iterdir())
        assert [t.name for t in templates] == \
            [f"devpi-server-{version('devpi-server')}-{TEMPLATE_FORMAT}"]
        assert (cache / "devpi-templates").stat().st_mode & 0o077 == 0
        made = templates[0].stat().st_mtime_ns
        second.start()
        assert templates[0].stat().st_mtime_ns == made
        assert "setting password for user 'root'" in first.log_path.read_text()
        assert "setting password for user 'root'" not in second.log_path.read_text()
        ids = {json.loads((s.data_dir / ".nodeinfo").read_text())["uuid"] for s in (first, second)}
        assert len(ids) == 2
        # A damaged template (its database gone) is made again, not copied.
        (templates[0] / ".sqlite").unlink()
        third = LocalDevpi(tmp_path / "three", cache_dir=cache).start()
        third.close()
        assert (templates[0] / ".sqlite").is_file()
        for server in (first, second):
            index = server.create_index("copied")
            answer = requests.get(index.url, headers={"Accept": "application/json"}, timeout=10)
            assert answer.json()["result"]["volatile"] is False
            root = requests.post(f"{server.url}/+login", json={"user": "root", "password": ""},
                                 headers={"Accept": "application/json"}, timeout=10)
            assert root.status_code == 401
    finally:
        first.close()
        second.close()
    # A cache it cannot write: one line, as the rehearsal shows it, and an exit code.
    (tmp_path / "a-file").write_text("not a directory\n")
    out = subprocess.run(rehearse_argv(EXAMPLE, tmp_path / "ws"), cwd=ROOT,
                         env=env(RELEASE_TRAIN_CACHE_DIR=str(tmp_path / "a-file")),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"error: cannot write devpi's template in {tmp_path / 'a-file' / 'devpi-templates'}: "
        "Not a directory (set RELEASE_TRAIN_CACHE_DIR to a directory you can write)"], out.stderr


# A writer killed in the middle of a transaction, as devpi-server is when it is stopped (or
# the rehearsal killed) while it stores an upload: its rollback journal stays behind, hot.
KILLED_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")  # spill to the database file before the commit
conn.execute("BEGIN IMMEDIATE")
conn.execute("CREATE TABLE half_written (x BLOB)")
for _ in range(200):
    conn.execute("INSERT INTO half_written VALUES (randomblob(4000))")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_server_killed_while_writing_starts_again(tmp_path: Path, tiny_dists: TinyDists,
                                                     twine_upload: Upload) -> None:
    """devpi-server reads its database read-only first: left as a killed write leaves it, it
    would refuse to start ("attempt to write a readonly database") until rolled back."""
    server = start_devpi(tmp_path)
    try:
        index = server.create_index("killed")
        assert twine_upload(index, tiny_dists.sdist).returncode == 0
        server.stop()
        database = server.data_dir / ".sqlite"
        writer = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(database)],
                                capture_output=True, text=True, timeout=60)
        assert writer.returncode == -signal.SIGKILL, writer.stderr
        assert (server.data_dir / ".sqlite-journal").stat().st_size > 0  # hot: a killed write
        server.start()
        assert [f.filename for f in IndexClient(index.simple_url).files("rt-demo")] == \
            [tiny_dists.sdist.name]
        assert twine_upload(index, tiny_dists.wheel).returncode == 0
        assert not (server.data_dir / ".sqlite-journal").exists()
    finally:
        server.close()
