"""Generated equivalent rewrites (must be CORRECT) and mutated wrong answers (must never be CORRECT).

Each answer is judged on its own through the same path as a real sheet's
final expression: ``parse_equation`` → content routing of the left-hand side →
``judge``.  The counts are printed by ``test_scoreboard`` (run with ``-s``).
"""

from __future__ import annotations

import functools

import pytest

from grader.written.grade import route
from grader.written.locate import Block, FoundEquation
from grader.written.parse import parse_equation
from grader.written.verdict import Candidate, Verdict, judge

LHS = {
    "b.i": r"\frac{\partial J_{\text{naive-softmax}}(\boldsymbol{v}_c, o, \boldsymbol{U})}{\partial \boldsymbol{v}_c}",
    "d": r"\frac{\partial J_{\text{naive-softmax}}}{\partial \boldsymbol{u}_w}",
    "e": r"\frac{\partial J_{\text{naive-softmax}}(v_c, o, U)}{\partial \boldsymbol{U}}",
    "f": r"f'(x)",
    "g": r"\frac{d\sigma(x)}{dx}",
    "h.i.vc": r"\frac{\partial J_{\text{neg-sample}}}{\partial \boldsymbol{v}_c}",
    "h.i.uo": r"\frac{\partial J_{\text{neg-sample}}}{\partial \boldsymbol{u}_o}",
    "h.i.uws": r"\frac{\partial J_{\text{neg-sample}}}{\partial \boldsymbol{u}_{w_s}}",
    "i": r"\frac{\partial J_{\text{neg-sample}}}{\partial \boldsymbol{u}_{w_s}}",
    "j.i": r"\frac{\partial J_{\text{skip-gram}}}{\partial \boldsymbol{U}}",
    "j.ii": r"\frac{\partial J_{\text{skip-gram}}}{\partial \boldsymbol{v}_c}",
    "j.iii": r"\frac{\partial J_{\text{skip-gram}}}{\partial \boldsymbol{v}_w}",
}

DJU = r"\frac{\partial J(\boldsymbol{v}_c, w_{t+j}, \boldsymbol{U})}{\partial \boldsymbol{U}}"
DJV = r"\frac{\partial J(\boldsymbol{v}_c, w_{t+j}, \boldsymbol{U})}{\partial \boldsymbol{v}_c}"
WINDOW = r"\sum_{\substack{-m \le j \le m \\ j \ne 0}}"

