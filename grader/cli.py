"""Command-line entry point: ``w2v-grader <command> ...``.

Each sub-command lives in its own module under :mod:`grader.commands` and
exposes ``register(subparsers) -> None``; ``register`` adds a parser whose
``func`` default is ``run(args) -> int`` (the exit code).  Commands are
discovered automatically, so adding a command means adding one module.
Heavy imports belong inside ``run`` so ``w2v-grader --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Optional, Sequence

from grader import __version__


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module registered (alphabetical order)."""
    import grader.commands as commands

    parser = argparse.ArgumentParser(
        prog="w2v-grader",
        description="Autograder for the CS224n word2vec assignment (word2vec.py, sgd.py).",
    )
    parser.add_argument("--version", action="version", version=f"w2v-grader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"grader.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
