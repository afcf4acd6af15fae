"""Helpers for placing answers: case conditions, answer candidates, plain-text expressions,
prose that says nothing was answered, and the plain-text renderings reports show.
"""

from __future__ import annotations

import re
from typing import Optional

from grader.written.grade.route import _loss_of
from grader.written.locate import (
    FoundEquation,
    is_placeholder,
)
from grader.written.normalize import render_text
from grader.written.parse import Call, Deriv, FnApp, to_text, walk
from grader.written.verdict import (
    Candidate,
)

_ONE_PER_LETTER = frozenset({"b.i", "d", "e", "f", "g", "i"})
"""Expression parts that are the only expression asked in their letter (letter placement is unambiguous)."""

_ANNOUNCED = "expression announced in the text"
_WRT_PHRASE = re.compile(r"(?:with respect to|w\.r\.t\.?|wrt)\s+(?:the\s+\w+\s+)?(?P<var>§+)(?![^§]*"
                         r"(?:with respect to|w\.r\.t))", re.I)
_CASE_JOINERS = frozenset({"for", "when", "if", "and", ",", ";", "or", "while", "whereas"})
NO_MARKERS = ("no part markers such as '(b)', 'Q1 (c)', '## d)' or '1(e)' were found in this document, so its "
              "answers cannot be attributed to parts; a TA must read it")

_ROMAN_OF = {"b.i": "i", "h.i.vc": "i", "h.i.uo": "i", "h.i.uws": "i", "j.i": "i", "j.ii": "ii", "j.iii": "iii"}




def _is_case_condition(cond) -> bool:
    """A condition that picks a case of a part (``w = o``, ``x < 0``, ``otherwise``), not a statement."""
    from grader.written.locate.equations import _is_index_side
    from grader.written.parse import And, Rel, Text

    if isinstance(cond, Text):
        return True
    rels = cond.items if isinstance(cond, And) else (cond,)
    return all(isinstance(r, Rel) and (r.op in ("in", "notin") or _is_index_side(r.left) and _is_index_side(r.right))
               for r in rels)


_GAVE_UP = re.compile(r"\b(?:ran out of time|run out of time|out of time|no time (?:left|for)|did(?: not|n't) "
                      r"(?:have time|finish|get to|manage)|could(?: not|n't) (?:finish|solve|do)|not attempted|"
                      r"(?:I )?skipped|not finished|unfinished|I do(?: not|n't) know)\b", re.I)


def _gave_up(prose: str) -> Optional[str]:
    """The phrase in which the student says a part is not answered ("I ran out of time here"), if any."""
    m = _GAVE_UP.search(prose)
    return m.group(0) if m else None


def _case_of(feq: FoundEquation):
    """The case condition of an expression: its own, else the one stated just before or after it."""
    cond = feq.eq.condition or feq.lead_condition or feq.trail_condition
    return cond if cond is not None and _is_case_condition(cond) else None


def _label(letter: str, roman: Optional[str]) -> str:
    return f"({letter})" + (f"({roman})" if roman else "")


def _related(part: str, other: str) -> bool:
    groups = [{"h.i.uws", "i", "h.i.uo"}, {"b.i", "h.i.vc"}, {"d", "h.i.uo"}, {"e", "j.i"}]
    return part == other or any(part in g and other in g for g in groups)


def _shown(cands: list[Candidate]) -> str:
    """Plain-text rendering of the candidates (with their case conditions)."""
    out = []
    for c in cands:
        body = to_text(c.node) if not isinstance(c.node, str) else render_text(c.latex)
        if c.wrt is not None:
            body = f"∂/∂{to_text(c.wrt)}: {body}"
        if c.condition is not None:
            body += f"  (if {to_text(c.condition)})"
        out.append(body)
    return " ; ".join(out)


def _raw_latex(cands: list[Candidate]) -> str:
    return " ; ".join(c.written or c.latex for c in cands)




def _could_be_answer(feq: FoundEquation) -> bool:
    """An unrouted equation that may be the answer: a derivative LHS we could not place, or a bare expression."""
    eq = feq.eq
    if feq.continues:
        return True
    if len(eq.segments) == 1:
        if isinstance(eq.final, Deriv) and _loss_of(eq.final_latex) is not None:
            return False  # "(i) ∂J_{skip-gram}/∂U": the quantity asked, copied from the question
        return feq.display or feq.cue or feq.standalone or feq.roman is not None
    lhs = eq.lhs
    return isinstance(lhs, str) or isinstance(lhs, Deriv) or (isinstance(lhs, Call) and lhs.fn == "dsigma") or (
        isinstance(lhs, FnApp) and lhs.head.name in ("f", "g") and "'" in eq.segments[0])


def _bare_expression(answer: str):
    """A short plain-text answer that is an expression (``0``, ``U(yhat - y)``), parsed; else None."""
    from grader.written.locate import ascii_to_latex
    from grader.written.parse import Sym as _Sym
    from grader.written.parse import parse_equation

    text = answer.strip().strip("*_`").strip()
    if not text or len(text) > 60 or "\n" in text or "$" in text or re.search(r"[A-Za-z]{4,}\s+[A-Za-z]{2,}", text):
        return None
    if is_placeholder(text) and not re.fullmatch(r"[-+]?\s*0", text):
        return None
    try:
        eq = parse_equation(ascii_to_latex(text))
    except Exception:
        return None
    if len(eq.nodes) != 1 or isinstance(eq.final, str) or eq.condition is not None:
        return None
    if any(isinstance(n, _Sym) and n.name not in _BARE_SYMBOLS for n in walk(eq.final)):
        return None
    return eq


_BARE_SYMBOLS = {"U", "u", "v", "y", "yhat", "x", "alpha", "o", "c", "w", "s", "k", "K", "j", "m", "t"}


def _only_labels(prose: str) -> bool:
    """Prose made only of short labels such as 'Equivalent to (b):'."""
    sentences = [s for s in re.split(r"(?<=[.:!?])\s+", prose) if s.strip()]
    return all(len(s.split()) <= 4 for s in sentences)


def _substantive(prose: str) -> bool:
    return len(prose.split()) >= 6 and not _only_labels(prose)
