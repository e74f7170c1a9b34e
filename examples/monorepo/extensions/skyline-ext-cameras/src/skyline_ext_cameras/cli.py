"""Console script `skyline-ext-cameras`: --help and --version (the CLI skyline-core provides)."""

from skyline_core.cli import run

DIST = "skyline-ext-cameras"
ABOUT = "Camera sources for skyline."


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