REWRITES: dict[str, list[str]] = {
    "b.i": [
        r"\boldsymbol{U}(\hat{\boldsymbol{y}} - \boldsymbol{y})",
        r"-\boldsymbol{U}\boldsymbol{y} + \boldsymbol{U}\hat{\boldsymbol{y}}",
        r"U\hat{y} - u_o",
        r"\mathbf{U}\left(\hat{\mathbf{y}}-\mathbf{y}\right)",
        r"-u_o + \sum_{w \in \text{Vocab}} \hat{y}_w u_w",
        r"\sum_{w=1}^{|V|} (\hat y_w - y_w) \boldsymbol{u}_w",
        r"-\boldsymbol{u}_o + \frac{\sum_{x} \exp(\boldsymbol{u}_x^\top \boldsymbol{v}_c)\boldsymbol{u}_x}"
        r"{\sum_{w} \exp(\boldsymbol{u}_w^\top \boldsymbol{v}_c)}",
        r"-(Uy - U\hat{y})",
        r"\sum_{w} (\hat{y}_w - [w=o]) u_w",
        r"-\boldsymbol{u}_o + \sum_{w} P(O=w|C=c) \boldsymbol{u}_w",
        r"(\hat{y}^\top U^\top - y^\top U^\top)^\top",
        r"\sum_{w \in V} \hat y_w u_w - U y",
        r"U \hat{y} - U y",
        r"-u_o+\sum_{w}\frac{e^{u_w^T v_c}}{\sum_{x} e^{u_x^T v_c}}u_w",
    ],
    "d": [
        r"(\hat y_w - y_w) \boldsymbol{v}_c",
        r"\begin{cases} (\hat y_o - 1)\boldsymbol{v}_c & \text{if } w = o \\ \hat y_w \boldsymbol{v}_c & "
        r"\text{if } w \neq o \end{cases}",
        r"\boldsymbol{v}_c(\hat{y}_w - [w=o])",
        r"\hat{y}_w v_c - \mathbb{1}[w=o] v_c",
        r"\hat{y}_w v_c - \mathbb{1}_{w=o} v_c",
        r"-v_c(\delta_{wo} - \hat{y}_w)",
        r"\begin{cases} \hat y_w v_c & w \ne o \\ -(1 - \hat y_o) v_c & \text{otherwise} \end{cases}",
        r"v_c\hat{y}_w - v_c y_w",
        r"(\hat{\boldsymbol{y}}_w-\boldsymbol{y}_w)\boldsymbol{v}_c",
    ],
    "e": [
        r"\boldsymbol{v}_c(\hat{\boldsymbol{y}} - \boldsymbol{y})^\top",
        r"v_c\hat{y}^\top - v_c y^\top",
        r"\left[\frac{\partial J(v_c,o,U)}{\partial u_1}, \frac{\partial J(v_c,o,U)}{\partial u_2}, \ldots, "
        r"\frac{\partial J(v_c,o,U)}{\partial u_{|\text{Vocab}|}}\right]",
        r"\begin{bmatrix} \frac{\partial J(v_c,o,U)}{\partial u_1} & \cdots & "
        r"\frac{\partial J(v_c,o,U)}{\partial u_{|V|}} \end{bmatrix}",
        r"-(v_c y^T - v_c \hat y^T)",
        r"\boldsymbol{v}_c(\hat{\boldsymbol{y}}^{T} - \boldsymbol{y}^{T})",
    ],
    "f": [
        r"\begin{cases} \alpha & x < 0 \\ 1 & x > 0 \end{cases}",
        r"\begin{cases} 1 & \text{if } x > 0 \\ \alpha & \text{otherwise} \end{cases}",
        r"\alpha [x<0] + [x>0]",
        r"\begin{cases} 1 & x \geq 0 \\ \alpha & x < 0 \end{cases}",
        r"1 - (1-\alpha)[x<0]",
    ],
    "g": [
        r"\sigma(x)(1-\sigma(x))",
        r"\sigma(x) - \sigma(x)^2",
        r"\sigma(x)\sigma(-x)",
        r"\frac{e^{-x}}{(1+e^{-x})^2}",
        r"\frac{e^{x}}{(1+e^{x})^{2}}",
        r"\frac{1}{1+e^{-x}}\cdot\frac{e^{-x}}{1+e^{-x}}",
        r"(1-\sigma(x))\,\sigma(x)",
        r"\sigma(x)\left(1-\sigma(x)\right)",
        r"\sigma(x)\cdot(1-\sigma(x))",
    ],
    "h.i.vc": [
        r"-(1-\sigma(u_o^\top v_c))u_o + \sum_{s=1}^{K} (1-\sigma(-u_{w_s}^\top v_c)) u_{w_s}",
        r"(\sigma(\boldsymbol{u}_o^\top \boldsymbol{v}_c) - 1)\boldsymbol{u}_o + \sum_{s=1}^K "
        r"\sigma(\boldsymbol{u}_{w_s}^\top \boldsymbol{v}_c) \boldsymbol{u}_{w_s}",
        r"-\sigma(-u_o^T v_c) u_o + \sum_{k=1}^{K} \sigma(u_{w_k}^{T} v_c) u_{w_k}",
        r"\sum_{s=1}^K \sigma(u_{w_s}^T v_c)u_{w_s} - (1 - \sigma(u_o^T v_c)) u_o",
        r"\sum_{k=1}^{K} \left(1-\sigma\left(-\boldsymbol{u}_{w_k}^{\top}\boldsymbol{v}_c\right)\right)"
        r"\boldsymbol{u}_{w_k} - \left(1-\sigma\left(\boldsymbol{u}_o^{\top}\boldsymbol{v}_c\right)\right)\boldsymbol{u}_o",
    ],
    "h.i.uo": [
        r"-(1-\sigma(u_o^\top v_c)) v_c",
        r"(\sigma(\boldsymbol{u}_o^\top\boldsymbol{v}_c) - 1) \boldsymbol{v}_c",
        r"-\sigma(-u_o^T v_c) v_c",
        r"\sigma(u_o^T v_c) v_c - v_c",
        r"-(1-\sigma(\boldsymbol{u}_o \cdot \boldsymbol{v}_c))\boldsymbol{v}_c",
    ],
    "h.i.uws": [
        r"(1-\sigma(-u_{w_s}^\top v_c)) v_c",
        r"\sigma(\boldsymbol{u}_{w_s}^\top \boldsymbol{v}_c) \boldsymbol{v}_c",
        r"\boldsymbol{v}_c \, \sigma(\boldsymbol{u}_{w_s}^{T} \boldsymbol{v}_c)",
    ],
    "i": [
        r"\sum_{k: w_k = w_s} \sigma(u_{w_k}^\top v_c) v_c",
        r"\sum_{\substack{k=1 \\ w_k = w_s}}^{K} (1 - \sigma(-u_{w_k}^\top v_c)) v_c",
        r"\sum_{k=1}^K [w_k = w_s] \sigma(u_{w_s}^\top v_c) v_c",
        r"\sum_{k=1}^{K} \mathbb{1}\{w_k = w_s\} (1-\sigma(-u_{w_s}^\top v_c)) v_c",
        r"\sum_{\substack{j=1\\ w_j=w_s}}^{K}\sigma(\boldsymbol{u}_{w_s}^\top\boldsymbol{v}_c)\boldsymbol{v}_c",
    ],
    "j.i": [
        WINDOW + " " + DJU,
        r"\sum_{j=-m, j\neq 0}^{m} \frac{\partial J(v_c, w_{t+j}, U)}{\partial U}",
        r"\sum_{-m \leq j \leq m, j \neq 0} \partial J(\boldsymbol{v}_c, w_{t+j}, \boldsymbol{U}) / \partial \boldsymbol{U}",
    ],
    "j.ii": [
        WINDOW + " " + DJV,
        r"\sum_{j=-m, j\neq 0}^{m} \frac{\partial J(v_c, w_{t+j}, U)}{\partial v_c}",
    ],
    "j.iii": [r"0", r"\boldsymbol{0}", r"\vec{0}", r"\mathbf{0}"],
}

