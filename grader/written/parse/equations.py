"""Equations and their conditions: the ``=`` chain of one equation (:func:`parse_equation`), display
math split into equations (:func:`split_equations`), several results in one fragment split apart
(:func:`split_results`).  A trailing case condition is split off by :mod:`.conditions` and parsed by
:func:`grader.written.parse.grammar.parse_condition`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Union

from grader.written.normalize import normalize_latex
from grader.written.parse.conditions import (
    _drop_annotations,
    _drop_where_clause,
    _is_cond_text,
    split_trailing_condition,
)
from grader.written.parse.grammar import Parser, parse_condition
from grader.written.parse.nodes import Node, ParseError
from grader.written.parse.tokens import Tok, _split_rows, _strip_punct, tokenize

# --------------------------------------------------------------------------- conditions


# --------------------------------------------------------------------------- equations


@dataclass
class Equation:
    """One equation: the ``=`` chain ``segments`` (normalised LaTeX) and an optional condition.

    ``nodes`` holds each segment's tree, or the :class:`ParseError` message for it.
    """

    latex: str
    segments: list[str]
    nodes: list[Union[Node, str]]
    condition: Optional[Node] = None
    condition_error: str = ""
    boxed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def lhs(self) -> Union[Node, str, None]:
        return self.nodes[0] if len(self.nodes) > 1 else None

    @property
    def final(self) -> Union[Node, str]:
        return self.nodes[-1]

    @property
    def final_latex(self) -> str:
        return self.segments[-1]


def _top_level_split(toks: list[Tok], kinds: set[str]) -> list[list[Tok]]:
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and (t.kind in kinds or (t.kind == "cmd" and t.value in kinds)):
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


_ALIGN_ENVS = ("aligned", "align", "align*", "split", "gathered", "gather", "gather*", "equation", "equation*",
               "eqnarray", "eqnarray*", "multline", "multline*", "alignat", "alignat*", "alignedat", "flalign")
_LEADING_OPS = ("=", "+", "-", "cdot", "times", "<", ">")


def split_equations(latex: str) -> list[str]:
    """Split one display-math block into equations (normalised LaTeX), joining continuation lines.

    Alignment ``&`` and environment wrappers are dropped; a line that starts
    with an operator (``=``, ``+``, ``\\cdot`` …) or that has no top-level
    ``=`` continues the previous line.
    """
    text = normalize_latex(latex)
    for env in _ALIGN_ENVS:
        text = re.sub(r"\\(?:begin|end)\s*\{" + re.escape(env) + r"\}(\{[^{}]*\})?", " ", text)
    toks = tokenize(text)
    lines = [_strip_punct(line) for line in _split_rows(toks)]
    equations: list[list[Tok]] = []
    for line in lines:
        line = [t for t in line if not (t.kind == "&" and not _inside_env(line, t))]
        if not line:
            continue
        first = line[0]
        continues = first.kind in _LEADING_OPS or (first.kind == "cmd" and first.value in _LEADING_OPS)
        has_eq = len(_top_level_split(line, {"="})) > 1
        if equations and (continues or not has_eq):
            equations[-1].extend(line)
        else:
            equations.append(list(line))
    return [_detokenize(text, eq) for eq in equations if eq]


def _inside_env(line: list[Tok], tok: Tok) -> bool:
    depth = 0
    for t in line:
        if t is tok:
            return depth > 0
        if t.kind == "begin":
            depth += 1
        elif t.kind == "end":
            depth -= 1
    return False


def _detokenize(text: str, toks: list[Tok]) -> str:
    return " ".join(text[t.pos : t.end] for t in toks)


def parse_expression(latex: str) -> Node:
    """Parse one expression (normalising first)."""
    return Parser(tokenize(normalize_latex(latex))).parse_full()


def parse_equation(latex: str, boxed: bool = False) -> Equation:
    """Parse ``lhs = … = rhs [, condition]``; segments that fail keep their error message."""
    text = normalize_latex(latex)
    toks = _strip_punct(tokenize(text))
    toks = _top_level_split(toks, {"Rightarrow", "implies", "therefore", "Longrightarrow", "iff"})[-1]
    toks = _drop_where_clause(toks)
    cond_toks: list[Tok] = []
    leading = _leading_condition(toks)
    if leading is not None:
        cond_toks, toks = leading
    else:
        toks, cond_toks = split_trailing_condition(toks)
    toks = [t for t in toks if not (t.kind == "cmd" and t.value in ("quad", "qquad"))]
    condition, cond_error = None, ""
    if cond_toks:
        try:
            condition = parse_condition(cond_toks)
        except ParseError as exc:
            cond_error = str(exc)
    segments = [_drop_annotations(_strip_punct(s)) for s in _top_level_split(toks, {"="})]
    segments = [s for s in segments if s]
    nodes: list[Union[Node, str]] = []
    for seg in segments:
        try:
            nodes.append(Parser(seg).parse_full())
        except ParseError as exc:
            nodes.append(str(exc))
        except (IndexError, RecursionError):
            nodes.append("could not read this expression")
    return Equation(latex, [_detokenize(text, s) for s in segments], nodes, condition, cond_error, boxed)


def _leading_condition(toks: list[Tok]) -> Optional[tuple[list[Tok], list[Tok]]]:
    """``\\text{for } w = o: …`` → (condition tokens, rest)."""
    if not toks or not _is_cond_text(toks[0]):
        return None
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset"):
            depth -= 1
        if depth == 0 and t.kind in (":", ","):
            return toks[:k], toks[k + 1 :]
    return None


# --------------------------------------------------------------------------- several results in one fragment

_OPENERS = ("{", "(", "[", "lset", "begin")
_CLOSERS = ("}", ")", "]", "rset", "end")
_GAP_CMDS = frozenset({"quad", "qquad", "text", "and", ",", ";", "!", " ", "hspace"})


def _starts_derivative(toks: list[Tok], i: int) -> bool:
    """``toks[i:]`` starts with a derivative: ``\\frac{\\partial …}{…}``, ``\\frac{d…}``, ``\\partial``, ``\\nabla``."""
    if i >= len(toks):
        return False
    t = toks[i]
    if t.kind == "cmd" and t.value in ("partial", "nabla"):
        return True
    if t.kind == "cmd" and t.value in ("frac", "dfrac", "tfrac") and i + 2 < len(toks) and toks[i + 1].kind == "{":
        nxt = toks[i + 2]
        return (nxt.kind == "cmd" and nxt.value == "partial") or (nxt.kind == "letter" and nxt.value == "d")
    return False


def _is_gap(t: Tok) -> bool:
    """Separators between results side by side: ``,``, ``;``, spacing commands, ``\\text{and}``."""
    return (t.kind in (",", ";") or t.kind == "cmd" and t.value in _GAP_CMDS
            or t.kind == "text" and t.value.strip().strip(",;").strip() in ("", "and"))


def _depth0_commas(toks: list[Tok]) -> list[list[Tok]]:
    items: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if t.kind == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(t)
    return items


def _unwrap_parens(toks: list[Tok]) -> Optional[list[Tok]]:
    """The inside of ``( … )`` when the parentheses enclose the whole token list, else None."""
    if len(toks) < 2 or toks[0].kind != "(" or toks[-1].kind != ")":
        return None
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if depth == 0 and k < len(toks) - 1:
            return None
    return toks[1:-1]


def split_results(latex: str) -> list[str]:
    """Split a fragment holding several results into one equation each (normalised LaTeX).

    Two forms are recognised, both only when every piece is an equation with a derivative on the left:
    equations side by side (``∂J/∂u_o = A, \\qquad ∂J/∂v_c = B``) and a tuple of derivatives equal to a
    tuple of the same length (``(∂J/∂v_c, ∂J/∂u_o) = (A, B)``, also with ``\\left( … \\right)``).
    Anything else is returned unchanged as one piece.
    """
    text = normalize_latex(latex)
    try:
        toks = [t for t in tokenize(text) if t.kind != "nl"]
    except Exception:
        return [latex]
    sides = _top_level_split(toks, {"="})
    if len(sides) == 2:
        left, right = _unwrap_parens(sides[0]), _unwrap_parens(_strip_punct(sides[1]))
        if left is not None and right is not None:
            lhs, rhs = _depth0_commas(left), _depth0_commas(right)
            if len(lhs) == len(rhs) >= 2 and all(item and _starts_derivative(item, 0) for item in lhs):
                return [f"{_detokenize(text, a)} = {_detokenize(text, b)}" for a, b in zip(lhs, rhs)]
    cuts: list[tuple[int, int]] = []  # (end of a piece, start of the next)
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if depth != 0 or not _is_gap(t) or t.kind == "cmd" and t.value not in ("quad", "qquad"):
            continue
        j = k
        while j < len(toks) and _is_gap(toks[j]):
            j += 1
        if _starts_derivative(toks, j) and (not cuts or cuts[-1][1] <= k):
            cuts.append((k, j))
    if not cuts:
        return [latex]
    pieces, start = [], 0
    for end, nxt in cuts:
        pieces.append(toks[start:end])
        start = nxt
    pieces.append(toks[start:])
    if not all(len(_top_level_split(p, {"="})) > 1 and _starts_derivative(p, 0) for p in pieces):
        return [latex]
    return [_detokenize(text, p) for p in pieces]
