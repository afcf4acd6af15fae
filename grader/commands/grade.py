"""w2v-grader grade PATH [--json FILE] [--html FILE] [--rubric FILE]: grade one submission.

Grades a submission folder or .zip with every rubric test (hidden ones too), prints one line per
function and the total, and writes the Gradescope results.json and the HTML report on request.
The report and the summary are the student's view unless --audience instructor.

Exit codes: 0 graded (whatever the score); 1 the submission needs fixing (a required file is
missing or unreadable: a notebook instead of word2vec.py, a syntax error, not UTF-8), graded as
far as possible and the files still written; 2 usage error (bad rubric, missing path); 3 grader
failure (the JSON file, if requested, says so).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.commands._common import grade_and_write, help_text, load_rubric_or_report

GROUP = "instructors"
EXAMPLE = "w2v-grader grade submission.zip --html report.html --json results.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grade", help="grade one submission (folder or .zip) with every rubric test",
                                   **help_text(__doc__),
                                   epilog="Example:\n  " + EXAMPLE + "\n  w2v-grader grade sub/ --audience instructor "
                                          "--html staff-report.html")
    parser.add_argument("path", type=Path, help="submission folder or .zip")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope results.json here")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML feedback report here")
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.add_argument("--audience", choices=("student", "instructor"), default="student",
                        help="who the report and the summary are for: the student sees hidden tests as pending "
                             "(default: student)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.report.policy import EXIT_USAGE
    from grader.sandbox import detect_isolation_in_background

    detect_isolation_in_background()  # ~0.3 s of sandboxed probe children, overlapping the imports below

    rubric = load_rubric_or_report(args.rubric)
    if rubric is None:
        return EXIT_USAGE
    if not args.path.exists():
        print(f"w2v-grader: {args.path} does not exist", file=sys.stderr)
        _write_internal_error(args.json, f"submission path {args.path} does not exist")
        return EXIT_USAGE
    return grade_and_write(args.path, rubric, mode="grade", json_path=args.json, html_path=args.html,
                           audience=args.audience, quiet=args.quiet)


def _write_internal_error(json_path, message: str) -> None:
    if not json_path:
        return
    from grader.gradescope.results_json import internal_error_results, write_results_json

    write_results_json(json_path, internal_error_results(message))
