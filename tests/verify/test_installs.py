"""Install-back from real devpi indexes on 3.11, 3.12 and 3.13: proof, smoke, platforms, waits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from release.errors import InstallError
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish.index import IndexClient
from release.publish.visibility import Expected, wait_until_visible
from release.verify.installs import Wheel, install_back, resolve_for_platform
from release.verify.interpreters import find_all
from tests.helpers.dists import Upload, dists, uv_build, variant
from tests.helpers.proxy import FaultProxy
from tests.helpers.repos import EXAMPLE

# Every test here is end to end (and runs on one xdist worker: tests/conftest.py ONE_WORKER).
pytestmark = pytest.mark.slow

PACKAGES = ("packages/skyline-core", "packages/skyline", "extensions/skyline-ext-structural")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our release (3 packages), an impostor with a higher version, a tampered twin."""
    tmp = tmp_path_factory.mktemp("installs")
    for package in PACKAGES:
        uv_build(EXAMPLE / package, tmp / "ours")
    uv_build(variant(tmp, "packages/skyline-core", "0.4.2", "99.0.0", "higher"), tmp / "higher")
    uv_build(variant(tmp, "packages/skyline-core", "def main", "def main_tampered", "tampered"),
             tmp / "tampered")
    return {"ours": tmp / "ours", "higher": tmp / "higher", "tampered": tmp / "tampered"}


def wheels_in(directory: Path) -> list[Wheel]:
    return [Wheel.read(p) for p in sorted(directory.glob("*.whl"))]


def upload(twine_upload: Upload, index: LocalIndex, *files: Path) -> None:
    done = twine_upload(index, *files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_happy_path_on_every_python(built: dict[str, Path], local_index: LocalIndex,
                                    twine_upload: Upload, tmp_path: Path) -> None:
    upload(twine_upload, local_index, *dists(built["ours"]))
    wheels = wheels_in(built["ours"])
    pythons = find_all(("3.11", "3.12", "3.13"))
    assert [p.wanted for p in pythons] == ["3.11", "3.12", "3.13"]
    for python in pythons:
        result = install_back(python, wheels, [local_index.simple_url], tmp_path)
        assert result.ok, result.error
        assert result.packages == {"skyline": "ok", "skyline-core": "ok",
                                   "skyline-ext-structural": "ok"}
        assert result.interpreter.endswith(f"python{python.wanted}")


def test_fallback_index_with_a_higher_version_is_never_used(
        built: dict[str, Path], devpi: LocalDevpi, twine_upload: Upload, tmp_path: Path) -> None:
    target, fallback = devpi.create_index("target"), devpi.create_index("impostor")
    upload(twine_upload, target, *dists(built["ours"]))
    upload(twine_upload, fallback, *dists(built["higher"]))
    python = find_all(("3.12",))[0]
    # ext-structural asks for skyline-core>=0.4: 99.0.0 on the fallback satisfies it too.
    wheels = [w for w in wheels_in(built["ours"]) if w.name != "skyline"]
    result = install_back(python, wheels, [target.simple_url, fallback.simple_url], tmp_path)
    assert result.ok, result.error
    assert result.packages["skyline-core"] == "ok"  # 0.4.2, our file, proven by hash


def test_installed_files_that_differ_from_the_build_are_detected(
        built: dict[str, Path], local_index: LocalIndex, twine_upload: Upload,
        tmp_path: Path) -> None:
    # What the index has differs from what we built:
    upload(twine_upload, local_index, *sorted(built["tampered"].glob("*.whl")))
    ours = [w for w in wheels_in(built["ours"]) if w.name == "skyline-core"]  # what we built
    result = install_back(find_all(("3.11",))[0], ours, [local_index.simple_url], tmp_path)
    assert not result.ok
    assert result.packages["skyline-core"].startswith("1 installed file(s) differ from the "
                                                      "built wheel, e.g. skyline_core/cli.py")


def test_missing_interpreter_is_named() -> None:
    with pytest.raises(InstallError, match=r"Python 3\.99 is configured for install-back but "
                                           "was not found"):
        find_all(("3.11", "3.99"))
    assert [p.wanted for p in find_all(("3.11", "3.99"), optional=("3.99",))] == ["3.11"]


def test_platform_report_names_what_cannot_resolve(
        built: dict[str, Path], local_index: LocalIndex, twine_upload: Upload,
        tmp_path: Path) -> None:
    windows_only = variant(tmp_path, "packages/skyline-core", 'name = "skyline-core"',
                           'name = "skyline-core"\ndependencies = '
                           '["no-such-package-rt; sys_platform == \'win32\'"]', "winonly")
    uv_build(windows_only, tmp_path / "dist")
    upload(twine_upload, local_index, *dists(tmp_path / "dist"))
    requirements = ["skyline-core==0.4.2"]
    linux = resolve_for_platform("x86_64-manylinux_2_28", "3.12", requirements,
                                 [local_index.simple_url], tmp_path / "cache")
    windows = resolve_for_platform("windows", "3.12", requirements, [local_index.simple_url],
                                   tmp_path / "cache")
    assert linux.ok and linux.detail == "1 packages resolved"
    assert not windows.ok
    assert "no-such-package-rt" in windows.detail


def test_wait_sees_files_that_appear_late_and_fails_clearly_past_the_deadline(
        built: dict[str, Path], devpi: LocalDevpi, local_index: LocalIndex,
        twine_upload: Upload) -> None:
    files = dists(built["ours"])
    upload(twine_upload, local_index, *files)
    from release.build.manifest import sha256_of
    from release.verify.installs import Wheel as W  # noqa: N814

    expected = []
    for path in files:
        version = "0.4.2" if "skyline-core" in path.name or "skyline-0" in path.name else "1.2.0"
        project = W.read(path).name if path.suffix == ".whl" else \
            path.name.rsplit("-", 1)[0].replace("_", "-")
        expected.append(Expected(project, version, path.name, sha256_of(path)))
    proxy = FaultProxy(devpi.url)
    with proxy.running():
        client = IndexClient(proxy.translate(local_index.simple_url))
        proxy.faults.hide_until = time.monotonic() + 2.0
        said: list[str] = []
        waited = wait_until_visible(client, expected, deadline=20, first_delay=0.3,
                                    say=said.append)
        assert 1.5 < waited < 10
        assert said[0].startswith(f"waiting for {len(expected)} of {len(expected)} files on "
                                  f"{client.simple_url} ({files[0].name}")
        assert "s of 20 s, giving up at " in said[0]
        proxy.faults.hide_until = time.monotonic() + 30.0
        with pytest.raises(InstallError) as info:
            wait_until_visible(client, expected, deadline=1.0, first_delay=0.2, say=said.append)
        message = str(info.value)
        assert "still does not show 6 file(s)" in message
        assert files[0].name in message


SMOKE_MODULE = '''import os, sys


def _ran(name, code):
    with open(os.environ["RT_SMOKE_LOG"], "a") as log:
        log.write(name + "\\n")
    if code:
        print("broken on purpose", file=sys.stderr)
    return code


def a():
    return _ran("rt-smoke-a", 3)


def a2():
    return _ran("rt-smoke-a2", 0)


def b():
    return _ran("rt-smoke-b", 3)
'''


def write_wheel(out: Path, name: str, scripts: dict[str, str], requires: tuple[str, ...] = ()
                ) -> Path:
    """A minimal pure-Python wheel (module, console scripts, requirements), written by hand."""
    import base64
    import hashlib
    import zipfile

    module = name.replace("-", "_")
    info = f"{module}-1.0.dist-info"
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {module}:{v}\n"
                                                    for k, v in scripts.items())
    files = {f"{module}/__init__.py": SMOKE_MODULE,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                 + "".join(f"Requires-Dist: {r}\n" for r in requires),
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
             f"{info}/entry_points.txt": entry_points}
    record = []
    path = out / f"{module}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            data = text.encode()
            wheel.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{member},sha256={digest.decode()},{len(data)}")
        wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return path


