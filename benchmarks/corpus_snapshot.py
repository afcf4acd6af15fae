"""Grade every bundled sample submission and write normalised outputs, to prove a change did not alter grading.

    python benchmarks/corpus_snapshot.py OUT_DIR [--only NAME ...]
    diff -r BEFORE_DIR AFTER_DIR

For each sample of ``submissions/`` (materialised as ``python -m grader.corpus`` does) it writes
``OUT_DIR/<sample>/``:

* ``result.json``: the whole :class:`~grader.results.GradeResult` (``to_jsonable``), normalised;
* ``results.json``: the Gradescope document built from the normalised result;
* ``summary.md``: the Markdown report summary; ``terminal.txt``: what ``grade`` prints;
* ``report-student.html`` / ``report-instructor.html``: the HTML reports.

and ``OUT_DIR/scores.tsv`` (sample, test id, status, score, max score; then each total), the
table to compare first.

What varies from run to run is stripped (replaced by a fixed placeholder) before anything is
written or rendered, so that everything else can be compared byte for byte:

* ``execution_time``: wall seconds of the whole grade;
* speed measurements: ``student_seconds``, ``reference_seconds`` and ``ratio`` of each size, and
  the verdict's ``ratio``, ``growth_student``, ``growth_reference`` and ``loops_over_vocabulary``
  (the V → 4V slope compared with the reference's): kernel CPU times and what is computed from
  them.  What is not a timing is kept: a NaN ratio (not measured, wrong output), and the fixed
  ratio bound and loop verdict of a timing the grader stopped early;
* what those timings put in text, in a speed test's ``summary`` and ``speed.explanation``: "takes
  1.2× the reference's CPU time", "multiplies your time by 4.1 (reference: 4.0)", and the sentence
  that follows from the loop verdict ("That is vectorised well enough." / "Look for Python
  loops..." / "Each extra vocabulary word costs you far more...");
* temporary folder names (``/tmp/w2v-run-abc123/``...) in event details, and the corpus folder.

Kept (they must not change): every status, score, speed verdict label and loop verdict, the
number of timed samples, every message, hint, case, event and note.  Three samples can differ
between two runs of the same code: ``hostile_output_flood``'s sigmoid speed verdict (fast/slow:
its ratio sits near the 3.0× threshold); ``hostile_monkeypatch``'s received values and the
messages quoting them (it returns unseeded ``np.random`` garbage; its statuses and scores do not
change); and ``hostile_memo_speed``'s naive-softmax timing, stopped early as too slow (verdict and
score fixed), which lists the one block that finished before the stop when its loop ran just
under the 15× stop (0 or 1 measurement).

``W2V_SEQUENTIAL_SPEED=1`` (speed timed after correctness, as in batch mode) and a fresh
expected-value cache are set unless the environment already sets them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PLACEHOLDER = 1.0
"""What a stripped timing becomes (a number, so the renderers still run)."""
_TAKES = re.compile(r"takes [0-9.]+× the reference")
_GROWS = re.compile(r"multiplies your time by [0-9.]+ \(reference: [0-9.]+\)")
_LOOP_SENTENCE = re.compile(r" (That is vectorised well enough\.|Look for Python loops or repeated work inside the "
                            r"function\.|Each extra vocabulary word costs you far more than it costs the reference: .*? "
                            r"\(e\.g\. outsideVectors @ v\)\.)")
_TMP = re.compile(r"/(?:var/)?tmp/(w2v-[A-Za-z]+-)[A-Za-z0-9_]+")


def _text(value: str) -> str:
    value = _TAKES.sub("takes #× the reference", value)
    value = _GROWS.sub("multiplies your time by # (reference: #)", value)
    return _LOOP_SENTENCE.sub(" <sentence of the loop verdict>", value) if "multiplies your time by #" in value else value


def _paths(value, corpus: str):
    """Temporary folder names and the corpus folder replaced, recursively (JSON-able data)."""
    if isinstance(value, str):
        return _TMP.sub(lambda m: f"/tmp/{m.group(1)}XXXX", value.replace(corpus, "<corpus>"))
    if isinstance(value, list):
        return [_paths(v, corpus) for v in value]
    if isinstance(value, dict):
        return {k: _paths(v, corpus) for k, v in value.items()}
    return value


def normalise(result):
    """``result`` with every run-to-run varying value replaced (in place; returned)."""
    result.execution_time = 0.0
    for test in result.tests:
        verdict = test.speed
        if verdict is None:
            continue
        for m in verdict.measurements:
            m.student_seconds = m.reference_seconds = m.ratio = PLACEHOLDER
        if isinstance(verdict.ratio, float) and math.isfinite(verdict.ratio):
            verdict.ratio = PLACEHOLDER
        for name in ("growth_student", "growth_reference", "extra_ns_per_unit", "loop_ns_per_unit"):
            if getattr(verdict, name, None) is not None:
                setattr(verdict, name, PLACEHOLDER)
        verdict.explanation = _text(verdict.explanation)
        test.summary = _text(test.summary)
    return result


def snapshot(name: str, folder: Path, out: Path, corpus: str, rubric) -> list[str]:
    """Grade one sample and write its files; the rows of scores.tsv."""
    from grader.gradescope.results_json import to_results_json
    from grader.pipeline import grade_submission
    from grader.report import render_markdown_summary, render_report
    from grader.report.terminal import print_summary
    from grader.results import GradeResult, to_jsonable

    graded = grade_submission(folder, rubric)
    data = _paths(to_jsonable(normalise(graded)), corpus)
    result = GradeResult.from_dict(data)  # what is rendered is exactly what result.json holds
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "result.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    gradescope = to_results_json(result, rubric)
    (target / "results.json").write_text(json.dumps(gradescope, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    (target / "summary.md").write_text(render_markdown_summary(result), encoding="utf-8")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        print_summary(result)
    (target / "terminal.txt").write_text(printed.getvalue(), encoding="utf-8")
    for audience in ("student", "instructor"):
        (target / f"report-{audience}.html").write_text(render_report(result, audience=audience), encoding="utf-8")
    rows = [f"{name}\t{t.test_id}\t{t.status.value}\t{t.score!r}\t{t.max_score!r}" for t in result.tests]
    rows.append(f"{name}\tTOTAL\t{'internal_error' if result.internal_error else ''}\t{result.score!r}\t"
                f"{result.max_score!r}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the snapshot to (created)")
    parser.add_argument("--only", nargs="*", default=None, help="sample names (default: every sample)")
    args = parser.parse_args(argv)
    os.environ.setdefault("W2V_SEQUENTIAL_SPEED", "1")
    cache = tempfile.TemporaryDirectory(prefix="w2v-snapshot-cache-")
    os.environ.setdefault("W2V_CACHE_DIR", cache.name)

    from grader.corpus import load_corpus, materialize
    from grader.rubric import load_rubric

    rubric = load_rubric()
    samples = [e for e in load_corpus() if args.only is None or e.name in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    rows = ["sample\ttest\tstatus\tscore\tmax_score"]
    with tempfile.TemporaryDirectory(prefix="w2v-snapshot-corpus-") as tmp:
        for index, expectation in enumerate(samples, start=1):
            folder = materialize(expectation, Path(tmp))
            rows += snapshot(expectation.name, folder, args.out, tmp, rubric)
            print(f"[{index}/{len(samples)}] {expectation.name}: {rows[-1].split(chr(9))[3]}", flush=True)
    (args.out / "scores.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
