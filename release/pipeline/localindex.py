"""A real devpi-server on loopback, for rehearsals and tests that must not touch PyPI.

devpi behaves like PyPI where it matters to a release (an index refuses a different file under a
published name, serves PEP 503/691 simple pages) yet runs offline in a scratch directory. We run it
as a subprocess from the same environment as this interpreter, with argon2 key derivation turned
down so that it is ready in well under a second instead of ~5 s.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import requests

from release.build.environments import default_cache_dir
from release.errors import IndexServerError
from release.pipeline.devpidata import (
    bin_path,
    ensure_secret,
    initialise,
    new_password,
    roll_back_a_killed_write,
    server_env,
)
from release.redaction import redact, register

log = logging.getLogger("release")

HOST = "127.0.0.1"
# Cheap argon2 parameters for the server secret's key derivation: the defaults cost ~5 s at
# every start. Only `devpi-server` accepts these (hidden) options; `devpi-init` does not.
FAST_ARGON2 = ("--argon2-time-cost", "1", "--argon2-memory-cost", "8", "--argon2-parallelism", "1")
# A PyPI-like index: files are immutable and nothing is mirrored from another index.
PYPI_LIKE = {"type": "stage", "volatile": False, "bases": []}
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class LocalIndex:
    """One devpi index and the credentials of the user that may upload to it."""

    name: str
    username: str
    password: str = field(repr=False)
    url: str
    """The index itself, e.g. http://127.0.0.1:PORT/USER/NAME (no trailing slash)."""
    token: str = field(default="", repr=False)
    """devpi's login token for the user (valid 10 hours): what uploads send, as PyPI's API
    tokens are sent. devpi checks a password with argon2 on every request (~0.14 s of CPU
    each: most of an upload's cost), a token with a signature check."""

    @property
    def upload_password(self) -> str:
        """The token when there is one, else the password: what twine sends."""
        return self.token or self.password

    @property
    def upload_url(self) -> str:
        """What `twine upload --repository-url` takes (devpi accepts uploads on the index URL)."""
        return f"{self.url}/"

    @property
    def simple_url(self) -> str:
        """The PEP 503/691 simple root; devpi spells it `+simple`."""
        return f"{self.url}/+simple/"

    @property
    def json_api(self) -> str:
        """The base of devpi's JSON API, as `IndexClient(json_api=...)` takes it."""
        return self.url


