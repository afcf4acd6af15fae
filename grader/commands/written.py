"""``w2v-grader written ANSWERS``: check the written derivations (handout part 1, (a)–(j)).

ANSWERS is one answer sheet (.md, .tex, .txt) or a folder of them (batch mode:
one CSV row per student per part).  Expression-valued parts are verified
numerically against the reference gradients; free-text parts and anything
that cannot be read are routed to a human (NEEDS_HUMAN).
"""

from __future__ import annotations

import sys
from pathlib import Path

from grader.commands._common import help_text

GROUP = "instructors"
EXAMPLE = "w2v-grader written answers.md --html written.html"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "written",
        help="check the written answers (derivations) of one student or a folder of students",
        **help_text(__doc__),
    )
    p.add_argument("answers", metavar="ANSWERS", type=Path, help="a .md/.tex/.txt answer sheet, or a folder of them")
    p.add_argument("--json", metavar="FILE", type=Path, help="write the JSON report here")
    p.add_argument("--html", metavar="FILE", type=Path, help="write the HTML report here")
    p.add_argument("--csv", metavar="FILE", type=Path,
                   help="write one CSV row per student per part (default in batch mode: standard output)")
    p.add_argument("--handout", default="2024", choices=["2024"], help="handout version of the part IDs")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args) -> int:
    from grader.written import batch, report
    from grader.written.grade import grade_file

    path: Path = args.answers
    if not path.exists():
        print(f"w2v-grader written: {path} does not exist", file=sys.stderr)
        return 2
    is_batch = path.is_dir()
    if is_batch:
        reports = batch.grade_folder(path, args.handout)
        if not reports:
            print(f"w2v-grader written: no .md/.tex/.txt answer sheets in {path}", file=sys.stderr)
            return 2
    else:
        reports = [grade_file(path, args.handout)]
    if args.json:
        report.write_json(reports, args.json, batch=is_batch)
    if args.html:
        report.write_html(reports, args.html, args.handout)
    if args.csv:
        args.csv.write_text(report.to_csv(reports), encoding="utf-8")
    if is_batch and not args.csv and not args.quiet:
        sys.stdout.write(report.to_csv(reports))
    elif not args.quiet:
        for r in reports:
            print(report.terminal_summary(r))
    return 0
