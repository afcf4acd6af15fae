"""Whole answer sheets: the two real samples (hand-derived verdicts) and the handwritten fixtures.

The real samples live in ``../shared/written_samples`` (skipped with a reason when absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.written.grade import grade_file
from grader.written.verdict import PART_IDS, Verdict

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).with_name("written_fixtures")

C, S, T, R, SH, INC, U, H = (Verdict.CORRECT, Verdict.SIGN_ERROR, Verdict.TRANSPOSED, Verdict.ROW_CONVENTION,
                           Verdict.SHAPE_ERROR, Verdict.INCORRECT, Verdict.UNANSWERED, Verdict.NEEDS_HUMAN)

# Sample A: an older handout; the sheet stops after (b).
#   (a)  prose proof                                      → NEEDS_HUMAN (free text)
#   (b)  aligned derivation ending in Σ_w u_w e^{u_wᵀv_c}/Σ e^{…} − u_o, then
#        "Therefore, the derivative is $U(ŷ − y)$"         → b.i CORRECT (the announced final expression)
#        then "The derivative equals to zero when ..." and
#        "gradient descent ... pulling it towards Uy"     → b.ii, b.iii NEEDS_HUMAN (text inside (b),
#                                                            no separate sub-part)
#   nothing else                                          → UNANSWERED
SAMPLE_A = {"a": H, "b.i": C, "b.ii": H, "b.iii": H}

# Sample B: the 2022–23 numbering ((c) ∂/∂u_w, (d) ∂/∂U, (e) σ', (f) neg. sampling, (g) repeats, (h) skip-gram).
#   (a) prose                                 → a NEEDS_HUMAN
#   (b) −Uy + Uŷ = U(ŷ − y)                    → b.i CORRECT
#   (c) −v_c([u_w=u_o] − ŷ_w): w=o gives (ŷ_o − 1)v_c, w≠o gives ŷ_w v_c → d CORRECT
#   (d) ŷᵀv_c − y_o v_c(𝟏∘y)ᵀ: ŷᵀv_c is (1×|V|)·(d×1), undefined; the second term is v_c yᵀ.
#       Reading ŷᵀv_c as v_c ŷᵀ gives v_c(ŷ − y)ᵀ  → e SHAPE_ERROR (intent recoverable, said in the reason)
#   (e) σ(x)(1 − σ(x))                         → g CORRECT
#   (f) ∂/∂v_c: −(1−σ(u_oᵀv_c))u_o + Σ_k (1−σ(−u_kᵀv_c))u_k (u_k = k-th sample) → h.i.vc CORRECT
#       ∂/∂u_w: −(1−σ(u_oᵀv_c))v_c[u_0 = u_w] + Σ_k (1−σ(−u_kᵀv_c))v_c[u_k = u_w]
#       (u_0 is a typo for u_o): at w = o only the first term → h.i.uo CORRECT;
#       at w = w_s (distinct samples) only k = s       → h.i.uws CORRECT
#       no sentence on efficiency although 2022–23 (f) asked for it → h.iii UNANSWERED
#   (g) "Same as previous part" (a reference, no expression) → i NEEDS_HUMAN
#   (h)(i)-(iii) Σ_j ∂J(v_c,w_{t+j},U)/∂U, Σ_j ∂J/∂v_c, 0 → j.i, j.ii, j.iii CORRECT
#   b.ii, b.iii, c, f, h.ii: not questions in 2022–23 → UNANSWERED
SAMPLE_B = {"a": H, "b.i": C, "d": C, "e": SH, "g": C, "h.i.vc": C, "h.i.uo": C, "h.i.uws": C, "i": H,
            "j.i": C, "j.ii": C, "j.iii": C}

# The 2024 handout itself, used as an answer sheet: its (b) carries a worked answer
# (i) ending in eq. (7) U(ŷ − y); (ii), (iii) in words; every other "Answer:" is empty.
HANDOUT = {"a": H, "b.i": C, "b.ii": H, "b.iii": H}

FULL_2024 = {p: C for p in PART_IDS} | {p: H for p in ("a", "b.ii", "b.iii", "c", "h.ii", "h.iii")}

# errors_2024.tex (enumerate-numbered LaTeX): one mistake per part, see the file.
ERRORS_2024 = {
    "a": H, "b.i": S, "b.ii": H, "b.iii": H, "c": U, "d": INC, "e": R, "f": INC, "g": C, "h.i.vc": C,
    "h.i.uo": T, "h.i.uws": C, "h.ii": H, "h.iii": H, "i": INC, "j.i": C, "j.ii": S, "j.iii": C,
}

# words_and_rows.txt: (b) in words, (d) right, (e) with words as rows, (g) inline, (i) a reference.
# The prose of (b) may hold the (ii)/(iii) answers (no sub-parts marked), so those go to a human too.
WORDS_AND_ROWS = {"b.i": H, "b.ii": H, "b.iii": H, "d": C, "e": R, "g": C, "i": H}


def _verdicts(path: Path) -> dict:
    report = grade_file(path)
    assert [p.part for p in report.parts] == list(PART_IDS)
    return {p.part: p.verdict for p in report.parts}, report


def _check(path: Path, expected: dict, default: Verdict = U) -> None:
    got, report = _verdicts(path)
    want = {p: expected.get(p, default) for p in PART_IDS}
    wrong = {p: (got[p].value, want[p].value) for p in PART_IDS if got[p] != want[p]}
    assert not wrong, f"{path.name}: (got, expected) {wrong}"


def _shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside the repo)")
    return path


def test_sample_a() -> None:
    _check(_shared("written_samples/sample_A.md"), SAMPLE_A)


def test_sample_b() -> None:
    _check(_shared("written_samples/sample_B.md"), SAMPLE_B)


def test_sample_b_reasons() -> None:
    _, report = _verdicts(_shared("written_samples/sample_B.md"))
    parts = {p.part: p for p in report.parts}
    assert report.scheme == "2022-23"
    assert "intent recoverable" in parts["e"].reason and "v_c ŷᵀ" in parts["e"].reason
    assert "Same as previous part" in parts["i"].reason and "CORRECT" in parts["i"].reason
    assert "read the subscript 0 as o" in parts["h.i.uo"].reason
    assert parts["d"].mapping.startswith("by content") and "(c)" in parts["d"].mapping
    assert parts["j.iii"].source.startswith("student's (h)(iii)")


def test_sample_a_picks_the_announced_final_expression() -> None:
    _, report = _verdicts(_shared("written_samples/sample_A.md"))
    b = next(p for p in report.parts if p.part == "b.i")
    assert "announced" in b.source and "line 31" in b.source
    assert "\\hat{\\mathbf{y}}" in b.latex


def test_handout_as_answer_sheet() -> None:
    _check(_shared("assignment/handout_2024.md"), HANDOUT)


def test_full_2024_fixture() -> None:
    _check(FIXTURES / "full_2024.md", FULL_2024)
    _, report = _verdicts(FIXTURES / "full_2024.md")
    assert report.extra[0].part == "plot" and report.extra[0].verdict == H


def test_errors_tex_fixture() -> None:
    _check(FIXTURES / "errors_2024.tex", ERRORS_2024)


def test_placeholder_fixture_is_unanswered() -> None:
    _check(FIXTURES / "placeholder.md", {})


def test_words_and_rows_fixture() -> None:
    _check(FIXTURES / "words_and_rows.txt", WORDS_AND_ROWS)


# copied_questions.md: the 2024 questions copied, each followed by "Answer:"; the sub-questions of (h)
# are listed before one "Answer:" with (i)-(iii) again; all expressions are right.
COPIED = {"b.i": C, "b.ii": H, "b.iii": H, "h.i.vc": C, "h.i.uo": C, "h.i.uws": C, "h.ii": H, "h.iii": H, "i": C}


def test_copied_questions_fixture() -> None:
    _check(FIXTURES / "copied_questions.md", COPIED)
