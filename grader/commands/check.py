"""w2v-grader check [PATH] [-q FUNCTION]...: the student's self-check (visible tests only).

Run it in your assignment folder (where word2vec.py and sgd.py are). It runs the visible tests in
the same sandbox as the course's grader, prints one line per function with its points and the
first failing case (expected vs got), and writes w2v-report.html next to your files. Hidden tests
run only on the course's grader: they are listed as pending.

-q FUNCTION (repeatable) re-checks only those functions: sigmoid, naiveSoftmaxLossAndGradient
(or naive-softmax), negSamplingLossAndGradient (or neg-sampling), skipgram, sgd. A function name
may also be given in place of PATH: w2v-grader check sigmoid.

Exit codes: 0 every visible test checked passed; 1 something to fix before you submit (a failing
test, or a required file missing or unreadable); 2 usage error; 3 grader failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Optional

from grader.commands._common import help_text, load_rubric_or_report

GROUP = "students"
EXAMPLE = "w2v-grader check   or only some functions:   w2v-grader check -q sigmoid -q sgd"
ALIASES: dict[str, str] = {
    "sigmoid": "sigmoid",
    "naivesoftmaxlossandgradient": "naiveSoftmaxLossAndGradient", "naivesoftmax": "naiveSoftmaxLossAndGradient",
    "negsamplinglossandgradient": "negSamplingLossAndGradient", "negsampling": "negSamplingLossAndGradient",
    "negativesampling": "negSamplingLossAndGradient",
    "skipgram": "skipgram",
    "sgd": "sgd",
}
"""Accepted spellings of each graded function (compared lower-case, without "-", "_" or spaces)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="self-check your assignment folder before you submit "
                                                 "(visible tests only)",
                                   **help_text(__doc__),
                                   epilog="Examples:\n  w2v-grader check\n  w2v-grader check -q naive-softmax\n"
                                          "  w2v-grader check ~/a2 --json results.json")
    parser.add_argument("targets", nargs="*", metavar="PATH|FUNCTION",
                        help="assignment folder (default: .) and/or functions to check")
    parser.add_argument("-q", "--question", action="append", default=[], metavar="FUNCTION", dest="functions",
                        help="check only this function (repeatable)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="report path (default: PATH/w2v-report.html)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the results as JSON (totals, and each test's status and points)")
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.set_defaults(func=run)


def function_name(text: str) -> Optional[str]:
    """The graded function ``text`` names (any accepted spelling), or None."""
    return ALIASES.get(text.lower().replace("-", "").replace("_", "").replace(" ", ""))


def run(args: argparse.Namespace) -> int:
    from grader.report.policy import EXIT_USAGE
    from grader.sandbox import detect_isolation_in_background

    detect_isolation_in_background()  # ~0.3 s of sandboxed probe children, overlapping the imports below
    paths = [t for t in args.targets if function_name(t) is None or Path(t).exists()]
    names = [t for t in args.targets if t not in paths] + list(args.functions)
    if len(paths) > 1:
        print(f"w2v-grader check: one folder at a time (got {', '.join(paths)})", file=sys.stderr)
        return EXIT_USAGE
    unknown = [n for n in names if function_name(n) is None]
    if unknown:
        print(f"w2v-grader check: unknown function {unknown[0]!r}; choose from sigmoid, naiveSoftmaxLossAndGradient, "
              "negSamplingLossAndGradient, skipgram, sgd", file=sys.stderr)
        return EXIT_USAGE
    path = Path(paths[0]) if paths else Path(".")
    rubric = load_rubric_or_report(args.rubric)
    if rubric is None:
        return EXIT_USAGE
    if not path.exists():
        print(f"w2v-grader: {path} does not exist", file=sys.stderr)
        return EXIT_USAGE
    functions = {function_name(n) for n in names}
    if functions:
        rubric = dataclasses.replace(rubric, tests=tuple(t for t in rubric.tests if t.function in functions))
    html = args.html or (path / "w2v-report.html" if path.is_dir() else Path("w2v-report.html"))
    from grader.commands._common import grade_and_write

    code = grade_and_write(path, rubric, mode="check", json_path=args.json, html_path=html, audience="student",
                           quiet=False)
    if functions:
        print(f"  Checked only {', '.join(sorted(functions))}; `w2v-grader check` checks every function.")
    return code
