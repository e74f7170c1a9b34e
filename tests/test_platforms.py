"""Platform logic that runs on Linux for every OS: Windows paths and script names, which
configured platform this machine is, one-line failure reasons (from real uv output), the
platform x Python table and the merge of verifications from several runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from release.platforms import (
    FAILED,
    INSTALLED,
    NOT_CHECKED,
    RESOLVED,
    Host,
    failure_reason,
    host_platform,
    interpreter_names,
    merge_verification,
    platform_table,
    pure_path,
    pyenv_interpreter,
    record_path_parts,
    render_table,
    replace_file,
    script_name,
    scripts_dir,
    venv_python,
)
from release.verify.interpreters import find, resolved
from release.versions.lockfiles import uv_binary

CONFIGURED = ("windows", "macos", "x86_64-manylinux_2_28", "aarch64-manylinux_2_28")


def test_windows_environments_keep_python_exe_under_scripts() -> None:
    env = PureWindowsPath(r"C:\Users\r\AppData\Local\Temp\py3.12-x")
    assert venv_python(env, "nt") == PureWindowsPath(env, "Scripts", "python.exe")
    assert str(venv_python(env, "nt")).endswith(r"py3.12-x\Scripts\python.exe")
    assert scripts_dir(env, "nt").name == "Scripts"
    posix = PurePosixPath("/tmp/py3.12-x")
    assert venv_python(posix, "posix") == PurePosixPath("/tmp/py3.12-x/bin/python")
    assert pure_path(r"C:\a\b", "nt").parts == ("C:\\", "a", "b")


def test_console_scripts_are_exe_launchers_on_windows() -> None:
    assert script_name("skyline", "nt") == "skyline.exe"
    assert script_name("skyline.EXE", "nt") == "skyline.EXE"
    assert script_name("skyline", "posix") == "skyline"


def test_interpreters_are_looked_for_by_windows_names() -> None:
    assert interpreter_names("3.12", "nt") == ["python3.12.exe", "python.exe", "python3.exe"]
    assert interpreter_names("3.12", "posix") == ["python3.12"]
    version = PureWindowsPath(r"C:\Users\r\.pyenv\pyenv-win\versions\3.12.1")
    assert pyenv_interpreter(version, "3.12", "nt") == version / "python.exe"
    assert pyenv_interpreter(PurePosixPath("/p/versions/3.12.1"), "3.12", "posix") == \
        PurePosixPath("/p/versions/3.12.1/bin/python3.12")


def test_record_paths_split_on_either_separator() -> None:
    assert record_path_parts("pkg/__init__.py") == ("pkg", "__init__.py")
    assert record_path_parts("pkg-1.0.dist-info\\RECORD") == ("pkg-1.0.dist-info", "RECORD")


@pytest.mark.parametrize(("system", "machine", "expected"), [
    ("win32", "AMD64", "windows"),
    ("darwin", "arm64", "macos"),
    ("linux", "x86_64", "x86_64-manylinux_2_28"),
    ("linux", "aarch64", "aarch64-manylinux_2_28"),
    ("linux", "riscv64", "linux-riscv64"),
])
def test_the_machine_is_named_as_configured(system: str, machine: str, expected: str) -> None:
    assert host_platform(CONFIGURED, Host(system, machine)) == expected


def test_a_machine_not_configured_gets_a_name_of_its_own() -> None:
    assert host_platform(["windows"], Host("linux", "x86_64")) == "linux-x86_64"
    assert host_platform(["x86_64-unknown-linux-musl"], Host("linux", "x86_64")) == \
        "linux-x86_64"
    assert host_platform(["aarch64-apple-darwin"], Host("darwin", "arm64")) == \
        "aarch64-apple-darwin"


def test_the_reason_is_the_unresolvable_requirement_not_uvs_last_line(tmp_path: Path) -> None:
    """Real uv output: a pinned version that no index offers."""
    (tmp_path / "links").mkdir()
    proc = subprocess.run(
        [uv_binary(), "pip", "compile", "-", "--no-config", "--quiet", "--offline",
         "--no-index", "--find-links", str(tmp_path / "links"), "--cache-dir",
         str(tmp_path / "cache"), "--python-platform", "windows"],
        input="skyline-core==0.4.2\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    reason = failure_reason(proc.stderr)
    assert "skyline-core" in reason and "0.4.2" in reason, proc.stderr
    assert "we can conclude" not in reason and "\n" not in reason
    assert reason != proc.stderr.strip().splitlines()[-1].strip()


def test_failure_reasons_from_uvs_explanations() -> None:
    text = """  × No solution found when resolving dependencies:
  ╰─▶ Because skyline-vision-cuda==0.4.2 has no wheels with a matching platform tag
      (e.g., `manylinux_2_28_aarch64`) and you require skyline-vision-cuda==0.4.2, we can
      conclude that your requirements are unsatisfiable.