# Notation added after stress-testing with new answer sheets (see test_written_sheets.py).
MORE_REWRITES: dict[str, list[str]] = {
    "b.i": [
        r"\sum_{w\in\mathcal{V}} \hat y_w u_w - u_o",
        r"U(\hat{y}-y)\in\mathbb{R}^{d}",
        r"\sum_{w=1}^{|\text{Vocab}|}(\hat y_w - y_w)u_w",
        r"U(\hat y - y) \quad (d \times 1)",
        r"\boldsymbol U\left[\hat{\boldsymbol y}-\boldsymbol y\right]",
    ],
    "d": [
        r"(\hat{y}_w-1_{w=o})v_c",
        r"(\hat{y}_w-\mathbf{1}_{\{w=o\}})v_c",
        r"\left\{\begin{array}{ll} (\hat{y}_o-1)v_c & w=o \\ \hat{y}_w v_c & w\neq o \end{array}\right.",
        r"\begin{cases} (\hat{y}_o-1)v_c & w=o \\ \hat{y}_w v_c & \text{o.w.} \end{cases}",
    ],
    "e": [
        r"\begin{bmatrix} \frac{\partial J}{\partial u_1} & \frac{\partial J}{\partial u_2} & \cdots & "
        r"\frac{\partial J}{\partial u_{|\text{Vocab}|}} \end{bmatrix}",
    ],
    "g": [r"\sigma(x)-\sigma^2(x)", r"\sigma(x)\left[1-\sigma(x)\right]"],
    "h.i.vc": [
        r"(\sigma(u_o^Tv_c)-1)u_o + \sum_{k=1}^K\sigma(u_{w_k}^Tv_c)u_{w_k}",
        r"-(1-\sigma(u_o^\top v_c))u_o + \sum_{w\in\{w_1,\ldots,w_K\}} \sigma(u_w^\top v_c)u_w",
    ],
    "h.i.uws": [r"(1-\sigma(-u_{w_s}^\top v_c)) v_c, \quad s = 1,\ldots,K"],
    "i": [
        r"|\{k: w_k = w_s\}|\,\sigma(u_{w_s}^\top v_c)v_c",
        r"\sum_{\{k\,:\,w_k=w_s\}}\sigma(u_{w_s}^\top v_c)v_c",
        r"\sum_{k \in \{1,\ldots,K\}: w_k=w_s}\sigma(u_{w_s}^\top v_c)v_c",
        r"\Bigl(\sum_{k=1}^{K}\mathbb{1}[w_k = w_s]\Bigr)\sigma(u_{w_s}^Tv_c)\,v_c",
    ],
    "j.i": [
        r"\sum_{j\ne0}\frac{\partial J(v_c,w_{t+j},U)}{\partial U}",
        r"\sum_{\substack{-m \leq j \leq m\\ j \neq 0}} \frac{\partial J}{\partial U}(v_c,w_{t+j},U)",
    ],
    "j.iii": [r"\mathbf{0}_{d}", r"0 \in \mathbb{R}^d"],
}
for _part, _items in MORE_REWRITES.items():
    REWRITES[_part] = REWRITES[_part] + _items

