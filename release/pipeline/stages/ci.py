"""Handing the release to CI (`release --via-ci`): after the push, the tag's GitHub Actions run
publishes with trusted publishing; this stage waits for it, records its conclusion, the index
URL of every file and its logs, and attaches the built files to the GitHub release.

Its preflight checks, before anything is written, that the run can happen: a token, a GitHub
repository, a remote that accepts a push, and the workflow, environment and tag pattern
trusted publishing was registered with (what `invoke init-ci` wrote).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from release import repo as git
from release.build.manifest import Manifest
from release.config import Train
from release.errors import ReleaseError
from release.pipeline.release import Outputs, Release, Say, run_stage
from release.publish.endpoints import Endpoint

if TYPE_CHECKING:
    from release.announce.github import Actions


def _ci_workflow(release: Release) -> tuple[str, str, dict[str, Any]]:
    """The workflow file init-ci writes for this release, its environment, its data."""
    from release.workflows import FINAL_WORKFLOW, RC_WORKFLOW, default_install, release_candidate
    from release.workflows import release as final_workflow

    spec = default_install(release.config)
    if release.final:
        return FINAL_WORKFLOW, "pypi", final_workflow(release.config, spec)
    return RC_WORKFLOW, "testpypi", release_candidate(release.config, spec)


def ci_preflight(release: Release, train: Train) -> list[str]:
    """--via-ci: a token, a GitHub repository, a tag that can be pushed, and the workflow,
    environment and tag pattern trusted publishing was registered with (what init-ci wrote)."""
    from release.announce.github import repository, token
    from release.workflows import WORKFLOWS_DIR, _scalar, tag_patterns

    token()
    owner, name = repository(release.root)
    workflow, environment, data = _ci_workflow(release)
    rel = WORKFLOWS_DIR / workflow
    path = release.root / rel
    if not path.is_file():
        raise ReleaseError(f"{rel} does not exist: write it with invoke init-ci, commit and "
                           "push it, register it as the trusted publisher, then release --via-ci")
    text = path.read_text(encoding="utf-8")
    wanted = [f"environment: {environment}", "id-token: write"]
    wanted += [f"- {_scalar(p)}" for p in data["on"]["push"]["tags"]
               if p in tag_patterns(train) or train.tag_format.split("{")[0] in p]
    missing = [w for w in wanted if w not in text]
    if missing:
        raise ReleaseError(f"{rel} is not what init-ci writes for trusted publishing of "
                           f"{train.name} (no {missing[0].removeprefix('- ')!r}): run invoke "
                           "init-ci --force, commit and push it, and check the trusted "
                           "publisher on the index names it")
    branch = git.current_branch(release.root)
    remote = git.default_remote(release.root, branch) if branch else None
    if branch is None or remote is None:
        raise ReleaseError("--via-ci pushes the tag: check out a branch that has a remote")
    probe = git.run_git(release.root, "push", "--dry-run", "--porcelain", remote,
                        f"HEAD:refs/heads/{branch}")
    if probe.returncode != 0:
        raise ReleaseError(f"cannot push to {remote} ({git.reason(probe)}): the tag could not "
                           "reach CI")
    return [f"GitHub repository {owner}/{name}, token set", f"{rel}: environment "
            f"{environment}, trusted publishing, {train.name}'s tags", f"{remote} accepts a push"]


@dataclass(frozen=True)
class _Watch:
    """Which workflow's run to wait for, how often to ask, for how long."""

    workflow: str
    poll: float
    timeout: float
    say: Say

    def finished_run(self, actions: Actions, tag: str, sha: str) -> Any:
        """The workflow's run for `sha`, once completed (ReleaseError after the timeout)."""
        ends = time.monotonic() + self.timeout
        run = actions.find_run(self.workflow, sha)
        while run is None or run.status != "completed":
            if time.monotonic() > ends:
                raise ReleaseError(f"no finished {self.workflow} run for {tag} after "
                                   f"{self.timeout:.0f} s" + (f" ({run.url})" if run else "")
                                   + ": run again to go on waiting")
            time.sleep(self.poll)
            if run is None:
                run = actions.find_run(self.workflow, sha)
                if run is not None:
                    self.say(f"CI run for {tag}: {run.url}")
            else:
                run = actions.run(run.id)
        return run


