"""Issue #19: the written checker on answer sheets it was not built from.

``tests/written_sheets/dev`` (12 sheets) and ``heldout`` (sheets written after the checker was tuned on
``dev``) each hold an answer sheet and a labels file: the verdict a careful grader gives every part.
The sets are graded by ``benchmarks/written_accuracy.py``; here the guarantees are asserted: no wrong
CORRECT, no failing verdict for a part that was not written, and the agreement targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.written import handouts
from grader.written.grade import grade_text
from grader.written.locate import other_assignment_spans
from grader.written.parse import split_results
from grader.written.parse.conditions import _is_range
from grader.written.verdict import PART_IDS, Verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import written_accuracy  # noqa: E402

SETS = written_accuracy.sheet_sets()


def _scores(name: str) -> list:
    return [written_accuracy.score_sheet(path, labels) for path, labels in SETS[name]]


@pytest.fixture(scope="module")
def dev_scores() -> list:
    return _scores("dev")


@pytest.fixture(scope="module")
def heldout_scores() -> list:
    return _scores("heldout")


def test_corpus_is_complete() -> None:
    """At least 12 own sheets, each with labels for real part IDs, in several numberings and formats."""
    dev, heldout = SETS["dev"], SETS["heldout"]
    assert len(dev) >= 12 and len(heldout) >= 3
    suffixes = {p.suffix for p, _ in dev + heldout}
    assert suffixes == {".md", ".tex", ".txt"}
    for _, labels in dev + heldout:
        assert set(labels) == set(PART_IDS)
    verdicts = {v for _, labels in dev for v in labels.values()}
    assert {Verdict.CORRECT, Verdict.INCORRECT, Verdict.SIGN_ERROR, Verdict.UNANSWERED} <= verdicts


def test_labels_reject_unknown_parts() -> None:
    with pytest.raises(ValueError):
        written_accuracy.complete_labels({"k": "CORRECT"})


@pytest.mark.parametrize("set_name", ["dev", "heldout"])
def test_no_wrong_correct_and_no_false_failure(set_name: str, dev_scores: list, heldout_scores: list) -> None:
    scores = dev_scores if set_name == "dev" else heldout_scores
    wrong = [(s.name, p) for s in scores for p in s.wrong_correct]
    false = [(s.name, p) for s in scores for p in s.false_incorrect]
    assert wrong == [] and false == []


@pytest.mark.parametrize("set_name", ["dev", "heldout"])
def test_agreement_target(set_name: str, dev_scores: list, heldout_scores: list) -> None:
    scores = dev_scores if set_name == "dev" else heldout_scores
    agree, total = sum(s.agree for s in scores), sum(s.total for s in scores)
    assert agree / total >= 0.90, [m for s in scores for m in s.misses]


def test_unwritten_parts_are_unanswered_never_failed(dev_scores: list) -> None:
    """Every part a label calls UNANSWERED is UNANSWERED or NEEDS_HUMAN, never an automatic failure."""
    for path, labels in SETS["dev"]:
        report = {p.part: p for p in written_accuracy.grade_file(path).parts}
        for part, want in labels.items():
            if want == Verdict.UNANSWERED:
                assert report[part].verdict in (Verdict.UNANSWERED, Verdict.NEEDS_HUMAN), (path.name, part)


# --------------------------------------------------------------------------- the pieces


def test_split_results_side_by_side_and_tuple() -> None:
    side = split_results(r"\frac{\partial J}{\partial u_o} = (\sigma(u_o^\top v_c) - 1) v_c, \qquad "
                         r"\frac{\partial J}{\partial v_c} = A")
    assert len(side) == 2 and "u _ o" in side[0] and side[1].endswith("= A")
    pair = split_results(r"\left(\frac{\partial J}{\partial u_o}, \frac{\partial J}{\partial u_w}\right) = "
                         r"\left((\hat y_o - 1)v_c,\ \hat y_w v_c\right)")
    assert len(pair) == 2 and "- 1" in pair[0] and "w" in pair[1].split("=")[0]


@pytest.mark.parametrize("latex", [
    r"\frac{\partial J}{\partial u_w} = \hat y_w v_c, w \neq o",  # a case, not a second result
    r"(\frac{\partial J}{\partial v_c}, \frac{\partial J}{\partial u_o}) = (A, B, C)",  # lengths differ
    r"\frac{\partial J}{\partial U} = [a, b, c]",
])
def test_split_results_keeps_one_result(latex: str) -> None:
    assert split_results(latex) == [latex]


@pytest.mark.parametrize("text, is_range", [
    ("k = 1 . . K", True), (r"k=1,\ldots,K", True), (r"1 \le s \le K", True), (r"s\in[1,K]", True),
    ("w = o", False), ("x < 0", False),
])
def test_index_ranges_are_not_cases(text: str, is_range: bool) -> None:
    assert _is_range(text) is is_range


def test_handout_numberings_are_data() -> None:
    assert set(handouts.SCHEMES) == {"2024", "2022-23", "2019-21"}
    for table in handouts.SCHEMES.values():
        assert set(table.values()) <= set("abcdefghij")
    assert handouts.quantity_parts("vc", "naive") == ("b.i",)
    assert handouts.quantity_parts("vw", None) == ("j.iii",)
    assert handouts.quantity_parts("x", "naive") is None
    assert handouts.FREE_TEXT_HOME["2019-21"]["h.iii"] == ("e", None)


def test_handouts_file_needs_2024(tmp_path: Path) -> None:
    bad = tmp_path / "h.toml"
    bad.write_text('[numbering."2019-21"]\nname = "x"\nshort = "x"\nletters = {}\nfree_text = {}\n', encoding="utf-8")
    with pytest.raises(ValueError):
        handouts._load(bad)


def test_other_assignments_are_not_graded() -> None:
    text = ("# Assignment 2\n\n(a) Because y is one-hot at o, the sum is -log yhat_o.\n\n(e)\n\n"
            "# Assignment 3\n\n(e) The gradient is\n$$\\frac{\\partial J}{\\partial U} = v_c(\\hat y - y)^T$$\n")
    assert other_assignment_spans(text) and other_assignment_spans("# Assignment 2\n(a) x\n") == []
    parts = {p.part: p for p in grade_text(text).parts}
    assert parts["e"].verdict == Verdict.UNANSWERED
    # the same answer under assignment 2 is graded
    inside = {p.part: p for p in grade_text(text.replace("# Assignment 3\n\n(e) The", "The")).parts}
    assert inside["e"].verdict == Verdict.CORRECT


def test_a_part_the_student_gave_up_on_is_unanswered() -> None:
    text = "(a) one-hot.\n\n(b) I ran out of time for this one.\n\n(g) $\\sigma'(x) = \\sigma(x)(1-\\sigma(x))$\n"
    parts = {p.part: p for p in grade_text(text).parts}
    assert parts["b.i"].verdict == Verdict.UNANSWERED and "ran out of time" in parts["b.i"].reason
    assert parts["g"].verdict == Verdict.CORRECT


def test_mapping_states_the_rule_used() -> None:
    by_name = {p.name: (p, labels) for p, labels in SETS["dev"] + SETS["heldout"]}
    s05 = {p.part: p for p in written_accuracy.grade_file(by_name["s05_combined_a2_a3.md"][0]).parts}
    assert "inline sub-part label" in s05["j.ii"].mapping
    h04 = {p.part: p for p in written_accuracy.grade_file(by_name["h04_prose_wrongcase_2024.md"][0]).parts}
    assert "with respect to" in h04["h.i.uo"].mapping and h04["h.i.uo"].mapping.startswith("by content")
    assert "numbering is certain" in h04["d"].mapping and h04["d"].verdict == Verdict.INCORRECT
    s08 = {p.part: p for p in written_accuracy.grade_file(by_name["s08_terse_unlabelled.md"][0]).parts}
    assert "by position" in s08["j.iii"].mapping or "by content" in s08["j.iii"].mapping


def test_letter_placement_is_not_trusted_without_a_certain_numbering() -> None:
    """Bare expressions with no left-hand side and no letter beyond (f): the numbering is a guess, so a
    wrong-looking answer is sent to a human rather than failed (it may answer another year's part)."""
    text = "(a) one-hot.\n\n(b) $U(\\hat y - y)$\n\n(d) $v_c(\\hat y - y)^T$\n\n(e) $\\sigma(x)(1-\\sigma(x))$\n"
    parts = {p.part: p for p in grade_text(text).parts}
    assert parts["b.i"].verdict == Verdict.CORRECT
    assert parts["d"].verdict == Verdict.NEEDS_HUMAN and parts["e"].verdict == Verdict.NEEDS_HUMAN


@pytest.mark.parametrize("text", [
    # a piece of the work named "with respect to $v_c$" is not the answer
    "(b) The derivative of the first term with respect to $v_c$ is $-u_o$. Altogether the gradient is\n"
    "$$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$\n",
    "(b) $$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$ where the first term with respect to $v_c$ is $-u_o$.\n",
    # a heading naming another assignment above every answer is taken as mislabelled, not as foreign
    "# Assignment 1\n\n(a) one-hot.\n\n(b) $$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$\n",
])
def test_right_answer_is_not_lost(text: str) -> None:
    parts = {p.part: p for p in grade_text(text).parts}
    assert parts["b.i"].verdict == Verdict.CORRECT, parts["b.i"].reason


def test_variable_named_in_the_text_routes_a_bare_expression() -> None:
    text = ("(h) For each negative sample $s$ the derivative with respect to $u_{w_s}$ is "
            "$(1-\\sigma(-u_{w_s}^\\top v_c))v_c$. With respect to $u_o$ it is $(1-\\sigma(u_o^\\top v_c))v_c$.\n")
    parts = {p.part: p for p in grade_text(text).parts}
    assert parts["h.i.uws"].verdict == Verdict.CORRECT
    assert parts["h.i.uo"].verdict == Verdict.SIGN_ERROR and "with respect to" in parts["h.i.uo"].mapping


@pytest.mark.parametrize("definition, correct", [(r"|\{k : w_k = w_s\}|", True), ("1", False)])
def test_symbols_defined_in_the_text_are_substituted(definition: str, correct: bool) -> None:
    text = ("Q1 (i) Let $n_s = " + definition + "$ be the number of times $w_s$ was drawn. Then\n"
            "$$\\frac{\\partial J}{\\partial u_{w_s}} = n_s\\,\\sigma(u_{w_s}^\\top v_c)\\,v_c$$\n\n(j) x\n")
    part = next(p for p in grade_text(text).parts if p.part == "i")
    assert (part.verdict == Verdict.CORRECT) is correct, part.reason
    assert "n_s as defined on line 1" in part.source
