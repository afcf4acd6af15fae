"""Command-line entry point: ``w2v-grader <command> ...``.

Each sub-command lives in its own module under :mod:`grader.commands` and
exposes ``register(subparsers) -> None``; ``register`` adds a parser whose
``func`` default is ``run(args) -> int`` (the exit code).  A module also says
who it is for (``GROUP``, one of :data:`GROUPS`) and gives one example
(``EXAMPLE``): ``w2v-grader --help`` lists the commands by group with their
examples.  Commands are discovered automatically, so adding a command means
adding one module.  Heavy imports belong inside ``run`` so ``w2v-grader --help``
stays fast.  Exit codes: :mod:`grader.report.policy` (``EXIT_OK`` … ``EXIT_FAULT``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import textwrap
from types import ModuleType
from typing import Optional, Sequence

from grader import __version__

GROUPS: dict[str, str] = {
    "students": "For students (before you submit)",
    "instructors": "For instructors and TAs",
    "staff": "For course staff (setting up a course)",
    "internal": "Internal (run by Gradescope or the tooling, not by hand)",
}
EXIT_CODES = ("Exit codes: 0 graded (check: every visible test passed); 1 the submission needs fixing "
              "(a required file is missing or unreadable; check: also a failing test); 2 usage error; "
              "3 grader failure.")


class _TopParser(argparse.ArgumentParser):
    """The top-level parser: its help lists the commands grouped by who runs them, each with an example."""

    commands: list[tuple[str, str, str, str]] = []  # (group, name, summary, example)

    def format_help(self) -> str:
        lines = [self.format_usage().rstrip(), "", "Autograder for the CS224n word2vec assignment (word2vec.py, sgd.py).", ""]
        for group, title in GROUPS.items():
            mine = [c for c in self.commands if c[0] == group]
            if not mine:
                continue
            lines.append(f"{title}:")
            for _, name, summary, example in mine:
                lines.append(f"  {name:<17} {summary}")
                if example:
                    lines.append(f"  {'':<17}   e.g. {example}")
            lines.append("")
        lines += ["Options:", "  -h, --help        show this help (w2v-grader COMMAND --help: that command's options)",
                  "  --version         show the version", ""]
        lines += textwrap.wrap(EXIT_CODES, 100)
        return "\n".join(lines) + "\n"


def _commands() -> list[ModuleType]:
    import grader.commands as commands

    modules = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"grader.commands.{info.name}"))
    return modules


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module registered (listed by group, then name)."""
    parser = _TopParser(prog="w2v-grader", description="Autograder for the CS224n word2vec assignment.")
    parser.add_argument("--version", action="version", version=f"w2v-grader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser)
    sub.required = True
    order = list(GROUPS)
    listed: list[tuple[str, str, str, str]] = []
    for module in _commands():
        before = set(sub.choices)
        module.register(sub)
        for name in sorted(set(sub.choices) - before):
            group = getattr(module, "GROUP", "internal")
            summary = next((a.help for a in sub._choices_actions if a.dest == name), "") or ""
            listed.append((group, name, summary, getattr(module, "EXAMPLE", "")))
    parser.commands = sorted(listed, key=lambda c: (order.index(c[0]) if c[0] in order else len(order), c[1]))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
