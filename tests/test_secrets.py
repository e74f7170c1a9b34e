"""Secret hygiene and boundaries.

A canary token (tests/helpers/canary.py) sits in every credential variable while the release
fails in many ways (here and in every scenario of tests/pipeline/test_faults.py) and while full
releases and rehearsals run (tests/pipeline/test_release.py, test_resume.py); it must never
appear in output, logs, records, notes, exception text or any file left behind. Also: URLs with
credentials are redacted, plain http is refused off loopback, and nothing from the config is
ever read by a shell.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from release import sessions
from release.config import load
from release.errors import ConfigError
from release.pipeline.localindex import LocalDevpi
from release.proc import run
from release.publish.endpoints import endpoint
from release.redaction import MASK, SECRET_VARIABLES, redact, register
from tests.helpers.canary import CANARY, canary_env, canary_index, canary_indexes, leaks
from tests.helpers.commands import FAST, invoke, rehearse_argv
from tests.helpers.dists import mini_copy
from tests.helpers.loopback import serving
from tests.helpers.repos import BIN, ROOT, config_repo, copy_example, env, git

# --- the canary as the credential that works ---------------------------------------------

@pytest.mark.slow
def test_the_canary_as_the_token_the_indexes_accept_through_testpypi_pypi_and_verify(
        built_mini: Path, server: LocalDevpi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = mini_copy(built_mini, tmp_path)
    git(repo, "tag", "-a", "-m", "core 0.4.2", "v0.4.2")  # production releases come from a tag
    # the indexes' password is the canary: uploads work
    for name, value in canary_indexes(server).items():
        monkeypatch.setenv(name, value)
    outputs = []
    dist = built_mini.parent / "dist"
    for session in (sessions.testpypi, sessions.pypi, sessions.verify):
        code = session(["--repo", str(repo), "--dist", str(dist), *FAST])
        out = capsys.readouterr()
        outputs += [out.out, out.err]
        assert code == 0, out.out[-2000:] + out.err[-2000:]
    record = json.loads((repo / ".release" / "core-0.4.2.json").read_text())
    assert record["verifications"]["pypi"]["ok"] is True
    assert leaks(outputs, [repo, dist]) == []


# --- failure paths -----------------------------------------------------------------------------

class _Echo(BaseHTTPRequestHandler):
    """A server that refuses every request and echoes the credentials it got (the worst case:
    an index or API that quotes the token back in its error)."""

    def log_message(self, *args: object) -> None:
        pass

    def _refuse(self) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth.split()[-1] if auth else ""
        if auth.startswith("Basic "):
            token = base64.b64decode(token).decode().partition(":")[2]
        body = json.dumps({"message": f"Bad credentials: {token}"}).encode()
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(401 if self.command == "GET" else 403, f"Refused token {token}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse  # noqa: N815


@pytest.fixture
def echo() -> Iterator[str]:
    with serving(_Echo) as url:
        yield url


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


def _assert_one_clean_line(stderr: str, *roots: Path) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert leaks([stderr], roots) == []
    return lines[0]


@pytest.mark.slow
def test_an_index_that_quotes_the_token_back(
        built_mini: Path, server: LocalDevpi, echo: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Upload refused with the token in the status line and body: the canary is masked."""

    repo = mini_copy(built_mini, tmp_path)
    for name, value in canary_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RELEASE_DEBUG", "1")
    index = canary_index(server, "echoed")
    monkeypatch.setenv("TESTPYPI_UPLOAD_URL", echo + "/upload/")
    monkeypatch.setenv("TESTPYPI_SIMPLE_URL", index.simple_url)
    monkeypatch.setenv("TESTPYPI_USERNAME", index.username)
    code = sessions.testpypi(["--repo", str(repo), "--dist", str(built_mini.parent / "dist"),
                              *FAST])
    out = capsys.readouterr()
    assert code == 1
    line = _assert_one_clean_line(out.err, repo)
    assert "HTTPError: 403" in line
    assert leaks([out.out], [repo]) == []


