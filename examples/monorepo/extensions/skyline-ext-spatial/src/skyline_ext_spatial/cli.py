"""Console script `skyline-ext-spatial`: --help and --version, nothing more."""

import argparse
from importlib.metadata import version

DIST = "skyline-ext-spatial"
ABOUT = "Spatial indexing extension for skyline."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=DIST, description=ABOUT)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.version:
        print(f"{DIST} {version(DIST)}")
    else:
        print(f"{DIST}: {ABOUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
