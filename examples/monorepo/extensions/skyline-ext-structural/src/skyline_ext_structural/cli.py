"""Console script `skyline-ext-structural`: --help and --version (the CLI skyline-core provides)."""

from skyline_core.cli import run

DIST = "skyline-ext-structural"
ABOUT = "Structural analysis extension for skyline."


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
