"""One command surface: every task and session answers --help, options mean the same in every
task (no automatic short flags), usage errors are one line with exit 2, and failures on the
network are one `error:` line without urllib3's retry chatter or a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from release.cli import namespace
from tests.helpers import launcher
from tests.helpers.commands import FAST, nox
from tests.helpers.loopback import serving
from tests.helpers.repos import BIN, ROOT, copy_example, env, git, interpreters_env

TASKS = sorted(namespace.task_names)
SESSIONS = ("build", "testpypi", "pypi", "verify", "gates", "rehearse")
NOISE = ("Retrying", "Traceback", "HTTPConnectionPool", "HTTPSConnectionPool", "urllib3")


def tool(*args: str, cwd: Path = ROOT, **extra: str) -> subprocess.CompletedProcess[str]:
    return launcher.run("release-train", args, cwd=cwd, env=env(**extra), timeout=120,
                        bin_dir=BIN)


def one_error_line(out: subprocess.CompletedProcess[str]) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert not any(noise in out.stderr for noise in NOISE), out.stderr
    return lines[0]


@pytest.mark.parametrize("name", TASKS)
def test_every_task_answers_help(name: str) -> None:
    out = tool(name, "--help")
    assert out.returncode == 0, out.stderr
    assert "--repo" in out.stdout
    assert out.stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize("session", SESSIONS)
def test_every_session_answers_help(session: str) -> None:
    out = subprocess.run([str(BIN / "nox"), "-f", str(ROOT / "noxfile.py"), "-s", session,
                          "--", "--help"], cwd=ROOT, env=interpreters_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--repo" in out.stdout
    assert "--train" in out.stdout


# Where --train means nothing, and why (every other task takes --repo and --train).
NO_TRAIN = {"init": "it proposes the trains: there is none to choose yet"}
# The tasks that only read (every other one writes, so takes --dry-run).
READ_ONLY = {"check", "status", "preflight"}


def test_every_task_takes_repo_and_train_and_every_writer_dry_run() -> None:
    for name in TASKS:
        arguments = {a.name for a in namespace[name].get_arguments()}
        assert "repo" in arguments, name
        assert ("train" in arguments) != (name in NO_TRAIN), name
        assert ("dry_run" in arguments) != (name in READ_ONLY), name


def test_plain_invoke_answers_help_for_a_task_with_a_positional_argument() -> None:
    """tasks.py under invoke's own Program: `invoke ack --help` is help, not a checkpoint."""
    for args in (("ack", "--help"), ("ack", "-h"), ("tag", "--train", "--help")):
        out = subprocess.run([str(BIN / "invoke"), *args], cwd=ROOT, env=env(),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"Usage: invoke [--core-opts] {args[0]} ")
        assert "--repo" in out.stdout and out.stderr == ""
    out = subprocess.run([str(BIN / "invoke"), "ack", "--trian"], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert one_error_line(out) == "error: ack: no option '--trian' (did you mean --train?)"


def test_options_mean_the_same_everywhere() -> None:
    """No task has a short flag invoke made up: `-r` cannot be --remote here, --repo there."""
    meanings: dict[str, set[str]] = {}
    for name in TASKS:
        for arg in namespace[name].get_arguments():
            longs = [n for n in arg.names if len(n) > 1]
            shorts = [n for n in arg.names if len(n) == 1]
            for short in shorts:
                meanings.setdefault(short, set()).update(longs)
    assert all(len(longs) == 1 for longs in meanings.values()), meanings
    assert meanings == {}  # none at all, today
    for name in TASKS:
        arguments = {a.name: a for a in namespace[name].get_arguments()}
        assert "repo" in arguments, name
        # --repo and --train are options everywhere (ack's text may stand alone)
        assert not arguments["repo"].positional, name
        if "train" in arguments:
            assert not arguments["train"].positional, name
            assert arguments["train"].kind in (str, list), name


def test_program_help_shows_only_release_train_options() -> None:
    out = tool("--help")
    assert out.returncode == 0
    for hidden in ("--prompt-for-sudo-password", "--pty", "--echo", "--hide", "--warn-only"):
        assert hidden not in out.stdout
    for shown in ("--repo", "--help", "--version", "--list", "init", "bump", "pin-downstream"):
        assert shown in out.stdout


def test_usage_errors_exit_2_with_did_you_mean() -> None:
    out = tool("stauts")
    assert out.returncode == 2
    assert "did you mean status?" in one_error_line(out)
    out = tool("bump", "--bogus")
    assert out.returncode == 2
    one_error_line(out)
    out = tool("--repo", str(ROOT / "examples" / "monorepo"), "pin-downstream")
    assert out.returncode == 2
    assert "--train" in one_error_line(out)


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([str(BIN / "release-train"), "--repo",
                             str(ROOT / "examples" / "monorepo"), "status"],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head` that read nothing
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# --- the network: one line, no chatter ----------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers (a hung proxy)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        sock.close()


@pytest.fixture
def core_tagged(tmp_path: Path) -> Path:
    repo = copy_example(tmp_path / "mono")
    git(repo, "tag", "-a", "v0.4.2", "-m", "core 0.4.2")
    return repo


def _github_release(repo: Path, api: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return tool("--repo", str(repo), "github-release", "--train", "core",
                **_github_settings(api, **extra))


def _github_settings(api: str, **extra: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": "ghp_wrongwrongwrong", "GH_TOKEN": "",
            "GITHUB_REPOSITORY": "example/skyline", "GITHUB_API_URL": api,
            "NO_PROXY": "127.0.0.1,localhost", **extra}


# release-train with every HTTP timeout cut to 1 s: the GitHub client waits 30 s for an answer,
# and what is tested is the one line it prints once it gives up, not how long it waited.
IMPATIENT = """\
import sys, requests
send = requests.Session.request
def request(self, *args, **kwargs):
    kwargs["timeout"] = 1.0
    return send(self, *args, **kwargs)
requests.Session.request = request
sys.argv[0] = "release-train"
from release.cli import main
main()
"""


def test_dead_port_is_one_line(core_tagged: Path) -> None:
    out = _github_release(core_tagged, f"http://127.0.0.1:{_free_port()}")
    assert out.returncode == 1
    assert "cannot reach" in one_error_line(out)


def test_unknown_host_is_one_line(core_tagged: Path) -> None:
    out = _github_release(core_tagged, "https://api.release-train.invalid")
    assert out.returncode == 1
    assert "cannot reach" in one_error_line(out)


def test_wrong_token_is_one_line(core_tagged: Path) -> None:
    from http.server import BaseHTTPRequestHandler

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b'{"message": "Bad credentials"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Refuse) as url:
        out = _github_release(core_tagged, url)
    assert out.returncode == 1
    line = one_error_line(out)
    assert "401" in line and "token" in line and "again" not in line


def test_a_proxy_that_never_answers_is_one_line(core_tagged: Path, silent_server: str) -> None:
    settings = _github_settings("https://api.release-train.invalid", HTTPS_PROXY=silent_server,
                                https_proxy=silent_server, NO_PROXY="", no_proxy="")
    out = subprocess.run([sys.executable, "-c", IMPATIENT, "--repo", str(core_tagged),
                          "github-release", "--train", "core"], cwd=ROOT, env=env(**settings),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "cannot reach" in one_error_line(out)


def test_release_debug_shows_the_chatter(core_tagged: Path) -> None:
    out = _github_release(core_tagged, f"http://127.0.0.1:{_free_port()}", RELEASE_DEBUG="1")
    assert out.returncode == 1
    assert "debug: " in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: ")


def test_an_install_failure_names_the_requirement(tmp_path: Path) -> None:
    """uv cannot find the release on the index: the line names it, not uv's command line."""
    from release.proc import CommandError, run
    from release.verify.installs import install_failure
    from release.versions.lockfiles import uv_binary

    index = tmp_path / "simple"
    index.mkdir()
    (index / "index.html").write_text("<html><body></body></html>\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        run([uv_binary(), "pip", "compile", "--no-config", "--offline", "--index-url",
             index.as_uri(), "-"], input="rt-nowhere==1.2.3\n", cwd=tmp_path,
            env={**env(), "UV_CACHE_DIR": str(tmp_path / "cache")}, timeout=120)
    line = install_failure(caught.value, ["rt-nowhere==1.2.3", "other==1.0"])
    assert line.startswith("installing rt-nowhere==1.2.3 failed: "), line
    assert "\n" not in line and "uv pip" not in line


# --- --train the same way everywhere -----------------------------------------------------------

def test_status_and_check_limited_to_a_train(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "mono")
    status = tool("--repo", str(repo), "status", "--train", "addon")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("addon (artifact) 1.0.3")
    assert "core (python)" not in status.stdout and "extensions" not in status.stdout
    # extensions disagrees with itself: check fails, check --train core does not
    init = repo / "extensions/skyline-ext-models/src/skyline_ext_models/__init__.py"
    init.write_text(init.read_text().replace("1.2.0", "1.2.1"))
    assert tool("--repo", str(repo), "check").returncode == 1
    core = tool("--repo", str(repo), "check", "--train", "core")
    assert core.returncode == 0, core.stderr
    assert core.stdout.startswith("ok: ") and "(core 0.4.2)" in core.stdout
    ext = tool("--repo", str(repo), "check", "--train", "extensions")
    assert ext.returncode == 1 and "skyline_ext_models/__init__.py:3" in ext.stderr
    other = tool("--repo", str(repo), "check", "--train", "core", "--tag", "extensions-v1.2.0")
    assert other.returncode == 1
    assert one_error_line(other) == ("error: tag extensions-v1.2.0 belongs to train "
                                     "extensions, not to core: check it with --train "
                                     "extensions")


@pytest.mark.slow
def test_rehearse_refuses_an_unknown_train_before_making_anything(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    out = subprocess.run([str(BIN / "nox"), "-f", str(ROOT / "noxfile.py"), "-s", "rehearse",
                          "--", "--repo", str(ROOT / "examples" / "monorepo"), "--train",
                          "nope", "--workspace", str(workspace)], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "no train named 'nope'" in out.stderr and "Traceback" not in out.stderr
    assert not workspace.exists()


@pytest.mark.slow
def test_rehearse_releases_only_the_trains_named(tmp_path: Path) -> None:
    """The example's extensions need core, which the scratch indexes do not have: released
    alone, the rehearsal tags and uploads the extensions only, and stops at install-back with
    the one line that names what is missing."""

    out = nox("-s", "rehearse", "--", "--repo", str(ROOT / "examples/monorepo"), "--workspace",
              str(tmp_path / "ws"), "--train", "extensions", "--part", "rc", *FAST)
    assert out.returncode != 0
    assert "error: install-back from testpypi failed on Python 3.11: installing " \
        "skyline-ext-ai==1.2.1rc1 failed" in out.stderr
    assert "bumped extensions 1.2.0 -> 1.2.1rc1" in out.stdout and "bumped core" not in out.stdout
    records = sorted(p.name for p in (tmp_path / "ws/repo/.release").glob("*.json"))
    assert records == ["extensions-1.2.1rc1.json"]
    assert git(tmp_path / "ws/repo", "tag", "--list") == "extensions-v1.2.1rc1"
