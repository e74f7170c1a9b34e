"""The `release-train` program: invoke's `Program` with a core `--repo PATH` flag
(`release-train --repo PATH bump ...`), help that shows release-train's own options only, and
usage errors as one `error:` line with exit 2 and a "did you mean" for a mistyped task. The
tasks it runs are `release.cli`'s collection."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.program import Program

REPO_HELP = "repository to work on (default: current directory)"


def _help_first(namespace: Collection | None, argv: list[str] | None) -> list[str] | None:
    """`release-train ack --help` as `release-train --help ack`: a task whose first argument
    stands alone (ack TEXT) would otherwise take --help as that argument."""
    if not argv or isinstance(argv, str) or namespace is None:
        return argv
    names = set(namespace.task_names) | {a for al in namespace.task_names.values() for a in al}
    for at, word in enumerate(argv[1:], 1):
        if word in names:
            rest = argv[at + 1:]
            if any(w in ("--help", "-h") for w in rest):
                return [*argv[:at], "--help", word]
            break
    return argv


SHOWN_CORE = ("help", "version", "list", "repo")  # invoke's other core options stay hidden


class ReleaseProgram(Program):
    """invoke's Program with a core --repo flag: `release-train --repo PATH bump ...`; help that
    shows release-train's options only; usage errors as one `error:` line, exit 2, with a
    "did you mean" for a mistyped task."""

    def core_args(self) -> list[Argument]:
        return [*super().core_args(), Argument(names=("repo",), help=REPO_HELP)]

    def print_help(self) -> None:
        print(f"Usage: {self.binary} [--repo PATH] <task> [--task-options] ...")
        print("")
        print("Options:")
        print("")
        wanted = re.compile(r"--(?:" + "|".join(SHOWN_CORE) + r")(?![\w-])")
        shown = [(flags, text) for flags, text in self.initial_context.help_tuples()
                 if wanted.search(flags)]
        self.print_columns(shown)
        if self.namespace is not None:
            self.list_tasks()

    def _did_you_mean(self, exc: ParseError) -> str:
        text = str(exc)
        for marker in ("No idea what '", "No idea what "):
            if text.startswith(marker):
                name = text[len(marker):].split("'")[0].rstrip("!")
                known = list(self.namespace.task_names) if self.namespace else []
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else \
                    f" (tasks: {self.binary} --list)"
                return f"no task or option {name!r}{hint}"
        return text

    def _usage(self, step: Callable[[], None]) -> None:
        try:
            step()
        except ParseError as exc:
            raise Exit(f"error: {self._did_you_mean(exc)}", code=2) from None

    def parse_core(self, argv: list[str] | None) -> None:
        wanted = _help_first(self.namespace, argv)
        self._usage(lambda: super(ReleaseProgram, self).parse_core(wanted))

    def parse_tasks(self) -> None:
        self._usage(super().parse_tasks)

    def parse_cleanup(self) -> None:
        self._usage(super().parse_cleanup)

    def update_config(self, merge: bool = True) -> None:
        repo = self.args.repo.value if "repo" in self.args else None
        if repo:
            self.config["release_repo"] = repo
        super().update_config(merge=merge)
