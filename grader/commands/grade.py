"""``w2v-grader grade PATH [--json FILE] [--html FILE] [--rubric FILE]``: grade one submission.

Exit 0 whenever a verdict was produced (however low the score); 2 for a
usage error (bad rubric, missing path); 3 for an internal failure — and
then the JSON file, if requested, still says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.commands._common import load_rubric_or_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grade", help="grade one submission (folder or .zip) with every rubric test",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="submission folder or .zip")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope results.json here")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML feedback report here")
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.add_argument("--audience", choices=("student", "instructor"), default="student",
                        help="what the HTML report shows for hidden tests (default: student)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.sandbox import detect_isolation_in_background

    detect_isolation_in_background()  # ~0.3 s of sandboxed probe children, overlapping the imports below

    rubric = load_rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    if not args.path.exists():
        print(f"w2v-grader: {args.path} does not exist", file=sys.stderr)
        _write_internal_error(args.json, f"submission path {args.path} does not exist")
        return 2
    return grade_and_write(args.path, rubric, mode="grade", json_path=args.json, html_path=args.html,
                           audience=args.audience, quiet=args.quiet)


def grade_and_write(path: Path, rubric, *, mode: str, json_path, html_path, audience: str, quiet: bool) -> int:
    """Grade, print the terminal summary, write the requested files. Returns the exit code."""
    from grader.pipeline import grade_submission
    from grader.report.terminal import print_summary

    try:
        result = grade_submission(path, rubric, mode=mode)
    except Exception as exc:  # noqa: BLE001 - grade_submission should never raise; belt and braces
        _write_internal_error(json_path, f"internal error: {exc!r}")
        print(f"w2v-grader: internal error: {exc!r}", file=sys.stderr)
        return 3
    if json_path:
        from grader.gradescope.results_json import to_results_json, write_results_json

        write_results_json(json_path, to_results_json(result, rubric))
    if html_path:
        from grader.report import write_report

        write_report(result, html_path, audience=audience)
    if not quiet:
        print_summary(result, html_path=html_path)
    return 3 if result.internal_error else 0


def _write_internal_error(json_path, message: str) -> None:
    if not json_path:
        return
    try:
        from grader.gradescope.results_json import internal_error_results, write_results_json

        write_results_json(json_path, internal_error_results(message))
    except Exception:  # noqa: BLE001 - last resort: a minimal valid file
        import json

        Path(json_path).write_text(json.dumps({"score": 0, "output": message, "tests": []}), encoding="utf-8")
