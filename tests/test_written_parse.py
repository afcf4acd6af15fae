"""Normalisation, tree building and typed evaluation (closed forms computed here, independently)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.written.locate import Document
from grader.written.normalize import normalize_latex, render_text
from grader.written.parse import (
    Cases,
    Deriv,
    Iverson,
    Mul,
    ParseError,
    Sum,
    Sym,
    T,
    parse_equation,
    parse_expression,
    split_equations,
)
from grader.written.typed_eval import Context, Evaluator, ShapeError, UnknownSymbol, Unsupported
from reference.derivations import random_point


@pytest.mark.parametrize("latex", [
    r"\boldsymbol{u}_o^\top", r"\mathbf{u_o}^T", r"u_o^{T}", r"\bm{u}_{o}^{\top}", r"u_o^{\intercal}",
    r"\vec{u}_o^{\mathsf{T}}", "u_oᵀ",
])
def test_transpose_spellings(latex: str) -> None:
    assert parse_expression(latex) == T(Sym("u", Sym("o")))


@pytest.mark.parametrize("latex", [r"\hat{y}", r"\hat{\boldsymbol{y}}", r"\boldsymbol{\hat{y}}", r"\widehat{y}",
                                   r"\hat y", "ŷ", r"\hat{\mathbf{y}}"])
def test_hat_spellings(latex: str) -> None:
    assert parse_expression(latex) == Sym("yhat")


def test_matrix_and_vector_letters_stay_distinct() -> None:
    node = parse_expression(r"U u_w")
    assert node == Mul(Sym("U"), Sym("u", Sym("w")))


def test_exponential_and_sizing_normalised() -> None:
    assert normalize_latex(r"e^{-x}") == r"\exp {-x}"
    assert "left" not in normalize_latex(r"\left( x \right)")


def test_iverson_cases_and_sums() -> None:
    assert isinstance(parse_expression(r"[w = o]"), Iverson)
    assert isinstance(parse_expression(r"\mathbb{1}_{w=o}"), Iverson)
    assert isinstance(parse_expression(r"\begin{cases} a & w = o \\ b & \text{otherwise}\end{cases}"), Cases)
    s = parse_expression(r"\sum_{\substack{k=1\\ w_k = w_s}}^{K} v_c")
    assert isinstance(s, Sum) and len(s.sub) == 2 and s.sup == Sym("K")


def test_derivative_left_hand_sides() -> None:
    for lhs, wrt in [(r"\frac{\partial J}{\partial \boldsymbol{v}_c}", Sym("v", Sym("c"))),
                     (r"\frac{\partial}{\partial U} J(v_c, o, U)", Sym("U")),
                     (r"\nabla_{v_c} J", Sym("v", Sym("c"))),
                     (r"\partial J / \partial u_{w_s}", Sym("u", Sym("w", Sym("s"))))]:
        eq = parse_equation(lhs + " = 0")
        assert isinstance(eq.lhs, Deriv) and eq.lhs.wrt == wrt


def test_trailing_condition_is_split_off() -> None:
    eq = parse_equation(r"\frac{\partial J}{\partial u_w} = \hat y_w v_c, \quad \text{for } w \neq o")
    assert eq.condition is not None and eq.final == Mul(Sym("yhat", Sym("w")), Sym("v", Sym("c")))


def test_aligned_derivation_is_one_chain() -> None:
    pieces = split_equations(r"\begin{aligned} \frac{\partial J}{\partial v_c} &= a \\ &= U(\hat y - y) "
                             r"\end{aligned}")
    assert len(pieces) == 1
    assert parse_equation(pieces[0]).final_latex.replace(" ", "") == r"U(\yhat-y)"


def test_unknown_macro_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_expression(r"\mathcal{L}_{foo}")


def test_render_text() -> None:
    assert render_text(r"\boldsymbol{U}(\hat{\boldsymbol{y}} - \boldsymbol{y})") == "U (ŷ - y)"


# --------------------------------------------------------------------------- typed evaluation


@pytest.fixture(scope="module")
def point():
    return random_point(np.random.default_rng(3), d=3, V=6, K=4)


def _value(latex: str, point, family: str = "naive", row: bool = False, free=None):
    return Evaluator(Context(point, family, free or {}, row)).value(parse_expression(latex))


def _softmax(point) -> np.ndarray:
    s = point.U.T @ point.v_c
    e = np.exp(s - s.max())
    return e / e.sum()


def test_naive_gradient_closed_form(point) -> None:
    y = np.eye(point.V)[point.o]
    want = point.U @ (_softmax(point) - y)
    got = _value(r"U(\hat{y} - y)", point)
    assert got.shape == (point.d, 1) and np.allclose(got[:, 0], want)


def test_shapes_are_enforced(point) -> None:
    with pytest.raises(ShapeError):
        _value(r"\hat{y}^T v_c", point)
    with pytest.raises(ShapeError):
        _value(r"U + v_c", point)
    assert _value(r"u_o^T v_c", point) == pytest.approx(point.U[:, point.o] @ point.v_c)


def test_row_convention_reads_u_as_rows(point) -> None:
    got = _value(r"U^T(\hat{y} - y)", point, row=True)
    y = np.eye(point.V)[point.o]
    assert np.allclose(got[:, 0], point.U @ (_softmax(point) - y))


def test_negative_samples_with_repeats(point) -> None:
    from grader.written.typed_eval import IndexVal

    s = point.s
    ws = point.negatives[s]
    count = point.negatives.count(ws)
    sig = 1 / (1 + np.exp(-(point.U[:, ws] @ point.v_c)))
    free = {"s": IndexVal("neg", ws, s)}
    got = _value(r"\sum_{k: w_k = w_s} \sigma(u_{w_k}^T v_c) v_c", point, "neg", free=free)
    assert count >= 2 and np.allclose(got[:, 0], count * sig * point.v_c)


def test_unknown_symbols_are_not_guessed(point) -> None:
    with pytest.raises(UnknownSymbol):
        _value(r"W v_c", point)
    with pytest.raises(Unsupported):
        _value(r"\sum_{w \in S} u_w", point, "neg")


def test_sum_over_the_set_of_samples_counts_a_repeat_once(point) -> None:
    """Σ over the *set* {w_1, …, w_K} is exact set semantics (right for part h, wrong for repeats in part i)."""
    got = _value(r"\sum_{w \in \{w_1, \ldots, w_K\}} u_w", point, "neg")
    words = sorted(set(point.negatives))
    assert len(words) < len(point.negatives)
    assert np.allclose(got[:, 0], point.U[:, words].sum(axis=1))


def test_markers_and_question_text() -> None:
    doc = Document.from_text("Q1 (c) copied: Compute the partial derivatives of J.\n\n**Solution**\n$$x$$\n\n"
                             "## d)\ntext\n\n(i) one\n\n(ii) two\n")
    labels = [b.label for b in doc.blocks]
    assert labels == ["(c)", "(d)", "(d)(i)", "(d)(ii)"]
    assert doc.blocks[0].has_answer_marker
