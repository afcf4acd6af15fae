"""``w2v-grader check [PATH]``: the student's self-check (visible tests only).

Prints one line per function with its points and the first failing case
(expected vs got), writes ``w2v-report.html`` next to the files, and exits
1 if anything failed (0 when every visible test passed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.commands._common import load_rubric_or_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="self-check your assignment folder (visible tests only)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=Path("."), help="assignment folder (default: .)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="report path (default: PATH/w2v-report.html)")
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.sandbox import detect_isolation_in_background

    detect_isolation_in_background()  # ~0.3 s of sandboxed probe children, overlapping the imports below
    from grader.pipeline import grade_submission
    from grader.report.terminal import print_summary
    from grader.results import Status

    rubric = load_rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    if not args.path.exists():
        print(f"w2v-grader: {args.path} does not exist", file=sys.stderr)
        return 2
    result = grade_submission(args.path, rubric, mode="check")
    html = args.html or (args.path / "w2v-report.html" if args.path.is_dir() else Path("w2v-report.html"))
    try:
        from grader.report import write_report

        write_report(result, html, audience="student")
    except OSError as exc:
        print(f"w2v-grader: could not write the report: {exc}", file=sys.stderr)
        html = None
    print_summary(result, html_path=html, first_failure=True)
    failed = any(t.status not in (Status.PASSED, Status.SKIPPED) for t in result.tests) or \
        any(e.kind != "suspicious" for e in result.events)
    return 1 if failed or result.internal_error else 0
