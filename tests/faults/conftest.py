"""The fault scenarios' fixtures: the lab, and a release with a higher version than ours."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from release import logs
from release.build.frontend import build_trains
from release.config import load
from release.pipeline.localindex import LocalDevpi
from release.versions.plan import apply_plan, plan_change
from tests.faults.lab import ACTIVE, Lab
from tests.helpers.canary import canary_index
from tests.helpers.dists import mini_copy
from tests.helpers.proxy import FaultProxy
from tests.helpers.repos import git


@pytest.fixture
def lab(built_mini: Path, server: LocalDevpi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Lab]:
    """The mini release's repository (a copy) and files, TestPyPI behind a fault proxy, the
    canary as every credential and the token the indexes accept, RELEASE_DEBUG=1."""
    proxy = FaultProxy(server.url)
    with proxy.running():
        lab = Lab(mini_copy(built_mini, tmp_path), built_mini.parent / "dist", proxy,
                  canary_index(server, "testpypi"), canary_index(server, "pypi"), monkeypatch,
                  capsys, caplog)
        caplog.set_level(logging.DEBUG, logger="release")
        # release's logs do not propagate (nox must not print them): hear them directly
        logging.getLogger("release").addHandler(caplog.handler)
        for name, value in {**lab.values(), "RELEASE_DEBUG": "1"}.items():
            monkeypatch.setenv(name, value)
        ACTIVE.append(lab)
        try:
            yield lab
        finally:
            ACTIVE.remove(lab)
            logging.getLogger("release").removeHandler(caplog.handler)
            # The sessions configured debug logging in this process: the next test's requests
            # (urllib3's chatter among them) must not print it, captured or not.
            monkeypatch.delenv("RELEASE_DEBUG")
            logs.configure()


@pytest.fixture(scope="session")
def higher_core(built_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """skyline-core 99.0.0, built from a commit of the same repository."""
    repo = tmp_path_factory.mktemp("higher") / "repo"
    shutil.copytree(built_mini, repo, symlinks=True)
    config = load(repo)
    apply_plan(config, plan_change(config, config.train("core"), "99.0.0"))
    git(repo, "commit", "-qam", "99")
    (manifest,) = build_trains(load(repo), [load(repo).train("core")],
                               out_dir=repo.parent / "dist", progress=lambda _: None)
    return [p for p in manifest.files() if p.name.startswith("skyline_core")]
