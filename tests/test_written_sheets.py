"""Answer sheets written to stress the checker the way unseen real sheets would (hand-derived verdicts).

Each fixture in ``tests/written_fixtures`` imitates a real student's style; the expected verdict of
every handout part is derived by hand below, with the reasoning, from the sheet's text and the
handout's conventions (U is d×|V| with words as columns; gradients follow the shape convention).
Parts not listed are UNANSWERED (nothing written, or not a question in the sheet's numbering).

``test_scoreboard`` runs every sheet of the test set (these, the older fixtures and the two real
samples in ``../shared``) and prints the share of answered expression parts that got an automatic
verdict and the number of verdicts that differ from the hand-derived ones (which must be 0).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_written_samples import (
    COPIED,
    ERRORS_2024,
    FULL_2024,
    HANDOUT,
    SAMPLE_A,
    SAMPLE_B,
    SHARED,
    WORDS_AND_ROWS,
)

from grader.written.grade import NO_MARKERS, grade_file, grade_text
from grader.written.verdict import AUTOMATIC, EXPRESSION_PARTS, PART_IDS, Verdict

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("written_fixtures")

C, S, T, R, SH, INC, U, H = (Verdict.CORRECT, Verdict.SIGN_ERROR, Verdict.TRANSPOSED, Verdict.ROW_CONVENTION,
                           Verdict.SHAPE_ERROR, Verdict.INCORRECT, Verdict.UNANSWERED, Verdict.NEEDS_HUMAN)
FREE_TEXT_2024 = {"a": H, "b.ii": H, "b.iii": H, "c": H, "h.ii": H, "h.iii": H}

# sections_align.tex — LaTeX with \section*/\subsection*/\paragraph, align/align*/equation* environments,
# \boxed, \tag, \nonumber and the student's own macros (\vc = \bm{v}_c, \yh = \hat{\bm{y}}, \R = \mathbb{R}).
# 2024 numbering, every expression right:
#   (b)(i)  align chain ending \boxed{U(ŷ − y)}                                → b.i CORRECT
#   (d)     align chain ending (ŷ_w − y_w)v_c \tag{d}; then inline "for w = o … (ŷ_o − 1)v_c, for w ≠ o … ŷ_w v_c",
#           all three agree with the reference                                 → d CORRECT
#   (e)     bmatrix of ∂J/∂u_k = v_c(ŷ − y)ᵀ ∈ ℝ^{d×|V|} (the annotation is not part of the answer) → e CORRECT
#   (f)     cases α (x < 0) / 1 (x > 0)                                        → f CORRECT
#   (g)     chain e^{−x}/(1+e^{−x})² = … = σ(x)(1 − σ(x))                      → g CORRECT
#   (h)(i)  −(1−σ(u_oᵀv_c))u_o + Σ_s(1−σ(−u_{w_s}ᵀv_c))u_{w_s}; −(1−σ(u_oᵀv_c))v_c; (1−σ(−u_{w_s}ᵀv_c))v_c
#           (1 − σ(−z) = σ(z))                                                 → h.i.* CORRECT
#   (i)     Σ_{k=1, w_k=w_s}^K (1 − σ(−u_{w_s}ᵀv_c))v_c: counts the repeats    → i CORRECT
#   (j)     window sums of ∂J(v_c, w_{t+j}, U)/∂U and /∂v_c; 0 for w ≠ c       → j.* CORRECT
#   (a), (b)(ii), (b)(iii), (c), (h)(ii), (h)(iii) in words                    → NEEDS_HUMAN
SECTIONS_ALIGN = {p: C for p in EXPRESSION_PARTS} | FREE_TEXT_2024

# plain_ascii.txt — a plain-text sheet, math without any $ delimiters: "dJ/dv_c = -u_o + sum_w yhat_w u_w"
# with a continuation line "= U(yhat - y)", "f'(x) = 1 if x > 0, alpha if x < 0", "sigma'(x) = …",
# "sum_{k=1}^K [w_k = w_s] …", "dJ_sg/dU = sum_{-m <= j <= m, j != 0} dJ(v_c, w_{t+j}, U)/dU".
# Markers "1(b)", "(i)", "1(h)". The same (right) answers as above, in ASCII:
#   b.i U(ŷ − y); d (ŷ_w − y_w)v_c; e v_c(ŷ − y)ᵀ; f {1 if x > 0, α if x < 0}; g σ(x)(1 − σ(x));
#   h.i.* as above; i Σ_k [w_k = w_s](1 − σ(−u_{w_s}ᵀv_c))v_c; j window sums and 0 → all CORRECT
#   (a), (b)(ii), (b)(iii), (c), (h)(ii), (h)(iii) in words → NEEDS_HUMAN; no plot section.
PLAIN_ASCII = {p: C for p in EXPRESSION_PARTS} | FREE_TEXT_2024

# numbered_2021.md — the 2019–21 handout numbering: (a) cross-entropy, (b) ∂/∂v_c, (c) ∂/∂u_w, (d) σ′,
# (e) negative sampling (with the efficiency sentence), (f) skip-gram; "**(b)** (5 points)" markers.
#   (b) Uᵀ(ŷ − y), the student says U holds the outside vectors as rows    → b.i ROW_CONVENTION
#   (c) "(w = o)" ∂J/∂u_o = (ŷ_o − 1)v_c; "(w ≠ o)" ∂J/∂u_w = ŷ_w v_c      → d CORRECT (both cases)
#   (d) e^{−x}/(1+e^{−x})² = σ(x)(1 − σ(x))                                → g CORRECT
#   (e) −(1−σ(u_oᵀv_c))u_o + Σ_k (1−σ(−u_kᵀv_c))u_k (u_k = k-th sample) → h.i.vc CORRECT
#       −(1−σ(u_oᵀv_c))v_c                                                 → h.i.uo CORRECT
#       (1−σ(−u_kᵀv_c))v_c, "k = 1, …, K" is a range, not a case         → h.i.uws CORRECT
#       "much cheaper … K+1 dot products"                                  → h.iii NEEDS_HUMAN
#   (f)(i)–(iii) window sums (sum_{−m≤j≤m, j≠0}), 0 for w ≠ c             → j.* CORRECT
#   b.ii, b.iii, c, e (∂/∂U), f (Leaky ReLU), h.ii, i (repeats) were not asked in 2019–21 → UNANSWERED
NUMBERED_2021 = {"a": H, "b.i": R, "d": C, "g": C, "h.i.vc": C, "h.i.uo": C, "h.i.uws": C, "h.iii": H,
                 "j.i": C, "j.ii": C, "j.iii": C}

# unusual_notation.md — right answers in unusual but equivalent notation, "#### 1(b)(i)" headings:
#   b.i  ∇_{v_c}J = −u_o + E_{w∼ŷ}[u_w] = 𝐔\boldsymbol{\hat y} − 𝐔y (chain end: Uŷ − Uy)   → CORRECT
#   d    (ŷ_w − 𝟙{w = o})v_c (indicator in braces)                        → CORRECT
#   e    v_c ŷ^𝖳 − v_c y^𝖳 = v_c(ŷ − y)^𝖳 (\mathsf T)                      → CORRECT
#   f    𝟙[x > 0] + α𝟙[x < 0]                                              → CORRECT
#   g    d/dx σ(x) = σ(x)σ(−x)                                             → CORRECT
#   h.i.vc −σ(−u_o·v_c)u_o + Σ_{k=1}^K σ(u_{w_k}ᵀv_c)u_{w_k} (dot product, 1−σ(z) = σ(−z)) → CORRECT
#   h.i.uo (σ(u_oᵀv_c) − 1)v_c; h.i.uws v_c σ(u_{w_s}ᵀv_c) (scalar on the right) → CORRECT
#   i    Σ_{k=1}^K 𝟙[w_k = w_s](1 − σ(−u_{w_k}ᵀv_c))v_c                    → CORRECT
#   j.i  Σ_{j=−m, j≠0}^m …; j.ii Σ_{\substack{j=−m\\ j≠0}}^m …; j.iii \vec{0} (w ≠ c) → CORRECT
UNUSUAL = {p: C for p in EXPRESSION_PARTS} | FREE_TEXT_2024

# typical_errors.md — the usual mistakes, "## Q1 (b)" / "**Answer.**" / "**(i)**" layout:
#   b.i   U(y − ŷ)                                   → SIGN_ERROR
#   d     ŷ_w v_c for every w (the y_w term forgotten: wrong for w = o) → INCORRECT
#   e     (ŷ − y)v_cᵀ (|V|×d: outside vectors as rows)  → ROW_CONVENTION
#   f     1 for x > 0, 0 for x < 0 (the ReLU, not the Leaky ReLU) → INCORRECT
#   g     σ(x)(1 + σ(x))                             → INCORRECT
#   h.i.vc Σ_s (1 − σ(u_{w_s}ᵀv_c))u_{w_s} (the minus inside σ dropped) → INCORRECT
#   h.i.uo (1 − σ(u_oᵀv_c))v_c                        → SIGN_ERROR
#   h.i.uws (1 − σ(−u_{w_s}ᵀv_c))v_cᵀ (a row)          → TRANSPOSED
#   h.ii  an expression given as the reused quantity → NEEDS_HUMAN (free text); h.iii "Answer here." → UNANSWERED
#   i     (1 − σ(−u_{w_s}ᵀv_c))v_c: repeats not counted → INCORRECT
#   j.i   Σ_{−m≤j≤m} without j ≠ 0: the j = 0 term is not defined by the handout → NEEDS_HUMAN
#   j.ii  Σ_j ∂J/∂U for ∂/∂v_c (d×|V| instead of d)    → SHAPE_ERROR
#   j.iii Σ_j ∂J/∂v_c instead of 0                     → INCORRECT
TYPICAL_ERRORS = {"a": H, "b.i": S, "b.ii": H, "b.iii": H, "c": H, "d": INC, "e": R, "f": INC, "g": INC,
                  "h.i.vc": INC, "h.i.uo": S, "h.i.uws": T, "h.ii": H, "h.iii": U, "i": INC, "j.i": H, "j.ii": SH,
                  "j.iii": INC}

# numbered_2023_errors.md — the 2022–23 numbering ((c) ∂/∂u_w, (d) ∂/∂U, (e) σ′, (f) negative sampling with
# the efficiency sentence, (g) repeats, (h) skip-gram), each question copied in italics, then "Answer:",
# display math in \[ \]. Mistakes:
#   (b) −u_oᵀ + Σ ŷ_w u_wᵀ = ŷᵀUᵀ − yᵀUᵀ (a row)      → b.i TRANSPOSED
#   (c) cases ŷ_o v_c (w = o) / ŷ_w v_c (w ≠ o): the −1 of the w = o case missing → d INCORRECT
#   (d) v_cᵀ(ŷ − y): (1×d)(|V|×1) is undefined        → e SHAPE_ERROR
#   (e) e^{−x}/(1+e^{−x})² (right, not in terms of σ)  → g CORRECT
#   (f) (1 − σ(u_oᵀv_c))u_o + Σ_k σ(u_kᵀv_c)u_k: sign of the first term → h.i.vc INCORRECT
#       (σ(u_oᵀv_c) − 1)v_c                            → h.i.uo CORRECT
#       −σ(u_kᵀv_c)v_c                                 → h.i.uws SIGN_ERROR
#       the efficiency sentence inside (f)             → h.iii NEEDS_HUMAN
#   (g) "the derivative does not change": σ(u_kᵀv_c)v_c, repeats not counted → i INCORRECT
#   (h)(i) ∂J(v_c, w_{t+j}, U)/∂U without the sum over j (j unbound) → j.i NEEDS_HUMAN
#   (h)(ii) window sum → j.ii CORRECT; (h)(iii) 𝟎 → j.iii CORRECT
#   b.ii, b.iii, c, f, h.ii: not questions in 2022–23 → UNANSWERED
NUMBERED_2023_ERRORS = {"a": H, "b.i": T, "d": INC, "e": SH, "g": C, "h.i.vc": INC, "h.i.uo": C, "h.i.uws": S,
                        "h.iii": H, "i": INC, "j.i": H, "j.ii": C, "j.iii": C}

# errors_plain.txt — plain text again ("Q1 (b)" lines, no $), with mistakes:
#   b.i  U^T (yhat - y)                              → ROW_CONVENTION
#   d    (y_w - yhat_w) v_c                          → SIGN_ERROR
#   e    v_c (yhat - y): (d×1)(|V|×1) is undefined; (ŷ − y)ᵀ would be right → SHAPE_ERROR
#   f    alpha if x < 0, 1 otherwise                 → CORRECT
#   g    sigma(x) (1 - sigma(-x)) = σ(x)²            → INCORRECT
#   h.i.vc (σ(u_oᵀv_c) − 1)u_o + Σ_k σ(u_{w_k}ᵀv_c)u_{w_k} → CORRECT; h.i.uo (σ(u_oᵀv_c) − 1)v_c → CORRECT
#   h.i.uws sigma(-u_{w_s}^T v_c) v_c                → INCORRECT
#   i    K sigma(u_{w_s}^T v_c) v_c: K instead of the number of repeats of w_s → INCORRECT
#   j.i  sum_j without bounds (j = 0 not excluded)   → NEEDS_HUMAN
#   j.ii window sum                                  → CORRECT
#   j.iii Σ_j ∂J(v_c, w_{t+j}, U)/∂v_w: a symbol the question does not offer (it is 0) → NEEDS_HUMAN
ERRORS_PLAIN = {"a": H, "b.i": R, "b.ii": H, "b.iii": H, "c": H, "d": S, "e": SH, "f": C, "g": INC, "h.i.vc": C,
                "h.i.uo": C, "h.i.uws": INC, "h.ii": H, "h.iii": H, "i": INC, "j.i": H, "j.ii": C, "j.iii": H}

# The next three were written after the fixes above and run before any further change (a held-out check):
# no wrong verdict; one NEEDS_HUMAN (\intertext inside align) was then fixed.

# notion_export.md — "### b) i." headings, \( \) and \[ \] math, aligned with \implies, \dfrac, [ ] as
# brackets (σ(x)[1 − σ(x)], U[ŷ − y]), cases with commas and "w=o," — every expression right → CORRECT.
NOTION = {p: C for p in EXPRESSION_PARTS} | FREE_TEXT_2024

# textbf_gather.tex — "\noindent\textbf{1(b)(i)}" markers, gather* with ⇒, align with \intertext, equation
# with \label, \frac{d\sigma}{dx}, inline "$f'(x) = 1$ if $x>0$ and $f'(x) = \alpha$ if $x<0$",
# (Σ_k 𝟙[w_k = w_s]) σ(u_{w_s}ᵀv_c)v_c for (i) — every expression right → CORRECT.
TEXTBF = {p: C for p in EXPRESSION_PARTS} | FREE_TEXT_2024

# subtle_errors.md — "**1 (b)**" markers, one mistake per part:
#   b.i  u_o + Σ_w ŷ_w u_w (sign of one term)             → INCORRECT
#   d    cases swapped (ŷ_w v_c for w = o, (ŷ_w − 1)v_c for w ≠ o) → INCORRECT
#   e    v_c(ŷ − y)ᵀ                                      → CORRECT
#   f    cases swapped (α for x > 0)                      → INCORRECT
#   g    σ(x)²                                            → INCORRECT
#   h.i.vc the samples' sum multiplies u_o (wrong index)  → INCORRECT
#   h.i.uo −(1 − σ(u_oᵀv_c))u_o (wrong vector)            → INCORRECT
#   h.i.uws σ(u_{w_s}ᵀv_c)v_c                             → CORRECT
#   i    Σ_{k=1}^K σ(u_{w_k}ᵀv_c)v_c (all samples, not only the w_s ones) → INCORRECT
#   j.i  window sum                                      → CORRECT
#   j.ii Σ_j (∂J/∂U)ᵀ for ∂/∂v_c: |V|×d                  → SHAPE_ERROR
#   j.iii ∂J(v_c, w_{t+j}, U)/∂v_c with j unbound (no sum) → NEEDS_HUMAN
SUBTLE = {"a": H, "b.i": INC, "b.ii": H, "b.iii": H, "c": H, "d": INC, "e": C, "f": INC, "g": INC, "h.i.vc": INC,
          "h.i.uo": INC, "h.i.uws": C, "h.ii": H, "h.iii": H, "i": INC, "j.i": C, "j.ii": SH, "j.iii": H}

NEW_SHEETS = {
    "sections_align.tex": SECTIONS_ALIGN, "plain_ascii.txt": PLAIN_ASCII, "numbered_2021.md": NUMBERED_2021,
    "unusual_notation.md": UNUSUAL, "typical_errors.md": TYPICAL_ERRORS,
    "numbered_2023_errors.md": NUMBERED_2023_ERRORS, "errors_plain.txt": ERRORS_PLAIN,
    "notion_export.md": NOTION, "textbf_gather.tex": TEXTBF, "subtle_errors.md": SUBTLE,
}


def _verdicts(path: Path):
    report = grade_file(path)
    assert [p.part for p in report.parts] == list(PART_IDS)
    return {p.part: p.verdict for p in report.parts}, report


@pytest.mark.parametrize("name", list(NEW_SHEETS))
def test_new_sheet(name: str) -> None:
    got, _ = _verdicts(FIXTURES / name)
    want = {p: NEW_SHEETS[name].get(p, U) for p in PART_IDS}
    wrong = {p: (got[p].value, want[p].value) for p in PART_IDS if got[p] != want[p]}
    assert not wrong, f"{name}: (got, expected) {wrong}"


def test_new_sheets_details() -> None:
    _, report = _verdicts(FIXTURES / "numbered_2021.md")
    parts = {p.part: p for p in report.parts}
    assert report.scheme == "2019-21"
    assert "(e)" in parts["h.i.uws"].mapping and "(c)" in parts["d"].mapping
    assert report.extra[0].verdict == H  # 2(c) with an image and sentences
    _, report = _verdicts(FIXTURES / "sections_align.tex")
    parts = {p.part: p for p in report.parts}
    assert "boxed" in parts["b.i"].source and "\\hat{\\bm{y}}" in parts["b.i"].latex  # the macro \yh, expanded
    assert "line 22," in parts["b.i"].source  # the line of the .tex file itself (\begin{align*} of (b)(i))
    _, report = _verdicts(FIXTURES / "errors_plain.txt")
    parts = {p.part: p for p in report.parts}
    assert "intent recoverable" in parts["e"].reason
    _, report = _verdicts(FIXTURES / "numbered_2023_errors.md")
    assert report.scheme == "2022-23"


# --------------------------------------------------------------------------- single behaviours

def _grade(text: str) -> dict:
    return {p.part: p for p in grade_text(text, "t").parts}


def test_remarks_after_the_answer_are_not_the_answer() -> None:
    """'the gradient is $0$ when …' and 'the derivative of the first term is $-u_o$' announce no answer."""
    parts = _grade("## (b)\n(i)\n$$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$\n"
                   "Note that the gradient is $0$ when $\\hat y = y$.\n")
    assert parts["b.i"].verdict == C
    parts = _grade("## (b)\n$$\\frac{\\partial J}{\\partial v_c} = -u_o + U\\hat y$$\n"
                   "where the derivative of the first term is $-u_o$.\n")
    assert parts["b.i"].verdict == C


def test_announced_expression_disagreeing_with_the_equation_goes_to_a_human() -> None:
    parts = _grade("## (b)\n$$\\frac{\\partial J}{\\partial v_c} = -u_o + U\\hat y$$\nso the gradient is $U(y - \\hat y)$.\n")
    assert parts["b.i"].verdict == H and "disagree" in parts["b.i"].reason
    # … but an expression announced as the final answer (after transposing, say) is the answer
    parts = _grade("## (b)\n$$\\frac{\\partial J}{\\partial v_c} = -u_o^T + \\hat y^T U^T$$\n"
                   "so the final answer is $U(\\hat y - y)$.\n")
    assert parts["b.i"].verdict == C


def test_conditions_stated_after_the_expression() -> None:
    parts = _grade("## (d)\n$$\\frac{\\partial J}{\\partial u_w} = \\hat y_w v_c$$ for $w \\neq o$ and\n"
                   "$$\\frac{\\partial J}{\\partial u_w} = (\\hat y_w - 1) v_c$$ if $w = o$.\n")
    assert parts["d"].verdict == C
    parts = _grade("## (d)\n$$\\frac{\\partial J}{\\partial u_w} = \\hat y_w v_c$$ when $w \\neq o$, otherwise\n"
                   "$$\\frac{\\partial J}{\\partial u_w} = \\hat y_w v_c$$\n")
    assert parts["d"].verdict == INC


@pytest.mark.parametrize("heading", [
    "## Question 1(g)", "### 1.g", "**1g.**", "1. (g)", "Problem 1 (g):", "**Part (g)**", "(g) [3 pts]", "g)",
    "**g.**", "#### Q1.g", "Q1(g)", "### Part g", "**Question (g)**", "Question 1.g", "**(g)** (3 points)",
    "## Question 1 — part (g)", "**Answer (g):**", "\\textbf{(g)}",
])
def test_marker_styles(heading: str) -> None:
    parts = _grade(heading + "\n$$\\sigma'(x) = \\sigma(x)(1-\\sigma(x))$$\n")
    assert parts["g"].verdict == C, parts["g"].reason


def test_plain_text_short_answer_and_no_markers() -> None:
    parts = _grade("**(j)**\n(iii) 0\n")
    assert parts["j.iii"].verdict == C
    parts = _grade("My notes: $$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$\n")
    assert all(p.verdict == H and p.reason == NO_MARKERS for p in parts.values())


def test_statements_about_the_gradient_are_not_answers() -> None:
    """'∂J/∂v_c = 0 when ŷ = y' (b)(ii) is not a final expression for (b)(i), in LaTeX or in plain text."""
    parts = _grade("## (b)\n$$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$\n"
                   "$$\\frac{\\partial J}{\\partial v_c} = 0 \\text{ when } \\hat y = y$$\n")
    assert parts["b.i"].verdict == C
    parts = _grade("## (b)\ndJ/dv_c = U(yhat - y)\n\nIt is zero, i.e. dJ/dv_c = 0, when yhat = y.\n"
                   "dJ/dv_c = 0 when yhat = y\n")
    assert parts["b.i"].verdict == C
    parts = _grade("- (b)(i) dJ/dv_c = U(yhat - y)\n- **(d)** Answer: dJ/du_w = (yhat_w - y_w) v_c\n")
    assert parts["b.i"].verdict == C and parts["d"].verdict == C


def test_macros_in_markdown() -> None:
    parts = _grade("$\\newcommand{\\vc}{\\mathbf{v}_c}\\def\\yh{\\hat{\\mathbf y}}$\n\n## (b)\n(i) "
                   "$$\\frac{\\partial J}{\\partial \\vc} = \\mathbf U(\\yh - \\mathbf y)$$\n")
    assert parts["b.i"].verdict == C


def test_reference_values_cached_on_disk_are_exact(tmp_path: Path, monkeypatch) -> None:
    from grader.written.verdict import references as verdict

    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path))
    cache = verdict._DiskCache()
    point = verdict.draws(False)[0]
    for part in ("b.i", "g", "j.i"):
        cache.put(point, part, verdict._derivations().reference_value(part, point))
    cache.flush()
    assert cache.path.parent == tmp_path / "written" and cache.path.exists()
    fresh = verdict._DiskCache()
    for part in ("b.i", "g", "j.i"):
        want = verdict._derivations().reference_value(part, point)
        got = fresh.get(point, part)
        assert np.array_equal(np.asarray(got), np.asarray(want))
    other = dataclasses.replace(point, o=(point.o + 1) % point.V)
    assert fresh.get(other, "b.i") is None  # keyed by the point's content


# --------------------------------------------------------------------------- CLI on the fixture folder


def test_cli_folder_csv_and_json_contract(tmp_path: Path) -> None:
    out_csv, out_json = tmp_path / "all.csv", tmp_path / "all.json"
    done = subprocess.run([sys.executable, "-m", "grader", "written", str(FIXTURES), "--csv", str(out_csv),
                           "--json", str(out_json), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    sheets = sorted(p.stem for p in FIXTURES.iterdir() if p.suffix in (".md", ".tex", ".txt"))
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == len(sheets) * (len(PART_IDS) + 1)
    assert sorted({r["student"] for r in rows}) == sheets
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert sorted(s["student"] for s in data["students"]) == sheets
    for student in data["students"]:
        assert [p["part"] for p in student["parts"]] == list(PART_IDS)
        for p in student["parts"]:
            assert {"part", "verdict", "latex", "reason", "source"} <= set(p)
            assert p["verdict"] in {v.value for v in Verdict}
            assert all(isinstance(p[k], str) for k in ("latex", "reason", "source"))
    by_student = {s["student"]: {p["part"]: p["verdict"] for p in s["parts"]} for s in data["students"]}
    assert by_student["typical_errors"]["b.i"] == "SIGN_ERROR"


# --------------------------------------------------------------------------- scoreboard


def _test_set() -> list[tuple[Path, dict]]:
    sheets = [(FIXTURES / name, want) for name, want in NEW_SHEETS.items()]
    sheets += [(FIXTURES / "full_2024.md", FULL_2024), (FIXTURES / "errors_2024.tex", ERRORS_2024),
               (FIXTURES / "words_and_rows.txt", WORDS_AND_ROWS), (FIXTURES / "copied_questions.md", COPIED),
               (FIXTURES / "placeholder.md", {})]
    for path, want in ((SHARED / "written_samples/sample_A.md", SAMPLE_A),
                       (SHARED / "written_samples/sample_B.md", SAMPLE_B),
                       (SHARED / "assignment/handout_2024.md", HANDOUT)):
        if path.exists():
            sheets.append((path, want))
    return sheets


def test_scoreboard(capsys) -> None:
    """Automatic share of the answered expression parts, and wrong verdicts, over the whole test set."""
    answered = automatic = wrong = wrongly_correct = 0
    for path, expected in _test_set():
        got, _ = _verdicts(path)
        for part in PART_IDS:
            want = expected.get(part, U)
            if got[part] != want:
                wrong += 1
                wrongly_correct += got[part] == C
            if part in EXPRESSION_PARTS and want != U:
                answered += 1
                automatic += got[part] in AUTOMATIC
    with capsys.disabled():
        print(f"\nwritten test set: {len(_test_set())} sheets; answered expression parts verdicted automatically: "
              f"{automatic}/{answered} ({100 * automatic / answered:.0f}%); verdicts differing from the "
              f"hand-derived ones: {wrong} (wrong answers called CORRECT: {wrongly_correct})")
    assert wrong == 0 and wrongly_correct == 0
