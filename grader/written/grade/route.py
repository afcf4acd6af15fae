"""Content routing: which handout part an equation answers, from what it differentiates — the variable
on the left-hand side (∂/∂v_c, ∂/∂u_w, ∂/∂U, d/dx), the loss named in it (``J_{neg-sample}``) and the
right-hand side (σ ⇒ negative sampling, ``w_{t+j}`` ⇒ skip-gram) — looked up in the handouts' data
(:func:`grader.written.handouts.quantity_parts`); and the kind of question an expression answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from grader.written.handouts import quantity_parts
from grader.written.locate import (
    Block,
    Document,
    FoundEquation,
)
from grader.written.parse import Call, Deriv, FnApp, Node, Sum, Sym, to_text, walk

# --------------------------------------------------------------------------- routing


@dataclass
class Route:
    """Where an equation goes: handout parts (``H_UWS`` = h.i.uws or i, decided per block) and why."""

    parts: tuple
    why: str
    wrt: Optional[Node] = None


def _loss_of(latex: str) -> Optional[str]:
    low = latex.lower()
    if re.search(r"neg|ns\b", low):
        return "neg"
    if re.search(r"skip|sg\b", low):
        return "skip"
    if re.search(r"naive|softmax", low):
        return "naive"
    return None


def _rhs_family(node) -> Optional[str]:
    if isinstance(node, str):
        return None
    nodes = list(walk(node))
    if any(isinstance(n, Deriv) and "t + j" in to_text(n) for n in nodes) or any(
        isinstance(n, Sum) and _window_sum(n) for n in nodes
    ):
        return "skip"
    if any(isinstance(n, Call) and n.fn in ("sigma", "dsigma") for n in nodes):
        return "neg"
    if any(isinstance(n, Sym) and n.name in ("yhat", "y", "U") for n in nodes) or any(
        isinstance(n, Call) and n.fn == "exp" for n in nodes
    ):
        return "naive"
    return None


def _window_sum(node: Sum) -> bool:
    return any("j" in to_text(item) and "m" in to_text(item) for item in node.sub)


def _block_family(doc: Document, block: Block) -> Optional[str]:
    text = doc.text[block.start : block.end].lower()
    if re.search(r"skip-?gram|w_\{t\+j\}|w_\{t-m\}", text):
        return "skip"
    if re.search(r"negative sampl|neg-?sampl|neg\}|text\s*\{\s*-\s*sample", text):
        return "neg"
    if re.search(r"naive|softmax", text):
        return "naive"
    return None


def _wrt_kind(wrt) -> Optional[str]:
    if wrt == Sym("U"):
        return "U"
    if wrt == Sym("x"):
        return "x"
    if not isinstance(wrt, Sym) or wrt.sub is None:
        return None
    sub = wrt.sub
    if wrt.name == "v":
        return "vc" if sub == Sym("c") else "vw"
    if wrt.name != "u":
        return None
    if sub in (Sym("o"),):
        return "uo"
    if sub == Sym("w"):
        return "uw"
    if isinstance(sub, Sym) and sub.name == "w" and sub.sub is not None:
        return "uws"
    if isinstance(sub, Sym) and sub.sub is None and sub.name in ("k", "s", "i", "j", "n", "l"):
        return "uk"
    return None


def _fn_kind(fn) -> Optional[str]:
    if isinstance(fn, Call) and fn.fn in ("sigma", "dsigma"):
        return "sigmoid"
    if isinstance(fn, Call) and fn.fn == "max":
        return "leaky"
    if isinstance(fn, (FnApp, Sym)):
        head = fn.head if isinstance(fn, FnApp) else fn
        if head.name == "f":
            return "leaky"
        if head.name in ("J", "L"):
            return "J"
    return None


def route(feq: FoundEquation, block_family: Optional[str]) -> Optional[Route]:
    """Content routing of one equation with a derivative on its left-hand side (None if not one)."""
    eq = feq.eq
    lhs = eq.lhs
    if isinstance(lhs, Call) and lhs.fn == "dsigma":
        return Route(("g",), "σ′(x)", Sym("x"))
    if not isinstance(lhs, Deriv):
        return None
    kind, fn = _wrt_kind(lhs.wrt), _fn_kind(lhs.fn)
    loss = _loss_of(eq.segments[0]) or _rhs_family(eq.final) or block_family
    if kind == "x":
        rhs = eq.final
        has_alpha = not isinstance(rhs, str) and any(n == Sym("alpha") for n in walk(rhs))
        if fn == "leaky" or (fn is None and has_alpha):
            return Route(("f",), "d/dx of the Leaky ReLU", lhs.wrt)
        if fn == "sigmoid" or _rhs_family(rhs) == "neg":
            return Route(("g",), "dσ/dx", lhs.wrt)
        return None
    return _route_vector(kind, loss, lhs.wrt)


def _route_vector(kind: Optional[str], loss: Optional[str], wrt) -> Optional[Route]:
    parts = quantity_parts(kind, loss)
    if parts is None:
        return None
    names = {"naive": "naive softmax", "neg": "negative sampling", "skip": "skip-gram"}
    return Route(parts, f"∂/∂{to_text(wrt)}, {names[loss] if loss else 'skip-gram'}", wrt)




_VECTOR_SYMBOLS = frozenset({"u", "v", "U", "y", "yhat"})


def _answer_family(node) -> Optional[str]:
    """The kind of question an expression answers: 'scalar' (f, g), 'neg', 'naive', 'skip', or None."""
    if isinstance(node, str):
        return None
    nodes = list(walk(node))
    if any(isinstance(n, Deriv) for n in nodes) or any(isinstance(n, Sum) and _window_sum(n) for n in nodes):
        return "skip" if _rhs_family(node) == "skip" else None
    if not any(isinstance(n, Sym) and n.name in _VECTOR_SYMBOLS for n in nodes):
        return "scalar"
    return _rhs_family(node)


def _inner_wrt(node) -> Optional[str]:
    """``"U"`` / ``"vc"`` when every derivative inside ``node`` is with respect to U / v_c, else None."""
    if isinstance(node, str):
        return None
    kinds = {_wrt_kind(n.wrt) for n in walk(node) if isinstance(n, Deriv)}
    return kinds.pop() if len(kinds) == 1 and kinds <= {"U", "vc"} else None
