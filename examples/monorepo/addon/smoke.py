"""Smoke test of the add-on's install step without docker: what `docker build --build-arg
SKYLINE_PIP_SPEC=<spec>` does in the image, against one index.

    python3 addon/smoke.py SPEC INDEX_URL [FALLBACK_URL]

installs SPEC from INDEX_URL into a fresh uv environment (the user's pip and uv configuration
ignored: no extra index, no find-links can supply a file); what INDEX_URL lacks (another
train's release already in production) comes from FALLBACK_URL, both indexes searched for the
best match as pip does in the image (`--index-url` and `--extra-index-url`): proving which file
came from where is install-back's job, this checks that the add-on's install step works against
the index. Then it runs the add-on's command with --version, which must name the
pinned version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    spec, index_url = sys.argv[1:3]
    fallback = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != index_url else None
    name, _, version = spec.partition("==")
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1",
                "UV_PYTHON_DOWNLOADS": "never"})
    with tempfile.TemporaryDirectory(prefix="addon-smoke-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([uv, "venv", "--no-config", "--quiet", "--python", sys.executable,
                        str(venv)], check=True, env=env)
        subprocess.run([uv, "pip", "install", "--no-config", "--quiet", "--python",
                        str(venv / "bin" / "python"), "--cache-dir", str(Path(tmp) / "cache"),
                        *(["--index", index_url, "--default-index", fallback,
                           "--index-strategy", "unsafe-best-match"] if fallback
                          else ["--default-index", index_url]), spec], check=True, env=env)
        out = subprocess.run([str(venv / "bin" / name), "--version"], check=True, env=env,
                             capture_output=True, text=True).stdout
    print(out.strip())
    if version and version not in out:
        print(f"{name} --version does not name {version}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
