"""Console script `skyline-core`, and the --help/--version CLI every skyline package shares."""

import argparse
from importlib.metadata import version

DIST = "skyline-core"
ABOUT = "Core data types shared by skyline and its extensions."


def run(dist: str, about: str, argv: list[str] | None = None) -> int:
    """--help and --version for the distribution `dist`, nothing more."""
    parser = argparse.ArgumentParser(prog=dist, description=about)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.version:
        print(f"{dist} {version(dist)}")
    else:
        print(f"{dist}: {about}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