def test_each_console_script_runs_once_and_a_broken_one_is_named(
        local_index: LocalIndex, twine_upload: Upload, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    made = [write_wheel(tmp_path, "rt-smoke-a", {"rt-smoke-a": "a", "rt-smoke-a2": "a2"}),
            write_wheel(tmp_path, "rt-smoke-b", {"rt-smoke-b": "b"})]
    upload(twine_upload, local_index, *made)
    log = tmp_path / "ran.log"
    monkeypatch.setenv("RT_SMOKE_LOG", str(log))
    result = install_back(find_all(("3.12",))[0], [Wheel.read(p) for p in made],
                          [local_index.simple_url], tmp_path)
    assert not result.ok
    # The first script through its wrapper, a process of its own ...
    assert result.packages["rt-smoke-a"].startswith("smoke failed: ")
    assert "bin/rt-smoke-a --help exited 3: broken on purpose" in result.packages["rt-smoke-a"]
    # ... the others' entry points in one interpreter; and each ran exactly once.
    assert result.packages["rt-smoke-b"] == \
        "smoke failed: rt-smoke-b: --help gave 3: broken on purpose"
    assert sorted(log.read_text().split()) == ["rt-smoke-a", "rt-smoke-a2", "rt-smoke-b"]


def test_the_third_party_index_is_asked_once_in_ten_minutes_and_our_names_every_time(
        devpi: LocalDevpi, twine_upload: Upload, tmp_path: Path) -> None:
    # Our package on the target, the dependency it needs on the index after it (where
    # third-party dependencies come from); devpi's pages, like a mirror's, say nothing of
    # their freshness: the last index gets PyPI's ten minutes, our names are asked each time.
    target, third = devpi.create_index("fresh-ours"), devpi.create_index("fresh-third")
    ours = write_wheel(tmp_path, "rt-ours", {}, requires=("rt-third",))
    upload(twine_upload, target, ours)
    upload(twine_upload, third, write_wheel(tmp_path, "rt-third", {}))
    python = find_all(("3.12",))[0]
    with FaultProxy(devpi.url).running() as proxy:
        indexes = [proxy.translate(target.simple_url), proxy.translate(third.simple_url)]
        for _ in range(2):  # two install-backs on one uv cache, as a release's stages do
            result = install_back(python, [Wheel.read(ours)], indexes, tmp_path,
                                  cache_dir=tmp_path / "uv-cache")
            assert result.ok, result.error
    pages = [line for line in proxy.faults.seen if "/+simple/" in line]
    assert sum("/fresh-third/+simple/rt-third/" in page for page in pages) == 1, pages
    assert sum("/fresh-ours/+simple/rt-ours/" in page for page in pages) == 2, pages
