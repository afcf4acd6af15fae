"""Parse stage: normalised LaTeX → a small typed tree (no algebra, no reordering).

The parser is a hand-written recursive-descent parser over the canonical spelling produced by
:func:`grader.written.normalize.normalize_latex`.  It builds a tree that keeps what off-the-shelf
LaTeX→sympy converters lose: the order of (non-commuting) factors, transposes, the case of letters
(``U`` ≠ ``u``), σ as a function, sums with their index conditions, Iverson brackets, ``cases`` and
matrices with ellipses.  It never simplifies; the meaning of symbols is decided later by
:mod:`grader.written.typed_eval`.  Anything the grammar does not know raises :class:`ParseError`
(the checker then routes the part to a human).

Modules: :mod:`.nodes` (the tree), :mod:`.tokens`, :mod:`.grammar` (the parser), :mod:`.equations`
(equations, conditions, several results in one fragment), :mod:`.printing`.  Entry points:
:func:`split_equations`, :func:`parse_equation`, :func:`parse_expression`, :func:`split_results`.
"""

from __future__ import annotations

from grader.written.parse.equations import Equation, parse_equation, parse_expression, split_equations, split_results
from grader.written.parse.grammar import Parser
from grader.written.parse.nodes import (
    Add,
    And,
    Call,
    Cases,
    CDot,
    Deriv,
    Div,
    Dots,
    FnApp,
    Had,
    Iverson,
    Matrix,
    Mul,
    Neg,
    Node,
    Num,
    Ones,
    ParseError,
    Pow,
    Rel,
    SetBuilder,
    SetLit,
    Sum,
    Sym,
    T,
    Text,
    Zero,
    transform,
    walk,
)
from grader.written.parse.printing import to_text
from grader.written.parse.tokens import tokenize

__all__ = ["Add", "And", "CDot", "Call", "Cases", "Deriv", "Div", "Dots", "Equation", "FnApp", "Had", "Iverson", "Matrix", "Mul", "Neg", "Node", "Num", "Ones", "ParseError", "Parser", "Pow", "Rel", "SetBuilder", "SetLit", "Sum", "Sym", "T", "Text", "Zero", "parse_equation", "parse_expression", "split_equations", "split_results", "to_text", "tokenize", "transform", "walk"]
