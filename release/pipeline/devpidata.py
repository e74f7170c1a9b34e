"""What a local devpi-server keeps on disk, and the devpi commands that run it.

A new server's database is a copy of a template that `devpi-init` made once per devpi-server
version in the tool's cache: `devpi-init` costs ~0.7 s of CPU (it imports all of devpi-server),
paid by every rehearsal and every test server before. The template's root password was random
and kept nowhere (nothing of ours logs in as root: users are made without it), and each copy
gets a node id of its own. Also here: the server secret that keeps login tokens valid across
restarts, and the roll-back of a write a killed server left behind.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from release.errors import IndexServerError, ReleaseError
from release.platforms import executable_name
from release.proc import run, scrubbed_env
from release.redaction import redact, register

TEMPLATE_FORMAT = 1  # bump when what the template holds changes


def bin_path(name: str) -> Path:
    """devpi's commands from the environment that runs us, not whatever PATH finds first."""
    path = Path(sys.executable).parent / executable_name(name)  # name.exe on Windows
    if not path.exists():
        raise IndexServerError(f"{path} not found: install devpi-server in this environment")
    return path


def server_env() -> dict[str, str]:
    """Our environment minus devpi-server's own settings (DEVPISERVER_*), which would leak in."""
    return scrubbed_env(prefixes=("DEVPISERVER_",), names=("DEVPI_SERVERDIR",))


def new_password() -> str:
    """128 random bits in hex: safe on any command line (a leading '-' would read as an option)."""
    return secrets.token_hex(16)


def ensure_secret(path: Path) -> None:
    """A persistent server secret keeps login tokens valid across restarts.

    devpi refuses a secret file that others can read or whose folder others can write.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)))


def initialise(data_dir: Path, log_path: Path, cache_dir: Path) -> None:
    """Make data_dir a new devpi database with no root/pypi mirror (nothing may reach out to
    PyPI): a copy of the template, made whole beside it and renamed, so that a killed start
    never leaves half a database."""
    template = _template(cache_dir, log_path)
    partial = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        shutil.copytree(template, partial)
        nodeinfo = partial / ".nodeinfo"
        info = json.loads(nodeinfo.read_text(encoding="utf-8"))
        info["uuid"] = uuid.uuid4().hex
        nodeinfo.write_text(json.dumps(info, indent=2), encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise IndexServerError(f"cannot copy devpi's template {template}: {exc}") from None
    os.replace(partial, data_dir)


def _template(cache_dir: Path, log_path: Path) -> Path:
    """The template database for this devpi-server version, made by devpi-init unless there;
    two processes making it at once each make their own, and the first to rename it wins."""
    try:
        key = f"devpi-server-{version('devpi-server')}-{TEMPLATE_FORMAT}"
    except PackageNotFoundError:
        raise IndexServerError("devpi-server is not installed in this environment") from None
    home = cache_dir / "devpi-templates"
    made = home / key
    if _complete(made):
        return made
    shutil.rmtree(made, ignore_errors=True)  # damaged (only a hand can do that): made again
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=home))
    except OSError as exc:
        raise IndexServerError(f"cannot write devpi's template in {home}: {exc.strerror} (set "
                               "RELEASE_TRAIN_CACHE_DIR to a directory you can write)") from None
    try:
        root_password = new_password()
        register(root_password)
        argv = [str(bin_path("devpi-init")), "--serverdir", str(scratch / "data"),
                "--no-root-pypi", "--root-passwd", root_password]
        try:
            proc = run(argv, env=server_env(), check=False, timeout=120)
        except ReleaseError as exc:
            raise IndexServerError(f"devpi-init failed: {exc}") from exc
        with log_path.open("a", encoding="utf-8") as out:
            out.write(redact(proc.stdout + proc.stderr))
        if proc.returncode != 0:
            raise IndexServerError(f"devpi-init exited with status {proc.returncode} (its "
                                   f"output is in {log_path})")
        try:
            os.rename(scratch / "data", made)
        except OSError as exc:  # another process made it first (theirs is as good), or not
            if not _complete(made):
                raise IndexServerError(f"cannot put devpi's template in place at {made}: "
                                       f"{exc.strerror}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return made


def _complete(template: Path) -> bool:
    return all((template / name).is_file() for name in (".nodeinfo", ".sqlite"))


def roll_back_a_killed_write(database: Path) -> None:
    """A server killed mid-write leaves a hot journal, which devpi's first (read-only) open
    cannot roll back ("attempt to write a readonly database"); a read-write read does."""
    if database.exists() and database.with_name(database.name + "-journal").exists():
        try:
            with contextlib.closing(sqlite3.connect(database)) as connection:
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise IndexServerError(f"{database}: cannot roll back a killed write: {exc}") from None
