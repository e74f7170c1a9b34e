"""Console script `skyline-vision-cuda`: --help and --version (the CLI skyline-core provides)."""

from skyline_core.cli import run

DIST = "skyline-vision-cuda"
ABOUT = "skyline with CUDA-accelerated vision."


def main(argv: list[str] | None = None) -> int:
    return run(DIST, ABOUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
