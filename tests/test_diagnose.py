"""The likely-cause diagnosis (grader/diagnose): catalogue, mutants, matching, and where it shows.

The samples are real student-style submissions graded in the real sandbox (with a rubric trimmed to the
value tests, which are all the diagnosis reads); each catalogue entry is exercised by a sample written
independently of its mutant.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from grader.checks import sgd_checks
from grader.checks.cases import CASE_BUILDERS, to_worker_call
from grader.checks.sgd_checks import PROGRESS_LINE
from grader.corpus import load_corpus, materialize
from grader.diagnose import diagnosable
from grader.diagnose.catalogue import CATALOGUE, PREFIX, for_function
from grader.diagnose.run import run_mutant, same_output
from grader.pipeline import grade_submission
from grader.results import FUNCTIONS, CauseEvidence, Diagnosis, GradeResult, Status, to_jsonable
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[1]
CORPUS = {e.name: e for e in load_corpus()}


def _benchmark():
    spec = importlib.util.spec_from_file_location("diagnosis_accuracy", ROOT / "benchmarks" / "diagnosis_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()
EXPECTED = {name: BENCH.expected_causes(e.folder, name) for name, e in CORPUS.items()}
DIAGNOSED_SAMPLES = sorted(name for name, causes in EXPECTED.items() if causes)
CORRECT_SAMPLES = sorted(name for name, e in CORPUS.items() if e.category == "correct")


def value_rubric():
    """The default rubric with only the tests the diagnosis compares (fast: no speed, no gradient checks)."""
    rubric = load_rubric()
    return dataclasses.replace(rubric, tests=tuple(t for t in rubric.tests if diagnosable(t.id)))


def grade(name: str, tmp: Path) -> GradeResult:
    return grade_submission(materialize(CORPUS[name], tmp), value_rubric())


def named(result: GradeResult) -> dict[str, str]:
    return BENCH.diagnosed(result)


# --- the catalogue ---------------------------------------------------------------------------------

def test_catalogue_has_forty_entries_over_every_function_with_unique_ids():
    ids = [m.id for m in CATALOGUE]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    for function in FUNCTIONS:
        entries = for_function(function)
        assert len(entries) >= 5, function
        assert all(m.id.startswith(PREFIX[function] + ".") for m in entries)


def test_every_flag_exists_in_the_mutants_and_explanations_are_words_not_code():
    source = (ROOT / "grader" / "diagnose" / "mutants.py").read_text(encoding="utf-8")
    for mistake in CATALOGUE:
        for flag in mistake.flags:
            assert f'"{flag}"' in source, (mistake.id, flag)
        text = mistake.explanation
        assert len(text) > 40 and text[0].isupper(), mistake.id
        assert not re.search(r"\bdef |\breturn |lambda|\bfor \w+ in\b|==|\+=\s*\w+\s*\*", text), mistake.id


def test_every_catalogue_entry_is_exercised_by_a_bundled_sample():
    exercised = {part for causes in EXPECTED.values() for cause in causes.values() for part in cause.split("+")}
    assert {m.id for m in CATALOGUE} <= exercised


def test_samples_also_hold_mistakes_outside_the_catalogue_and_combinations():
    causes = [c for per in EXPECTED.values() for c in per.values()]
    assert causes.count("none") >= 4
    assert sum("+" in c for c in causes) >= 3


# --- the mutants' baseline is the reference ----------------------------------------------------------

def test_the_mutants_without_a_mistake_compute_the_reference_on_every_graded_case():
    from grader.worker import support
    from reference import load_reference

    ref = load_reference().word2vec
    for test_id, build in CASE_BUILDERS.items():
        if not diagnosable(test_id):
            continue
        for case in build():
            arrays: dict[str, np.ndarray] = {}
            call = to_worker_call(case, arrays)
            mine = run_mutant(call, arrays, frozenset())
            args = []
            for spec in call["args"]:
                if "array" in spec:
                    args.append(np.array(arrays[spec["array"]]))
                elif "scripted_dataset" in spec:
                    args.append(support.ScriptedDataset(spec["scripted_dataset"]))
                elif "fn" in spec:
                    args.append(support.pseudo_loss)
                else:
                    args.append(spec["value"])
            with np.errstate(all="ignore"):
                theirs = getattr(ref, case.function)(*args)
            theirs = theirs if isinstance(theirs, tuple) else (theirs,)
            assert not mine.raised, case.case_id
            for name, value in zip(mine.outputs, theirs):
                assert same_output(mine.outputs[name], np.asarray(value, dtype=float), 1e-9, 1e-12), \
                    (case.case_id, name)


def test_the_sgd_mutant_without_a_mistake_records_what_the_reference_sgd_records():
    from grader.worker import sgd_probe
    from reference import load_reference

    ref = load_reference()
    rubric = load_rubric()
    for spec in rubric.tests:
        if not spec.id.startswith("sgd.correctness."):
            continue
        arrays: dict[str, np.ndarray] = {}
        for call in sgd_checks.plan(spec, arrays).calls:
            mine = run_mutant(call, arrays, frozenset())
            with tempfile.TemporaryDirectory() as tmp:
                previous = os.getcwd()
                try:
                    meta, recorded = sgd_probe.run_variant(ref.sgd, call, arrays, Path(tmp), {})
                finally:
                    os.chdir(previous)
            for name, value in mine.outputs.items():
                if name == "printed":
                    theirs = "\n".join(line for line in ref_printed(meta).splitlines() if PROGRESS_LINE.match(line))
                elif name in ("calls", "post_calls"):
                    theirs = np.asarray(float(meta[name]))
                else:
                    theirs = recorded[name]
                assert same_output(theirs, value, 1e-9, 1e-12), (call["id"], name)


def ref_printed(meta: dict) -> str:
    return str(meta.get("printed", ""))


def test_a_mistake_changes_what_the_mutant_computes():
    case = CASE_BUILDERS["naiveSoftmaxLossAndGradient.correctness.random"]()[0]
    arrays: dict[str, np.ndarray] = {}
    call = to_worker_call(case, arrays)
    right = run_mutant(call, arrays, frozenset())
    for mistake in for_function("naiveSoftmaxLossAndGradient"):
        wrong = run_mutant(call, arrays, mistake.flags)
        differs = bool(wrong.raised) or wrong.mutated != right.mutated or any(
            not same_output(wrong.outputs[n], right.outputs[n], 1e-6, 1e-9) for n in right.outputs)
        if mistake.id != "naive.no_max_shift":  # only overflows on the stability cases
            assert differs, mistake.id


# --- output comparison -------------------------------------------------------------------------------

def test_same_output_compares_shapes_nonfinite_positions_and_tolerance():
    assert same_output(np.array([1.0, np.inf]), np.array([1.0 + 1e-9, np.nan]), 1e-5, 1e-7)
    assert not same_output(np.array([1.0, 2.0]), np.array([1.0, np.nan]), 1e-5, 1e-7)
    assert not same_output(np.ones((2, 3)), np.ones((3, 2)), 1e-5, 1e-7)
    assert same_output(np.array([2.5]), np.array(2.5), 1e-5, 1e-7)  # a size-1 loss matches a scalar
    assert not same_output(np.array(2.5), np.array(2.6), 1e-5, 1e-7)
    assert not same_output(None, np.array(1.0), 1e-5, 1e-7)
    assert same_output("iter 10: 1.0", "iter 10: 1.0", 0, 0) and not same_output("a", "b", 0, 0)


# --- real submissions in the real sandbox ---------------------------------------------------------------

@pytest.mark.parametrize("name", DIAGNOSED_SAMPLES)
def test_each_bug_sample_gets_its_expected_cause(name, tmp_path):
    result = grade(name, tmp_path)
    got = named(result)
    for function, want in EXPECTED[name].items():
        if want == "none":
            assert got.get(function) in (None, "none"), (function, got.get(function))
        else:
            assert got.get(function) == want, (function, got.get(function))
    for test in result.tests:  # a diagnosis sits only on failing tests, and never changes a verdict
        if test.diagnosis is not None:
            assert test.status != Status.PASSED


@pytest.mark.parametrize("name", CORRECT_SAMPLES)
def test_correct_code_written_differently_never_gets_a_cause(name, tmp_path):
    result = grade(name, tmp_path)
    assert all(t.status == Status.PASSED for t in result.tests), name
    assert named(result) == {}


def test_the_same_submission_gets_the_same_diagnosis_twice(tmp_path):
    first = grade("bug_unknown_stable_abs", tmp_path / "a")
    second = grade("bug_unknown_stable_abs", tmp_path / "b")
    assert [to_jsonable(t.diagnosis) for t in first.tests] == [to_jsonable(t.diagnosis) for t in second.tests]
    assert any(t.diagnosis is not None for t in first.tests)


def test_the_diagnosis_round_trips_through_the_results_json(tmp_path):
    result = grade("bug_dup_overwrite", tmp_path)
    again = GradeResult.from_dict(to_jsonable(result))
    d = next(t.diagnosis for t in again.tests if t.diagnosis is not None)
    assert isinstance(d, Diagnosis) and isinstance(d.causes[0], CauseEvidence)
    assert d.cause_id == "neg.repeats_overwritten" and d.causes[0].cases > d.causes[0].failing_cases > 0


# --- where it shows ------------------------------------------------------------------------------------

def test_the_report_shows_a_likely_cause_box_and_escapes_its_text(tmp_path):
    from grader.report import render_report

    result = grade("bug_sign_error", tmp_path)
    html = render_report(result)
    assert 'data-diagnosis="match"' in html and "naive.grad_center_sign" in html
    for test in result.tests:
        if test.diagnosis is not None:
            test.diagnosis.summary = "<script>alert(1)</script>"
            test.diagnosis.causes[0].explanation = "a < b & <b>c</b>"
    html = render_report(result)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>c</b>" not in html and "a &lt; b &amp; &lt;b&gt;c&lt;/b&gt;" in html


def test_a_hidden_failing_test_shows_no_cause_to_students(tmp_path):
    from grader.report import render_report

    result = grade("bug_sign_error", tmp_path)
    for test in result.tests:
        test.visibility = "hidden"
    assert "data-diagnosis" not in render_report(result, audience="student")
    assert 'data-diagnosis="match"' in render_report(result, audience="instructor")


def test_terminal_and_gradescope_outputs_carry_the_explanation(tmp_path, capsys):
    from grader.gradescope.results_json import to_results_json
    from grader.report.terminal import print_summary

    result = grade("bug_transposed_grad", tmp_path)
    print_summary(result)
    assert "naive.transposed" in capsys.readouterr().out
    data = to_results_json(result, value_rubric())
    outputs = [t["output"] for t in data["tests"] if "naive" in t["name"].lower() or "softmax" in t["name"].lower()]
    assert any("Likely cause" in o and "naive.transposed" in o for o in outputs)
    extra = [t["extra_data"]["diagnosis"] for t in data["tests"] if "diagnosis" in t.get("extra_data", {})]
    assert extra and all(e["cause_id"] == "naive.transposed" and e["causes"][0]["cases"] > 0 for e in extra)


def test_dashboard_counts_each_student_once_per_cause_and_add_up(tmp_path):
    from grader.batch.outputs import _causes_cell
    from grader.report import DashboardEntry, render_dashboard
    from grader.report.dashboard import known_causes

    a = grade("bug_dup_overwrite", tmp_path / "a")
    b = grade("bug_mix_repeats", tmp_path / "b")
    c = grade("correct_einsum", tmp_path / "c")
    entries = [DashboardEntry(a, "a/report.html", "alice"), DashboardEntry(a, "a2/report.html", "ann"),
               DashboardEntry(b, "b/report.html", "bob"), DashboardEntry(c, "c/report.html", "carol")]
    causes = {k.cause_id: k for k in known_causes(entries)}
    assert causes["neg.repeats_overwritten"].count == 2
    assert causes["neg.repeats_overwritten"].labels == ["alice", "ann"]
    assert causes["neg.repeats_deduplicated"].labels == ["bob"]
    per_student = {label: len(named(r)) for r, label in ((a, "alice"), (a, "ann"), (b, "bob"), (c, "carol"))}
    assert sum(k.count for k in causes.values()) == sum(per_student.values())
    assert all("carol" not in k.labels for k in causes.values())
    html = render_dashboard(entries, title="class")
    assert 'data-cause="neg.repeats_overwritten"' in html
    assert _causes_cell(to_jsonable(a)) == "neg.repeats_overwritten" and _causes_cell(to_jsonable(c)) == ""