class LocalDevpi:
    """Start, stop and restart a devpi-server whose data lives in one directory.

    The port is `port` or, by default, one the OS finds free at the first start. `stop()` keeps
    the data and the port, so `start()` brings back the same indexes at the same URLs (tests
    stop the server mid-upload and restart it). `close()` (and leaving the `with` block) stops
    it and removes the directory if we created it.
    """

    def __init__(self, directory: Path | str | None = None, *, port: int | None = None,
                 startup_timeout: float = 30.0, cache_dir: Path | None = None) -> None:
        self._owns_directory = directory is None
        base = Path(tempfile.mkdtemp(prefix="release-devpi-")) if directory is None \
            else Path(directory)
        self.directory = base.resolve()
        self.startup_timeout = startup_timeout
        self._cache_dir = cache_dir  # where the database template is (default: the tool's cache)
        self._port = port
        self._url_fixed = port is not None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._admin = requests.Session()
        # Loopback only: never let a proxy from the environment or ~/.netrc get involved.
        self._admin.trust_env = False
        self._log_offset = 0
        self.startup_seconds: float | None = None
        """How long the last `start()` took until the server answered."""

    # -- paths ------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """devpi's own --serverdir: it must be empty before `devpi-init`, so it is a subdir."""
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        """Where the server's stdout and stderr go (appended across restarts)."""
        return self.directory / "devpi-server.log"

    @property
    def _secret_path(self) -> Path:
        return self.directory / "secret" / "devpi-secret"

    # -- state ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether our server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def port(self) -> int:
        """The loopback port, chosen at the first start and kept across restarts."""
        if self._port is None:
            raise IndexServerError("the local devpi-server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalDevpi:
        """Initialise the data directory on first use, start the server, wait until it answers."""
        if self.running:
            return self
        began = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._mark_log()
        ensure_secret(self._secret_path)
        self.end_leftover()
        if not (self.data_dir / ".nodeinfo").exists():
            initialise(self.data_dir, self.log_path, self._cache_dir or default_cache_dir())
        roll_back_a_killed_write(self.data_dir / ".sqlite")
        # A port the OS called free can be taken before devpi binds it: then try another one,
        # but only before the first successful start (afterwards URLs handed out must hold).
        attempts = 1 if self._url_fixed else 3
        for attempt in range(1, attempts + 1):
            if not self._url_fixed:
                self._port = _free_port()
            try:
                self._spawn()
                break
            except _PortTaken:
                if attempt == attempts:
                    raise self._failure(f"port {self._port} is taken") from None
        self._url_fixed = True
        self.startup_seconds = time.monotonic() - began
        log.debug("devpi-server ready at %s in %.2f s", self.url, self.startup_seconds)
        return self

    def _spawn(self) -> None:
        """Run devpi-server once, output to the log file, and wait until it answers."""
        self._mark_log()
        self._log_file = self.log_path.open("ab")
        argv = [
            str(bin_path("devpi-server")),
            "--serverdir", str(self.data_dir),
            "--host", HOST,
            "--port", str(self.port),
            "--secretfile", str(self._secret_path),
            *FAST_ARGON2,
        ]
        log.debug("starting %s", " ".join(argv))
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=server_env(),
        )
        (self.directory / "server.pid").write_text(str(self._process.pid), encoding="utf-8")
        try:
            self._wait_ready()
        except BaseException:
            self._terminate()
            raise

    def end_leftover(self) -> None:
        """A server of this directory left behind by a killed process (kill -9 of a
        rehearsal) holds its data and port: end it. Found by the pid file, and by looking
        for a devpi-server serving this data directory (killed before it wrote the file)."""
        pid_file = self.directory / "server.pid"
        pids = set()
        try:
            pids.add(int(pid_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
        proc = Path("/proc")
        if proc.is_dir():
            pids |= {int(p.name) for p in proc.iterdir() if p.name.isdigit()}
        own = os.getpid()
        for pid in sorted(pids):
            if pid == own or not self._serves_here(pid):
                continue
            log.debug("ending a devpi-server left behind (pid %d)", pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                continue
            for _ in range(100):
                if not self._serves_here(pid):
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def _serves_here(self, pid: int) -> bool:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        except (OSError, ValueError):
            return False
        if status and status[0] == "Z":  # a zombie: already ended
            return False
        return any(a.endswith(b"devpi-server") for a in argv[:2]) and \
            str(self.data_dir).encode() in argv

    def stop(self) -> None:
        """Stop the server and keep its data, so that `start()` can bring it back."""
        self._terminate()

    def close(self) -> None:
        """Stop the server; remove the directory if this object created it."""
        self._terminate()
        self._admin.close()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalDevpi:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- indexes ----------------------------------------------------------------------------

    def create_index(self, name: str) -> LocalIndex:
        """Create a user `NAME-user` with a generated password and its PyPI-like index NAME."""
        return self.ensure_index(name, f"{name}-user", new_password())

    def ensure_index(self, name: str, username: str, password: str) -> LocalIndex:
        """The user and its PyPI-like index NAME, created unless they exist (idempotent: a
        rehearsal killed between the two, or after both, finds them on its rerun)."""
        register(password)
        exists = self._admin.get(f"{self.url}/{username}", headers={"Accept": "application/json"},
                                 timeout=30).status_code == 200
        if not exists:
            self._call("PUT", f"/{username}", {"password": password,
                                               "email": f"{username}@localhost"},
                       what=f"create devpi user {username}")
        token = self._login(username, password)
        answer = self._admin.get(f"{self.url}/{username}/{name}",
                                 headers={"Accept": "application/json"}, timeout=30)
        if answer.status_code != 200:
            self._call("PUT", f"/{username}/{name}", PYPI_LIKE, token=(username, token),
                       what=f"create devpi index {username}/{name}")
        else:
            kept = answer.json().get("result", {})
            if kept.get("volatile") is not False or list(kept.get("bases", [])):
                raise IndexServerError(f"devpi index {username}/{name} exists but is not "
                                       "PyPI-like (volatile or with bases): start afresh")
        return LocalIndex(name=name, username=username, password=password,
                          url=f"{self.url}/{username}/{name}", token=token)

    def _login(self, username: str, password: str) -> str:
        """Trade a password for devpi's login token (what devpi-client sends as X-Devpi-Auth)."""
        answer = self._call("POST", "/+login", {"user": username, "password": password},
                            what=f"log in to devpi as {username}")
        token = answer.get("result", {}).get("password")
        if not isinstance(token, str):
            raise IndexServerError(f"devpi login as {username} answered no token")
        register(token)
        return token

    def _call(self, method: str, path: str, payload: dict[str, Any], *, what: str,
              token: tuple[str, str] | None = None) -> dict[str, Any]:
        """One JSON request to devpi's API; its refusals become IndexServerError."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token is not None:
            pair = f"{token[0]}:{token[1]}".encode()
            headers["X-Devpi-Auth"] = base64.b64encode(pair).decode("ascii")
        try:
            response = self._admin.request(method, self.url + path, json=payload,
                                           headers=headers, timeout=30)
        except requests.RequestException as exc:
            raise IndexServerError(redact(f"cannot {what}: {type(exc).__name__}")) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not response.ok:
            message = body.get("message", response.reason) if isinstance(body, dict) else ""
            raise IndexServerError(redact(f"cannot {what}: HTTP {response.status_code} {message}"))
        return body if isinstance(body, dict) else {}

    # -- internals --------------------------------------------------------------------------

    def _wait_ready(self) -> None:
        """Poll /+api on loopback until devpi answers, the process dies, or time runs out."""
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        api = f"{self.url}/+api"
        while True:
            code = self._process.poll()
            if code is not None:
                if "address already in use" in self._log_tail().lower() and not self._url_fixed:
                    raise _PortTaken()
                raise self._failure(f"devpi-server exited with status {code} while starting"
                                    f" on port {self.port}")
            try:
                answer = self._admin.get(api, headers={"Accept": "application/json"}, timeout=1)
                if answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise self._failure(
                    f"devpi-server did not answer {api} within {self.startup_timeout:g} s")
            time.sleep(0.02)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _failure(self, summary: str) -> IndexServerError:
        """The summary and the log's last line first, then the tail of the log for details."""
        tail = self._log_tail()
        last = tail.splitlines()[-1].strip() if tail.strip() else "(empty log)"
        return IndexServerError(f"{summary}: {last}\n(last lines of {self.log_path}:)\n{tail}")

    def _mark_log(self) -> None:
        """Remember where this run's output starts, so that errors quote only that."""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def _log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(self._log_offset)
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return redact("\n".join(text.splitlines()[-LOG_TAIL_LINES:]))


class _PortTaken(Exception):
    """devpi-server could not bind its port (another process took it first)."""


def _free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
