"""``w2v-grader run-autograder``: what Gradescope's ``run_autograder`` does for each submission.

The work is :func:`grader.gradescope.run_autograder.run`; this module only parses the options.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.gradescope.engine import DEFAULT_ENGINE
from grader.gradescope.run_autograder import DEFAULT_GRACE, DEFAULT_ROOT, ROOT_ENV

GROUP = "internal"
EXAMPLE = "w2v-grader run-autograder   (Gradescope's run_autograder calls it)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run-autograder`` sub-command."""
    parser = subparsers.add_parser(
        "run-autograder",
        help="grade ROOT/submission and write ROOT/results/results.json (Gradescope's run_autograder)",
        description=(
            "Grade the submission in the Gradescope layout and always write a valid results.json, "
            f"with partial results when the rubric's time budget runs out. ROOT defaults to "
            f"${ROOT_ENV} or {DEFAULT_ROOT}."
        ),
    )
    parser.add_argument("--root", type=Path, default=None,
                        help=f"autograder root (default: ${ROOT_ENV} or {DEFAULT_ROOT})")
    parser.add_argument("--rubric", type=Path, default=None,
                        help="rubric TOML (default: ROOT/source/rubric.toml if present, else the installed default)")
    parser.add_argument("--budget", type=float, default=None,
                        help="grading budget in seconds (default: the rubric's [limits] budget_seconds)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE,
                        help=f"seconds after the budget before the engine is killed (default {DEFAULT_GRACE:g})")
    parser.add_argument("--output-format", choices=("md", "html"), default="md",
                        help="format of the report shown to students (default md)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, help=argparse.SUPPRESS)  # tests: module:function
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Grade and write results.json; 0 if it was written, 1 if even that failed."""
    from grader.gradescope.run_autograder import AutograderOptions
    from grader.gradescope.run_autograder import run as run_autograder

    return run_autograder(AutograderOptions(root=args.root, rubric=args.rubric, budget=args.budget, grace=args.grace,
                                            output_format=args.output_format, engine=args.engine))