# Mutations: (latex, kind).  None of them may be CORRECT.
MUTATIONS: dict[str, list[tuple[str, str]]] = {
    "b.i": [
        (r"U(y - \hat{y})", "sign"), (r"U\hat{y}", "missing term"), (r"(\hat{y} - y)^\top U^\top", "transposed"),
        (r"U^\top(\hat{y} - y)", "row convention"), (r"\hat{y} - y", "missing U"),
        (r"-u_c + U\hat{y}", "wrong index"), (r"U\hat{y} + u_o", "sign of a term"),
        (r"\sum_{w} \hat{y}_w u_w", "missing term"), (r"(\hat{y} - y)U", "factor order"),
        (r"-u_o + \sum_{w} \hat{y}_w v_w", "wrong vector"), (r"-u_o + \sum_{w} \hat{y}_o u_w", "wrong index"),
        (r"U \cdot y - U \cdot \hat{y}", "sign"),
    ],
    "d": [
        (r"(y_w - \hat{y}_w) v_c", "sign"), (r"\hat{y}_w v_c", "missing term (w = o case)"),
        (r"(\hat{y}_w - 1) v_c", "missing Iverson"), (r"(\hat{y}_o - y_o) v_c", "wrong index"),
        (r"v_c^\top(\hat{y}_w - y_w)", "transposed"),
        (r"\begin{cases} \hat y_w v_c & w = o \\ (\hat y_o - 1) v_c & w \neq o \end{cases}", "cases swapped"),
        (r"(\hat{y}_w - y_w) u_w", "wrong vector"),
    ],
    "e": [
        (r"(\hat{y} - y) v_c^\top", "row convention"), (r"v_c(y - \hat{y})^\top", "sign"),
        (r"v_c \hat{y}^\top", "missing term"), (r"\hat{y}^\top v_c", "shape"), (r"v_c(\hat{y} - y)", "shape"),
        (r"U(\hat{y} - y)", "wrong part"),
    ],
    "f": [
        (r"\begin{cases} 1 & x < 0 \\ \alpha & x > 0 \end{cases}", "cases swapped"), (r"\alpha", "missing case"),
        (r"1", "missing case"), (r"\begin{cases} -\alpha & x < 0 \\ 1 & x > 0 \end{cases}", "sign in a case"),
        (r"\alpha x", "not a derivative"),
    ],
    "g": [
        (r"\sigma(x)(1+\sigma(x))", "sign of a term"), (r"-\sigma(x)(1-\sigma(x))", "sign"),
        (r"\sigma(x)^2", "wrong"), (r"1-\sigma(x)", "missing factor"), (r"\sigma(-x)", "missing factor"),
        (r"\frac{e^{-x}}{1+e^{-x}}", "missing square"),
    ],
    "h.i.vc": [
        (r"(1-\sigma(u_o^\top v_c))u_o + \sum_{s=1}^{K} (1-\sigma(-u_{w_s}^\top v_c)) u_{w_s}", "sign of a term"),
        (r"-(1-\sigma(u_o^\top v_c))u_o", "missing sum"),
        (r"-(1-\sigma(u_o^\top v_c))u_o + \sum_{s=1}^{K} \sigma(-u_{w_s}^\top v_c) u_{w_s}", "σ(−x) for 1−σ(−x)"),
        (r"-(1-\sigma(u_o^\top v_c))u_o + \sum_{s=1}^{K} (1-\sigma(-u_{w_s}^\top v_c)) u_o", "wrong index"),
        (r"-(1-\sigma(u_o^\top v_c))v_c + \sum_{s=1}^{K} (1-\sigma(-u_{w_s}^\top v_c)) v_c", "wrong vector"),
        (r"-(1-\sigma(u_o^\top v_c))u_o + \sum_{s=1}^{K-1} (1-\sigma(-u_{w_s}^\top v_c)) u_{w_s}", "wrong bound"),
    ],
    "h.i.uo": [
        (r"(1-\sigma(u_o^\top v_c)) v_c", "sign"), (r"-(1-\sigma(u_o^\top v_c)) u_o", "wrong vector"),
        (r"-\sigma(u_o^\top v_c) v_c", "σ(x) for 1−σ(x)"), (r"-(1-\sigma(u_o^\top v_c)) v_c^\top", "transposed"),
    ],
    "h.i.uws": [
        (r"-\sigma(u_{w_s}^\top v_c) v_c", "sign"), (r"\sigma(-u_{w_s}^\top v_c) v_c", "wrong"),
        (r"\sigma(u_o^\top v_c) v_c", "wrong index"), (r"v_c^\top \sigma(u_{w_s}^\top v_c)", "transposed"),
        (r"\sigma(u_{w_s}^\top v_c) u_{w_s}", "wrong vector"),
    ],
    "i": [
        (r"\sigma(u_{w_s}^\top v_c) v_c", "dropped duplicate count"),
        (r"(1-\sigma(-u_{w_s}^\top v_c)) v_c", "dropped duplicate count"),
        (r"\sum_{k=1}^{K} \sigma(u_{w_k}^\top v_c) v_c", "missing condition"),
        (r"-\sum_{k: w_k = w_s} \sigma(u_{w_k}^\top v_c) v_c", "sign"),
        (r"\sum_{k: k = s} \sigma(u_{w_k}^\top v_c) v_c", "dropped duplicate count (positions)"),
        (r"\sum_{k: w_k = w_s} \sigma(-u_{w_k}^\top v_c) v_c", "wrong"),
    ],
    "j.i": [
        (r"\sum_{j=-m}^{m} \frac{\partial J(v_c, w_{t+j}, U)}{\partial U}", "includes j = 0"),
        (r"\frac{\partial J(v_c, w_{t+j}, U)}{\partial U}", "missing sum"),
        (r"-" + WINDOW + " " + DJU, "sign"),
        (WINDOW + " " + DJV, "wrong variable"),
        (WINDOW + r" \left(" + DJU + r"\right)^\top", "transposed"),
    ],
    "j.ii": [
        (WINDOW + " " + DJU, "wrong variable"), (r"-" + WINDOW + " " + DJV, "sign"),
        (r"0", "zero"),
    ],
    "j.iii": [(WINDOW + " " + DJV, "not zero"), (r"\boldsymbol{v}_c", "wrong")],
}


