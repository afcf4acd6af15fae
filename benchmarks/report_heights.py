"""Height of the student HTML report in headless Chromium at 1280 and 375 px, for a few samples.

    .venv/bin/python benchmarks/report_heights.py [SAMPLE...] [--out DIR]

Grades each sample (``grade``, student audience), writes its report, opens it at both widths and
prints the document height, the horizontal page overflow, whether any reproducer is cut off (its
box narrower than its content while not scrollable) and whether code wraps inside identifiers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser import Browser  # noqa: E402

from grader.pipeline import grade_submission  # noqa: E402
from grader.report import write_report  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

DEFAULT = ("bug_sign_error", "bug_transposed_grad", "bug_no_max_shift")
CUT_OFF = """Array.from(document.querySelectorAll('pre')).filter(p => {
  const s = getComputedStyle(p);
  return p.scrollWidth > p.clientWidth + 1 && !['auto', 'scroll'].includes(s.overflowX);
}).length"""
WRAPPED = """Array.from(document.querySelectorAll('pre.reproducer, pre code, pre.got, pre.expected')).filter(p =>
  ['pre-wrap', 'break-spaces', 'pre-line'].includes(getComputedStyle(p).whiteSpace) &&
  ['anywhere', 'break-word'].includes(getComputedStyle(p).overflowWrap)).length"""


def measure(paths: list[Path]) -> list[tuple[str, int, int, int, int, int]]:
    rows = []
    with Browser.launch() as browser:
        for path in paths:
            for width in (1280, 375):
                page = browser.new_page(width, 900)
                page.goto(path)
                height = int(page.evaluate("document.documentElement.scrollHeight"))
                rows.append((path.stem, width, height, page.horizontal_overflow(),
                             int(page.evaluate(CUT_OFF)), int(page.evaluate(WRAPPED))))
                page.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="*", default=list(DEFAULT), help="sample names or submission folders")
    parser.add_argument("--out", type=Path, default=Path("/tmp/w2v-heights"))
    parser.add_argument("--measure", action="store_true", help="SAMPLE... are report files: only measure them")
    args = parser.parse_args()
    if args.measure:  # a fresh process: Chromium is started before any grading thread exists
        print(f"{'sample':<28} {'width':>5} {'height':>7} {'overflow':>8} {'cut-off pre':>11} {'wrapping pre':>12}")
        for name, width, height, overflow, cut, wrapped in measure([Path(p) for p in args.samples]):
            print(f"{name:<28} {width:>5} {height:>7} {overflow:>8} {cut:>11} {wrapped:>12}")
        return 0
    rubric = load_rubric()
    paths = []
    for name in args.samples:
        source = Path(name) if Path(name).exists() else REPO / "submissions" / name
        result = grade_submission(source, rubric, mode="grade")
        path = args.out / f"{source.name}.html"
        write_report(result, path, audience="student")
        paths.append(path)
    return subprocess.run([sys.executable, __file__, "--measure", *map(str, paths)]).returncode


if __name__ == "__main__":
    raise SystemExit(main())
