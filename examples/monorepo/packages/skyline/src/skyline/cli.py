"""Console script `skyline`: --help and --version (the CLI skyline-core provides)."""

from skyline_core.cli import run

DIST = "skyline"
ABOUT = "The skyline application."


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