@functools.cache
def _judge(part: str, rhs: str) -> tuple[Verdict, str]:
    """Route ``LHS = rhs`` by content (must reach ``part``) and judge it."""
    eq = parse_equation(f"{LHS[part]} = {rhs}")
    block = Block("x", None, 1, 0, 0, 1, 0)
    feq = FoundEquation(eq, block, 0, True, 1, False, False)
    r = route(feq, None)
    assert r is not None, f"not routed: {rhs}"
    parts = {"H_UWS": ("h.i.uws", "i")}
    routed = {q for p in r.parts for q in parts.get(p, (p,))}
    assert part in routed, f"{rhs!r} routed to {r.parts}"
    cand = Candidate(eq.final, eq.final_latex, eq.condition, r.wrt)
    return judge(part, [cand])


MORE_MUTATIONS: dict[str, list[tuple[str, str]]] = {
    "b.i": [(r"U^Tv_c", "wrong"), (r"-u_o^T + \hat y^T U^T", "transposed (no space after ^T)")],
    "d": [(r"(\hat{y}_w-1_{w\neq o})v_c", "wrong condition"),
          (r"\begin{cases} (\hat{y}_o-1)v_c & w=o \\ \hat{y}_o v_c & \text{o.w.} \end{cases}", "wrong index")],
    "e": [(r"\begin{bmatrix} \frac{\partial J}{\partial u_1} \\ \vdots \\ \frac{\partial J}{\partial u_{|V|}} "
           r"\end{bmatrix}", "columns stacked vertically")],
    "g": [(r"\sigma^2(x)", "missing term"), (r"\sigma(x)\left[1+\sigma(x)\right]", "sign of a term")],
    "h.i.vc": [(r"(\sigma(u_o^Tv_c)-1)u_o + \sum_{k=1}^K\sigma(-u_{w_k}^Tv_c)u_{w_k}", "sign inside σ")],
    "i": [
        (r"|\{k: w_k = w_o\}|\,\sigma(u_{w_s}^\top v_c)v_c", "wrong index"),
        (r"\sum_{w\in\{w_1,\ldots,w_K\}} [w = w_s] \sigma(u_{w_s}^\top v_c)v_c", "dropped duplicate count (a set)"),
        (r"K\sigma(u_{w_s}^\top v_c)v_c", "K instead of the number of repeats"),
        (r"\sum_{\{k\,:\,k=s\}}\sigma(u_{w_s}^\top v_c)v_c", "dropped duplicate count (positions)"),
    ],
    "j.i": [(r"\sum_{j}\frac{\partial J(v_c,w_{t+j},U)}{\partial U}", "j = 0 not excluded")],
    "j.iii": [(r"\mathbf{1}_{d}", "ones")],
}
for _part, _cases in MORE_MUTATIONS.items():
    MUTATIONS[_part] = MUTATIONS[_part] + _cases

