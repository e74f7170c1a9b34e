"""One error family, with messages written for the person running the release."""

import shutil


class ReleaseError(Exception):
    """An expected failure: tasks print the message on one line and exit non-zero."""

    exit_code = 1
    report = ""  # a report for stdout, printed before the message (the audit's findings)


def from_os_error(exc: BaseException) -> ReleaseError:
    """An OSError or shutil.Error (a read-only directory, a full disk, a copy that failed) as
    one line for the user, never a traceback."""
    if isinstance(exc, OSError) and not isinstance(exc, shutil.Error):
        return ReleaseError(f"{os_reason(exc)}: fix that (space, permissions), then run the "
                            "same command again")
    return ReleaseError(f"copying failed: {os_reason(exc)}")


def os_reason(exc: BaseException) -> str:
    """What went wrong, shortly: `strerror (file)`, or a failed copy's first reason."""
    if isinstance(exc, shutil.Error):
        first = exc.args[0][0] if exc.args and isinstance(exc.args[0], list) and exc.args[0] \
            else exc
        if isinstance(first, tuple) and len(first) == 3:
            return str(first[2])
        return str(first)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or type(exc).__name__}{where}"
    return str(exc)


class UnmanagedLines(ReleaseError):
    """`check --audit` found lines carrying a train's version that no bump would move."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


class ConfigError(ReleaseError):
    """The release configuration is invalid."""

    exit_code = 2


class UsageError(ReleaseError):
    """The command line asks for something that cannot be done as written."""

    exit_code = 2


class VersionError(ReleaseError):
    """A version is invalid, or a requested change of version makes no sense."""


class GitError(ReleaseError):
    """A git precondition failed or a git command was refused."""


class IndexServerError(ReleaseError):
    """A package index could not be reached or answered something unexpected."""


class BuildError(ReleaseError):
    """Building a package failed or produced a file we refuse to publish."""


class UploadError(ReleaseError):
    """An upload was refused or failed part-way (rerun to resume)."""


class InstallError(ReleaseError):
    """Installing the release back from an index failed or proved something wrong."""


class MissingPinError(InstallError):
    """A package of the release pins another train's release that no index to install from
    has: that train must be released first."""