"""
    assert failure_reason(text) == ("skyline-vision-cuda==0.4.2 has no wheels with a matching "
                                    "platform tag (e.g., `manylinux_2_28_aarch64`)")
    assert failure_reason("Because a was not found and you require a==1, we can conclude x") \
        == "a was not found (required: a==1)"
    assert failure_reason("error: Failed to fetch: `http://x/`\n  Caused by: refused\n") == \
        "Failed to fetch: `http://x/`"
    assert failure_reason("") == "no output"


def _verification(**extra: object) -> dict[str, object]:
    return {"url": "http://127.0.0.1/simple/", "files": ["a", "b"], "releases": ["core 1.0"],
            "waited": 0.5, "pin_problems": [], "ok": True, **extra}


def test_the_table_says_which_kind_of_check_each_platform_got() -> None:
    seen = _verification(
        pythons=[{"python": "3.12", "platform": "windows", "ok": True},
                 {"python": "3.12", "platform": "x86_64-manylinux_2_28", "ok": True},
                 {"python": "3.13", "platform": "x86_64-manylinux_2_28", "ok": False,
                  "reason": "skyline-core: import failed: boom"}],
        platforms=[{"platform": "windows", "python": "3.13", "ok": True},
                   {"platform": "aarch64-manylinux_2_28", "python": "3.12", "ok": True},
                   {"platform": "aarch64-manylinux_2_28", "python": "3.13", "ok": False,
                    "detail": "numpy==9 has no wheels"}])
    rows = platform_table(seen, CONFIGURED, ["3.12", "3.13"])
    cell = {(r["platform"], r["python"]): (r["check"], r["reason"]) for r in rows}
    assert cell[("windows", "3.12")] == (INSTALLED, "")
    assert cell[("windows", "3.13")] == (RESOLVED, "")
    assert cell[("macos", "3.12")] == (NOT_CHECKED, "")
    assert cell[("x86_64-manylinux_2_28", "3.13")] == (FAILED,
                                                      "skyline-core: import failed: boom")
    assert cell[("aarch64-manylinux_2_28", "3.12")] == (RESOLVED, "")
    assert cell[("aarch64-manylinux_2_28", "3.13")] == (FAILED, "numpy==9 has no wheels")
    text = render_table("platforms", rows)
    lines = text.splitlines()
    assert lines[1].split() == ["platform", "3.12", "3.13"]
    assert lines[2].split() == ["windows", "installed+imported", "resolved", "only"]
    assert "  aarch64-manylinux_2_28 / Python 3.13: numpy==9 has no wheels" in lines
    assert all(line == line.rstrip() for line in lines)


def test_verifications_of_several_runs_merge_check_by_check() -> None:
    first = _verification(pythons=[{"python": "3.11", "platform": "linux", "ok": True}],
                          platforms=[{"platform": "windows", "python": "3.11", "ok": True}])
    second = _verification(waited=None,
                           pythons=[{"python": "3.12", "platform": "linux", "ok": False}],
                           platforms=[])
    merged = merge_verification(first, second)
    assert [(p["python"], p["ok"]) for p in merged["pythons"]] == [("3.11", True),
                                                                  ("3.12", False)]
    assert merged["ok"] is False and merged["waited"] == 0.5
    fixed = merge_verification(merged, _verification(
        pythons=[{"python": "3.12", "platform": "linux", "ok": True}]))
    assert fixed["ok"] is True and len(fixed["pythons"]) == 2
    elsewhere = _verification(url="http://127.0.0.1/other/", pythons=[], platforms=[])
    assert merge_verification(fixed, elsewhere) == elsewhere


def test_replace_retries_while_windows_holds_the_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    calls: list[str] = []
    real = os.replace

    def locked_twice(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) < 3:
            raise PermissionError(13, "The process cannot access the file")
        real(src, dst)

    (tmp_path / "new").write_text("x")
    monkeypatch.setattr(os, "replace", locked_twice)
    replace_file(tmp_path / "new", tmp_path / "record.json", os_name="nt", pause=0)
    assert len(calls) == 3 and (tmp_path / "record.json").read_text() == "x"
    (tmp_path / "new").write_text("y")
    calls.clear()
    with pytest.raises(PermissionError):  # elsewhere a locked file is a real error at once
        replace_file(tmp_path / "new", tmp_path / "record.json", os_name="posix")
    assert len(calls) == 1


def test_the_interpreter_behind_a_nox_environment_is_the_real_one(tmp_path: Path) -> None:
    here = find(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert here is not None
    env = tmp_path / "env"
    subprocess.run([uv_binary(), "venv", "--no-config", "--quiet", "--python", str(here.path),
                    str(env)], check=True, timeout=120)
    got = resolved(here.wanted, Path(venv_python(env)))
    assert got.version == here.version and got.path.resolve() == here.path.resolve()
    from release.errors import InstallError

    with pytest.raises(InstallError, match="not 2.7"):
        resolved("2.7", Path(venv_python(env)))