REWRITE_CASES = [(p, latex) for p, items in REWRITES.items() for latex in items]
MUTATION_CASES = [(p, latex, kind) for p, items in MUTATIONS.items() for latex, kind in items]


@pytest.mark.parametrize("part, latex", REWRITE_CASES, ids=[f"{p}-{k}" for p, k in
                                                              ((p, i) for p, it in REWRITES.items()
                                                               for i in range(len(it)))])
def test_rewrite_is_correct(part: str, latex: str) -> None:
    verdict, reason = _judge(part, latex)
    assert verdict == Verdict.CORRECT, f"{part}: {latex!r} → {verdict.value}: {reason}"


@pytest.mark.parametrize("part, latex, kind", MUTATION_CASES,
                         ids=[f"{p}-{k}" for p, k in ((p, i) for p, it in MUTATIONS.items()
                                                      for i in range(len(it)))])
def test_mutation_is_never_correct(part: str, latex: str, kind: str) -> None:
    verdict, reason = _judge(part, latex)
    assert verdict != Verdict.CORRECT, f"{part} ({kind}): {latex!r} judged CORRECT"


EXPECTED_MUTATION_VERDICTS = {
    ("b.i", r"U(y - \hat{y})"): Verdict.SIGN_ERROR,
    ("b.i", r"(\hat{y} - y)^\top U^\top"): Verdict.TRANSPOSED,
    ("b.i", r"U^\top(\hat{y} - y)"): Verdict.ROW_CONVENTION,
    ("b.i", r"\hat{y} - y"): Verdict.SHAPE_ERROR,
    ("e", r"(\hat{y} - y) v_c^\top"): Verdict.ROW_CONVENTION,
    ("e", r"\hat{y}^\top v_c"): Verdict.SHAPE_ERROR,
    ("d", r"(y_w - \hat{y}_w) v_c"): Verdict.SIGN_ERROR,
    ("g", r"-\sigma(x)(1-\sigma(x))"): Verdict.SIGN_ERROR,
    ("h.i.uo", r"(1-\sigma(u_o^\top v_c)) v_c"): Verdict.SIGN_ERROR,
    ("h.i.uo", r"-(1-\sigma(u_o^\top v_c)) v_c^\top"): Verdict.TRANSPOSED,
    ("i", r"\sigma(u_{w_s}^\top v_c) v_c"): Verdict.INCORRECT,
    ("j.i", r"\sum_{j=-m}^{m} \frac{\partial J(v_c, w_{t+j}, U)}{\partial U}"): Verdict.NEEDS_HUMAN,
}


@pytest.mark.parametrize("key", list(EXPECTED_MUTATION_VERDICTS), ids=lambda k: f"{k[0]}:{k[1][:20]}")
def test_mutation_gets_the_specific_verdict(key) -> None:
    part, latex = key
    verdict, reason = _judge(part, latex)
    assert verdict == EXPECTED_MUTATION_VERDICTS[key], reason


def test_scoreboard(capsys) -> None:
    """Counts for the closing note: automatic share and wrong verdicts on this set."""
    rewrites_ok = sum(_judge(p, x)[0] == Verdict.CORRECT for p, x in REWRITE_CASES)
    verdicts = [_judge(p, x)[0] for p, x, _ in MUTATION_CASES]
    wrongly_correct = sum(v == Verdict.CORRECT for v in verdicts)
    automatic = sum(v not in (Verdict.NEEDS_HUMAN, Verdict.UNANSWERED) for v in verdicts)
    with capsys.disabled():
        print(f"\nrewrites CORRECT: {rewrites_ok}/{len(REWRITE_CASES)}; mutations judged CORRECT: "
              f"{wrongly_correct}/{len(MUTATION_CASES)}; mutations verdicted automatically: "
              f"{automatic}/{len(MUTATION_CASES)}")
    assert wrongly_correct == 0