@pytest.mark.slow
def test_credentials_in_an_index_url_are_masked_wherever_the_url_is_shown(
        built_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:

    repo = mini_copy(built_mini, tmp_path)
    closed = "127.0.0.1:9"  # discard port: nothing listens
    monkeypatch.setenv("TESTPYPI_SIMPLE_URL", f"http://user:{CANARY}@{closed}/simple/")
    monkeypatch.setenv("TESTPYPI_UPLOAD_URL", f"http://user:{CANARY}@{closed}/upload/")
    monkeypatch.setenv("TESTPYPI_TOKEN", "not-the-canary")
    code = sessions.testpypi(["--repo", str(repo), "--dist", str(built_mini.parent / "dist"),
                              *FAST])
    out = capsys.readouterr()
    assert code == 1
    line = _assert_one_clean_line(out.err, repo)
    assert f"cannot reach the index at http://{MASK}@{closed}/simple/" in line
    record = json.loads((repo / ".release/core-0.4.2.json").read_text())
    assert f"http://{MASK}@{closed}" in record["steps"]["testpypi-upload"]["error"]


def test_a_build_that_prints_its_environment_shows_no_credential(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends never get the credentials, and a kept build log is redacted anyway."""
    repo = config_repo(tmp_path / "repo", '[tool.release.trains.core]\npackages = ["pkgs/a"]\n')
    (repo / "pkgs/a/pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1.0.0"\n[build-system]\nrequires = ["hatchling"]\n'
        'build-backend = "hatchling.build"\n[tool.hatch.build.hooks.custom]\n')
    (repo / "pkgs/a/hatch_build.py").write_text(
        "import os\nfrom hatchling.builders.hooks.plugin.interface import BuildHookInterface\n"
        "class CustomBuildHook(BuildHookInterface):\n"
        "    def initialize(self, version, build_data):\n"
        "        print(dict(os.environ))\n"
        "        raise RuntimeError('token: ' + os.environ.get('TESTPYPI_TOKEN', 'none') + ' "
        "and ' + os.environ.get('LEAKED', ''))\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x.invalid", "commit", "-qm", "a")
    for name, value in canary_env().items():
        monkeypatch.setenv(name, value)
    register(CANARY + "-registered")
    monkeypatch.setenv("LEAKED", CANARY + "-registered")  # a secret in no well-known variable
    code = sessions.build(["--repo", str(repo)])
    out = capsys.readouterr()
    assert code == 1
    line = _assert_one_clean_line(out.err, repo)
    # Credentials, registered secrets included, never reach a build backend's environment.
    assert line.count("token: none and ") == 1 and CANARY not in line
    log = (repo / "dist/logs/a.log").read_text()
    assert "RuntimeError" in log and CANARY not in log
    assert leaks([out.out, log], [repo]) == []


def test_a_push_to_a_remote_with_credentials_in_its_url(scratch: Path) -> None:
    git(scratch, "remote", "add", "origin", f"http://user:{CANARY}@127.0.0.1:9/repo.git")
    git(scratch, "tag", "-a", "-m", "core 0.4.2", "v0.4.2")
    out = invoke("push", "--repo", str(scratch), "--train", "core", **canary_env())
    assert out.returncode == 1
    line = _assert_one_clean_line(out.stderr)
    # push asks origin which release tags it has before pushing: that is where it fails here
    assert "cannot list the tags of origin" in line and "check the remote" in line


def test_github_refusing_and_quoting_the_token(scratch: Path, echo: str) -> None:
    git(scratch, "tag", "-a", "-m", "core 0.4.2", "v0.4.2")
    out = invoke("github-release", "--repo", str(scratch), "--train", "core",
                 GITHUB_API_URL=echo, GITHUB_REPOSITORY="example/skyline",
                 NO_PROXY="127.0.0.1", **canary_env())
    assert out.returncode == 1
    line = _assert_one_clean_line(out.stderr, scratch)
    assert "HTTP 401" in line and "Bad credentials: ***" in line


# --- redaction, unit by unit -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    (f"https://__token__:{CANARY}@upload.pypi.org/legacy/", f"https://{MASK}@upload.pypi.org/"
                                                            "legacy/"),
    ("git+https://user:pw@github.com/o/r.git", f"git+https://{MASK}@github.com/o/r.git"),
    ("http://just-a-user@127.0.0.1:3141/simple/", f"http://{MASK}@127.0.0.1:3141/simple/"),
    (f"token {CANARY} and again {CANARY}", f"token {MASK} and again {MASK}"),
    ("https://pypi.org/simple/ stays", "https://pypi.org/simple/ stays"),
    ("user@example.com is no URL", "user@example.com is no URL"),
])
def test_redact(text: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPI_TOKEN", CANARY)
    assert redact(text) == shown


def test_a_secret_containing_another_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTPYPI_TOKEN", "abcd")
    monkeypatch.setenv("PYPI_TOKEN", "abcdefgh")
    assert redact("x abcdefgh y abcd") == f"x {MASK} y {MASK}"


# --- boundaries --------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "allowed"), [
    ("https://upload.pypi.org/legacy/", True),
    ("https://10.0.0.1/simple/", True),
    ("http://127.0.0.1:3141/u/i/", True),
    ("http://127.5.6.7/u/i/", True),
    ("http://localhost:8080/simple/", True),
    ("http://[::1]:3141/simple/", True),
    ("http://10.0.0.1/simple/", False),
    ("http://pypi.org/simple/", False),
    ("http://localhost.example.com/simple/", False),
    ("http://127.0.0.1@evil.example.com/simple/", False),
    ("http://[::ffff:8.8.8.8]/simple/", False),
    ("ftp://127.0.0.1/simple/", False),
    ("file:///srv/simple/", False),
    ("127.0.0.1/simple/", False),
])
def test_indexes_must_be_https_unless_on_loopback(
        url: str, allowed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(config_repo(tmp_path, '[tool.release.trains.core]\npackages = ["pkgs/*"]\n'))
    for name in ("pypi", "testpypi"):
        monkeypatch.setenv(f"{name.upper()}_SIMPLE_URL", url)
        if allowed:
            assert endpoint(config, name).simple_url == url
        else:
            with pytest.raises(ConfigError, match=r"must use https|is not an http\(s\) URL"):
                endpoint(config, name)


def test_configured_indexes_are_checked_too(tmp_path: Path) -> None:
    config = load(config_repo(tmp_path, '[tool.release.trains.core]\npackages = ["pkgs/*"]\n'
                                        '[tool.release.indexes.mirror]\n'
                                        'upload-url = "http://mirror.example.com/legacy/"\n'
                                        'simple-url = "https://mirror.example.com/simple/"\n'))
    with pytest.raises(ConfigError, match="index mirror: http://mirror.example.com/legacy/ must "
                                          "use https"):
        endpoint(config, "mirror")


SHELLY = "$(touch pwned)`touch pwned2`;touch pwned3|x&&y>z"
TAG_SHELLY = "$(touch$IFS'pwned4');touch$IFS'pwned5'|x&&y>z`touch$IFS'pwned6'`"


def test_config_values_never_reach_a_shell(tmp_path: Path) -> None:
    """A tag format and a commit message full of shell syntax are passed as plain argv."""
    repo = copy_example(tmp_path / "repo")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text()
                         .replace('commit-message = "chore(release): {train} {version}"',
                                  f"commit-message = '{SHELLY} {{train}} {{version}}'")
                         .replace('tag-format = "v{version}"',
                                  f'tag-format = "v{{version}}{TAG_SHELLY}"'))
    git(repo, "commit", "-qam", "shell syntax in the config")
    out = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch", "--commit")
    assert out.returncode == 0, out.stderr
    assert git(repo, "log", "-1", "--format=%s") == f"{SHELLY} core 0.4.3"
    out = invoke("tag", "--repo", str(repo), "--train", "core")
    assert out.returncode == 0, out.stderr
    assert git(repo, "tag", "--list", "v0.4.3*") == f"v0.4.3{TAG_SHELLY}"
    for cwd in (repo, ROOT, Path.cwd()):
        assert not list(cwd.glob("pwned*"))


def test_run_passes_arguments_verbatim(tmp_path: Path) -> None:
    proc = run([str(BIN / "python"), "-c", "import sys; print(sys.argv[1:])", SHELLY, "*", "~"],
               cwd=tmp_path)
    assert proc.stdout.strip() == repr([SHELLY, "*", "~"])
    assert not list(tmp_path.iterdir())


def test_secret_variables_cover_what_ci_and_users_set() -> None:
    assert {"TESTPYPI_TOKEN", "PYPI_TOKEN", "TWINE_PASSWORD", "GITHUB_TOKEN",
            "GH_TOKEN"} <= set(SECRET_VARIABLES)
    assert os.environ.get("PYPI_TOKEN", "") != CANARY


# --- command lines and devpi-server's environment, sampled while a rehearsal runs -------------

def _family(root: int) -> dict[int, Path]:
    """root and every process descended from it, now (other tests' processes, ours or another
    pytest's, may hold the canary in their command lines: they are not sampled)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return {pid: Path(f"/proc/{pid}") for pid in family}


def _sample(root: int, stop: threading.Event, seen: set[bytes], environs: dict[int, bytes],
            data_dir: bytes) -> None:
    """The command line of root and of every process it started, and devpi-server's
    environment, until stop."""
    while not stop.is_set():
        for pid, entry in _family(root).items():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            seen.add(cmdline)
            argv = cmdline.split(b"\0")
            if pid not in environs and any(a.endswith(b"devpi-server") for a in argv[:2]) \
                    and data_dir in cmdline:
                try:
                    environs[pid] = (entry / "environ").read_bytes()
                except OSError:
                    pass
        stop.wait(0.002)


@pytest.mark.slow
def test_credentials_are_on_no_command_line_and_not_in_devpi_servers_environment(
        tmp_path: Path, built_mini: Path) -> None:
    source = mini_copy(built_mini, tmp_path)
    ws = tmp_path / "ws"
    seen: set[bytes] = set()
    environs: dict[int, bytes] = {}
    stop = threading.Event()
    rehearsal = subprocess.Popen(rehearse_argv(source, ws), cwd=ROOT, env=env(**canary_env()),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = threading.Thread(target=_sample, args=(rehearsal.pid, stop, seen, environs,
                                                     str(ws / "devpi" / "data").encode()))
    sampler.start()
    try:
        stdout, stderr = rehearsal.communicate(timeout=600)
    finally:
        stop.set()
        sampler.join()
        rehearsal.kill()
    out = subprocess.CompletedProcess(rehearsal.args, rehearsal.returncode, stdout, stderr)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = [c.replace(b"\0", b" ").decode(errors="replace") for c in seen]
    # The sampler saw the children that talk to the indexes: uv installing, twine uploading.
    assert any("twine upload" in line for line in lines), \
        "no twine command line sampled: " + "\n".join(ln for ln in lines if "release" in ln)
    assert any(re.search(r"/uv\S* (pip|venv)", line) for line in lines), \
        "no uv command line sampled"
    state = json.loads((ws / "state.json").read_text())
    secrets = [CANARY, *(i["password"] for i in state["indexes"].values())]
    for secret in secrets:
        assert [line for line in lines if secret in line] == []
    assert environs, "devpi-server's environment was never read"
    for environ in environs.values():
        names = {v.split(b"=", 1)[0].decode() for v in environ.split(b"\0") if v}
        assert not names & set(SECRET_VARIABLES), names & set(SECRET_VARIABLES)
        assert not [s for s in secrets if s.encode() in environ]
