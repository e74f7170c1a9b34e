"""The downstream smoke: an artifact train's `smoke` command against one index.

After the install-back from TestPyPI (then from PyPI), each artifact train that pins a
released train runs its `smoke` argv with `{spec}` (the requirement its pin writes, at the
version just released), `{index_url}` (that index's simple URL) and `{fallback_url}` (where
the rest comes from: production's simple URL, the way install-back falls back for other
trains' releases): `docker build` of the
add-on in real life, a script installing the spec into a fresh environment in tests. Like the
gates, each run's exit code, duration and log file (under `.release/logs/`) are recorded; a
failure stops the release naming the command and the log. The command runs in the artifact's
checkout with credentials taken out of its environment.
"""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.config import Config, Train, smoke_spec
from release.errors import ReleaseError
from release.proc import run, scrubbed_env
from release.record import private_dir
from release.redaction import redact

Say = Callable[[str], None]


@dataclass(frozen=True)
class Smoke:
    """One smoke run to make: the artifact train, the spec it installs, where it runs."""

    train: Train
    pinned: str  # the released train the spec names
    spec: str
    cwd: Path

    def argv(self, index_url: str, fallback_url: str) -> list[str]:
        assert self.train.downstream is not None
        return [a.format(spec=self.spec, index_url=index_url, fallback_url=fallback_url)
                for a in self.train.downstream.smoke]


def planned(config: Config, versions: dict[str, str]) -> list[Smoke]:
    """The smoke runs of a release of these versions (train -> version)."""
    runs: list[Smoke] = []
    for train in config.artifacts():
        if train.downstream is None or not train.downstream.smoke:
            continue
        for pin in train.pins:
            template = smoke_spec(pin)
            if pin.train in versions and template:
                spec = template.format(version=versions[pin.train])
                cwd = train.repository or config.root
                if all(r.spec != spec or r.train != train for r in runs):
                    runs.append(Smoke(train, pin.train, spec, cwd))
    return runs


def _environment(config: Config) -> dict[str, str]:
    """The caller's environment without the credentials release-train holds: those of
    scrubbed_env and the indexes' tokens, whatever their variables are called."""
    return scrubbed_env(names={i.token_env for i in config.indexes.values()})


def run_smoke(config: Config, smoke: Smoke, index_name: str, index_url: str,
              fallback_url: str, say: Say = print, timeout: float = 3600.0) -> dict[str, Any]:
    """Run one smoke command; its result for the record. Raises when it fails (or its
    program is missing, unless the train says smoke-optional)."""
    assert smoke.train.downstream is not None
    argv = smoke.argv(index_url, fallback_url)
    shown = redact(shlex.join(argv))
    result: dict[str, Any] = {"train": smoke.train.name, "spec": smoke.spec,
                              "index": index_url, "argv": shown}
    if shutil.which(argv[0], path=_environment(config).get("PATH")) is None and \
            not Path(smoke.cwd, argv[0]).is_file():
        why = (f"smoke of {smoke.train.name}: {argv[0]!r} is not installed (smoke = "
               f"{shlex.join(smoke.train.downstream.smoke)})")
        if smoke.train.downstream.smoke_optional:
            say(f"warning: {why}; skipped (smoke-optional = true)")
            return {**result, "skipped": why}
        raise ReleaseError(f"{why}: install it, or set smoke-optional = true on the train")
    logs = private_dir(config.checkout_of or config.root) / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / f"smoke-{smoke.train.name}-{index_name}-{smoke.spec.replace('=', '')}.log"
    started = time.monotonic()
    proc = run(argv, cwd=smoke.cwd, env=_environment(config), check=False, timeout=timeout)
    seconds = round(time.monotonic() - started, 3)
    log.write_text(redact(f"$ {shown}\n(in {smoke.cwd})\n{proc.stdout}{proc.stderr}"
                          f"\nexit {proc.returncode} after {seconds} s\n"), encoding="utf-8")
    result.update({"exit_code": proc.returncode, "seconds": seconds, "log": str(log)})
    if proc.returncode != 0:
        raise ReleaseError(f"smoke of {smoke.train.name} against {index_name} failed: {shown} "
                           f"exited {proc.returncode}; see {log}")
    say(f"smoke of {smoke.train.name} with {smoke.spec} from {index_name}: ok ({seconds:.1f} s)")
    return result


def run_all(config: Config, runs: Sequence[Smoke], index_name: str, index_url: str,
            fallback_url: str, say: Say = print) -> list[dict[str, Any]]:
    return [run_smoke(config, smoke, index_name, index_url, fallback_url, say)
            for smoke in runs]
