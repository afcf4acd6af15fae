"""Case conditions at the token level: where a trailing condition starts (``expr, \\text{if } w = o``,
``expr \\quad (w ≠ o)``), explanatory clauses and type annotations to drop, and index ranges
(``k = 1, …, K``), which are not cases.  Parsing a condition into a relation is the grammar's
(:func:`grader.written.parse.grammar.parse_condition`).
"""

from __future__ import annotations

import re

from grader.written.parse.tokens import RELATION_CMDS, Tok, _strip_punct

_COND_WORDS = re.compile(r"^(?:if|for|when|whenever|provided|in case|in the case)\b", re.I)


_WHERE_WORDS = re.compile(r"^(?:where|with|since|because|as|note|here|and|which|i\.e\.|so|since)\b", re.I)


_OTHERWISE = re.compile(r"^(?:otherwise|else|o\.?\s*w\.?|elsewhere|all other(?: cases| words)?)$", re.I)



def _is_cond_text(t: Tok) -> bool:
    return t.kind == "text" and bool(_COND_WORDS.match(t.value.strip()) or _is_otherwise(t))


def _is_otherwise(t: Tok) -> bool:
    return t.kind == "text" and bool(_OTHERWISE.match(t.value.strip(" .,:")))


def _drop_where_clause(toks: list[Tok]) -> list[Tok]:
    """Drop a trailing explanatory clause: ``…, \\text{where } U ∈ ℝ^{d×V}``."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and k > 0 and t.kind == "text" and _WHERE_WORDS.match(t.value.strip()):
            return _strip_punct(toks[:k])
    return toks


_SHAPE_LETTERS = {"d", "V", "K", "N", "n", "m"}


def _drop_annotations(toks: list[Tok]) -> list[Tok]:
    """Drop a trailing type annotation: ``… \\in \\mathbb{R}^{d×|V|}`` or ``… \\quad (d × 1)``."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and k > 0 and t.kind == "cmd" and t.value == "in" and k + 1 < len(toks):
            nxt = toks[k + 1]
            if (nxt.kind == "cmd" and nxt.value == "mathbb") or (nxt.kind == "letter" and nxt.value == "R"):
                return _strip_punct(toks[:k])
    if len(toks) > 2 and toks[-1].kind == ")":
        start = _matching_open(toks, len(toks) - 1)
        inner = toks[start + 1 : -1]
        if start > 0 and any(t.kind == "cmd" and t.value == "times" for t in inner) and all(
            t.kind in ("num", "|") or (t.kind == "cmd" and t.value == "times")
            or (t.kind == "letter" and t.value in _SHAPE_LETTERS) for t in inner
        ):
            head = toks[:start]
            while head and head[-1].kind == "cmd" and head[-1].value in ("quad", "qquad"):
                head = head[:-1]
            return _strip_punct(head)
    return toks


_RANGE = re.compile(
    r"^(?:\\forall)?[a-z](?:=1,?(?:(?:\\[lc]?dots|\.{2,3}|…),?)?(?:K|\|V\|)"
    r"|\\in(?:\[|\\\{)1,?(?:\\ldots,?)?(?:K|\|V\|)(?:\]|\\\})|\\in\[K\]|\\in(?:V|\\text\{Vocab\}))$"
    r"|^1(?:\\leq?|<=)[a-z](?:\\leq?|<=)K$"
)


def _is_range(text: str) -> bool:
    """``k = 1, …, K``, ``s ∈ [1, K]``, ``w ∈ V``: the range of an index, not a case condition."""
    return bool(_RANGE.match(re.sub(r"\s+|\\q?quad", "", text)))


def _short_condition(rest: list[Tok]) -> bool:
    """A plausible case condition: short, with a relation, no second equation."""
    body = [t for t in rest if t.kind not in ("text", "cmd") or t.value not in ("quad", "qquad")]
    return 0 < len(body) <= 12 and _has_relation(rest)


def split_trailing_condition(toks: list[Tok]) -> tuple[list[Tok], list[Tok]]:
    """Split ``expr, \\text{if } w = o`` / ``expr \\quad (w ≠ o)`` into value and condition tokens."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth != 0 or k == 0:
            continue
        if _is_cond_text(t) and _short_condition(toks[k:]) or _is_otherwise(t):
            return toks[:k], toks[k:]
        is_sep = t.kind in (",", ";") or (t.kind == "cmd" and t.value in ("quad", "qquad"))
        if is_sep and _short_condition(toks[k + 1 :]):
            return toks[:k], toks[k + 1 :]
    if toks and toks[-1].kind == ")":
        start = _matching_open(toks, len(toks) - 1)
        if start > 0 and _has_relation(toks[start + 1 : -1], top_only=True):
            return toks[:start], toks[start + 1 : -1]
    return toks, []


def _matching_open(toks: list[Tok], close: int) -> int:
    depth = 0
    for k in range(close, -1, -1):
        if toks[k].kind == ")":
            depth += 1
        elif toks[k].kind == "(":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _has_relation(toks: list[Tok], top_only: bool = False) -> bool:
    depth = 0
    for t in toks:
        if t.kind in ("{", "(", "[", "lset"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset"):
            depth -= 1
        if top_only and depth:
            continue
        if t.kind in ("=", "<", ">") or (t.kind == "cmd" and t.value in RELATION_CMDS):
            return True
        if t.kind == "text" and (_OTHERWISE.match(t.value.strip(" .,:")) or re.search(r"[=<>]", t.value)):
            return True
    return False
