"""Console script `skyline-streaming`: --help and --version (the CLI skyline-core provides)."""

from skyline_core.cli import run

DIST = "skyline-streaming"
ABOUT = "skyline with the streaming extension."


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
