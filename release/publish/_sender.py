"""Runs as a script in release-train's interpreter: twine imported once, one twine per share.

Usage: python -P _sender.py twine upload ARGS... ; the plan comes on stdin as JSON:
{"shares": [{"files": [...], "after": null or a share's index}, ...], "connections": N,
"username": ..., "password": ...}. Importing twine is most of a small upload's CPU (about
0.2 s); with one `python -m twine` per share, several shares on a busy machine spend longer
starting than sending. So the import is paid once, while the parent still asks the index what
to send (the plan comes after), and each share is then `twine upload ARGS... FILES` in a
forked child: twine's own command line, in a process of its own, its output in its own file.

At most N shares run at once, each once the share it comes after has succeeded. The first
share to fail stops the others (SIGTERM, then SIGKILL) and no other starts; its output is
printed and its exit code returned. On success every share's output is printed. SIGTERM or
SIGINT to this process stops the children the same way. Nothing from release-train is
imported here: the parent may run from a checkout that this interpreter cannot import. The
credentials come on stdin, never on a command line.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import traceback
from typing import IO, Any, NoReturn

STOP_GRACE = 5.0  # seconds a stopped share gets to exit before SIGKILL


class _Stopped(Exception):
    """SIGTERM reached the launcher: its children stop too."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stopped


def _warm() -> None:
    """Import what `twine upload` runs, and answer once what its command line looks up on
    every start: the registered commands (every installed distribution's entry points,
    parsed: ~30 ms of CPU per child) and its dependencies' versions (for --version). Nothing
    is installed between here and the forks, so each child gets the same answers without
    the work. This only warms, it never decides: where twine keeps these elsewhere, the
    children look them up themselves."""
    import twine.__main__  # noqa: F401
    import twine.commands.upload  # noqa: F401
    from twine import cli

    lookup = getattr(cli, "importlib_metadata", None)
    if lookup is None or not callable(getattr(cli, "dep_versions", None)):
        return
    commands = lookup.entry_points(group="twine.registered_commands")
    versions = cli.dep_versions()
    setattr(cli, "importlib_metadata", _Answered(lookup, commands))  # noqa: B010
    setattr(cli, "dep_versions", lambda: versions)  # noqa: B010


class _Answered:
    """A metadata module whose `entry_points(group=...)` for twine's commands is answered
    from a lookup already made; everything else is the module's own."""

    def __init__(self, module: Any, commands: Any) -> None:
        self._module = module
        self._commands = commands

    def entry_points(self, **selection: Any) -> Any:
        if selection == {"group": "twine.registered_commands"}:
            return self._commands
        return self._module.entry_points(**selection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _child(argv: list[str], files: list[str], out: IO[bytes]) -> NoReturn:
    """Be `twine ARGV FILES` (its __main__), with stdout and stderr in `out`."""
    code: int = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        import twine.__main__

        sys.argv = ["twine", *argv, *files]
        try:
            said = twine.__main__.main()
            code = 1 if said else 0
            if isinstance(said, str):
                print(said, file=sys.stderr)
        except SystemExit as exc:  # argparse, --help
            code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the parent reads the traceback in the output
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _stop(children: dict[int, IO[bytes]]) -> None:
    """SIGTERM every child still running; SIGKILL any that outlives the grace."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_GRACE
    while children:
        for pid in list(children):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                del children[pid]
        if children and time.monotonic() > deadline:
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in children:
                os.waitpid(pid, 0)
            children.clear()
        elif children:
            time.sleep(0.01)


def _text(out: IO[bytes]) -> str:
    out.seek(0)
    return out.read().decode("utf-8", errors="replace")


def _run(argv: list[str], shares: list[dict[str, Any]], connections: int) -> tuple[int, str]:
    """Run the shares, at most `connections` at once, each once the share it comes `after`
    has succeeded (in plan order among those ready): (0, every output), or the first failure's
    exit code and output, the others stopped and nothing more started."""
    children: dict[int, tuple[int, IO[bytes]]] = {}  # pid -> (share, its output)
    waiting = list(range(len(shares)))
    done: set[int] = set()
    outputs: list[str] = []
    try:
        while waiting or children:
            ready = [i for i in waiting if shares[i].get("after") in (None, *done)]
            for index in ready[:max(0, connections - len(children))]:
                waiting.remove(index)
                out: IO[bytes] = tempfile.TemporaryFile()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _child(argv, list(shares[index]["files"]), out)
                children[pid] = (index, out)
            if not children:  # an `after` that never runs: the plan is wrong
                return 2, f"share(s) {waiting} wait on shares that never ran\n"
            pid, status = os.wait()
            index, out = children.pop(pid)
            with out:
                code = os.waitstatus_to_exitcode(status)
                if code != 0:
                    _stop({p: o for p, (_, o) in children.items()})
                    children.clear()
                    return (code if code > 0 else 1), _text(out)
                outputs.append(_text(out))
            done.add(index)
        return 0, "".join(outputs)
    finally:
        _stop({p: o for p, (_, o) in children.items()})


def main(argv: list[str]) -> int:
    if argv[:1] != ["twine"]:
        print("usage: _sender.py twine ARGS... (the plan on stdin)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _warm()
        text = sys.stdin.read()
        if not text.strip():
            return 0  # the parent had nothing to send after all
        plan = json.loads(text)
        if plan.get("username") is not None:
            os.environ["TWINE_USERNAME"] = plan["username"]
        if plan.get("password") is not None:
            os.environ["TWINE_PASSWORD"] = plan["password"]
        code, output = _run(argv[1:], plan["shares"], max(1, int(plan["connections"])))
        sys.stdout.write(output)
        return code
    except _Stopped:
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