def _ci_run(release: Release, actions: Actions, watch: _Watch, train: Train,
            manifest: Manifest, target: Endpoint) -> dict[str, Any]:
    """Wait for the train's tag run; record it (and, for a final, the PyPI verification its
    last job did); refuse a failed run or a file the index does not show."""
    from release.record import private_dir

    version = release.versions[train.name]
    record, tag = release.records[train.name], train.tag(version)
    run = watch.finished_run(actions, tag, str(git.tag_commit(release.root, tag)))
    logs_dir = private_dir(release.root) / "ci"
    logs_dir.mkdir(exist_ok=True)
    logs = actions.logs(run.id, logs_dir / f"{train.name}-{version}-run-{run.id}.zip")
    with target.client() as client:
        listed = {f.filename: f.url for p in train.packages for f in client.files(p.name)}
    files = {a.filename: listed.get(a.filename) for a in manifest.artifacts}
    ci = {"workflow": watch.workflow, "run": run.id, "url": run.url,
          "conclusion": run.conclusion, "logs": str(logs), "files": files}
    record.set("ci", ci)
    release.say(f"CI run {run.url} for {tag}: {run.conclusion}; logs: {logs}")
    if run.conclusion != "success":
        raise ReleaseError(f"the CI run for {tag} ended {run.conclusion} ({run.url}); "
                           f"its logs are in {logs}")
    absent = [n for n, url in files.items() if not url]
    if absent:
        raise ReleaseError(f"the CI run for {tag} succeeded, but {target.name} does "
                           f"not show {absent[0]} (and {len(absent) - 1} more)")
    if release.final:  # the release workflow's last job installs back from PyPI
        verifications = dict(record.data.get("verifications", {}))
        verifications[release.pypi.name] = {"ok": True, "via": run.url,
                                            "url": release.pypi.where_simple}
        record.set("verifications", verifications)
    return ci


def stage_ci(release: Release, poll: float | None = None,
             timeout: float | None = None) -> None:
    """Wait for the Actions run each pushed tag started; record its conclusion, the index
    URL of every file, its logs (.release/ci/); attach the built files to the GitHub
    release. A successful final release workflow verified the files on PyPI."""
    from release.announce.github import Actions, api_base, publish, repository, token
    from release.announce.notes import gather, render_sources, today

    poll = float(os.environ.get("RELEASE_CI_POLL", "10")) if poll is None else poll
    timeout = float(os.environ.get("RELEASE_CI_TIMEOUT", "3600")) if timeout is None \
        else timeout
    secret = token()
    owner, name = repository(release.root)
    watch = _Watch(_ci_workflow(release)[0], poll, timeout, release.say)
    target = release.pypi if release.final else release.testpypi

    def body(out: Outputs) -> None:
        manifests = {m.train: m for m in release.manifests()}
        with Actions(api_base(), owner, name, secret) as actions:
            for train in release.python_trains:
                manifest = manifests[train.name]
                ci = _ci_run(release, actions, watch, train, manifest, target)
                version = release.versions[train.name]
                notes = render_sources(gather(release.root, train.name, version), today())
                made = publish(api_base(), owner, name, secret, tag=train.tag(version),
                               title=f"{train.name} {version}", body=notes,
                               prerelease=not release.final)
                attached = [p.name for p in manifest.files()
                            if made.upload_url and actions.upload_asset(made.upload_url, p)]
                out[train.name] = {**ci, "release": made.url, "assets": attached}
    run_stage(release, "ci", {t.name: {"tag": t.tag(release.versions[t.name])}
                              for t in release.python_trains}, body)
