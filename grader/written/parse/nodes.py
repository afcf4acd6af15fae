"""The answer tree: one frozen dataclass per construct (symbols, products, transposes, sums, σ, cases …),
and :func:`walk` / :func:`transform` over it.  No algebra: the tree keeps the student's order of factors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Union


class ParseError(ValueError):
    """The fragment is outside the grammar (message says where and why)."""


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Sym:
    """A symbol with an optional subscript: ``u_o`` is ``Sym('u', Sym('o'))``; ``ŷ`` is ``Sym('yhat')``."""

    name: str
    sub: Optional[Node] = None


@dataclass(frozen=True)
class Ones:
    """The all-ones vector ``𝟏`` (length taken from its context)."""


@dataclass(frozen=True)
class Zero:
    """A literal zero (scalar ``0`` or bold ``𝟎``): equal to a zero of any shape."""


@dataclass(frozen=True)
class Dots:
    """An ellipsis (``\\ldots``, ``\\cdots`` …) inside a matrix or list."""


@dataclass(frozen=True)
class Text:
    """Text (``\\text{…}``): loss names in subscripts, 'otherwise' in conditions."""

    text: str


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Add:
    """``left + right`` (subtraction is ``Add(a, Neg(b))``)."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Mul:
    """Product in written order: juxtaposition, ``\\cdot``, ``\\times`` or ``*``."""

    left: Node
    right: Node


@dataclass(frozen=True)
class CDot:
    """``a \\cdot b``: a product, or the dot product when both sides are vectors of one shape."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Had:
    """Element-wise product (``\\circ``, ``\\odot``)."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Div:
    num: Node
    den: Node


@dataclass(frozen=True)
class Pow:
    base: Node
    exponent: Node


@dataclass(frozen=True)
class T:
    """Transpose."""

    arg: Node


@dataclass(frozen=True)
class Call:
    """Known function: ``sigma``, ``dsigma`` (σ'), ``exp``, ``log``, ``max``, ``min``, ``abs``."""

    fn: str
    args: tuple


@dataclass(frozen=True)
class FnApp:
    """A named function applied to arguments: ``J_{neg-sample}(v_c, o, U)``, ``f(x)``, ``P(O=o|C=c)``."""

    head: Sym
    args: tuple


@dataclass(frozen=True)
class Sum:
    """``\\sum_{sub}^{sup} body``; ``sub`` holds the items of the subscript (index, bounds, conditions)."""

    sub: tuple
    sup: Optional[Node]
    body: Node


@dataclass(frozen=True)
class Rel:
    """A relation ``left op right``; op ∈ {'=', '!=', '<', '>', '<=', '>=', 'in', 'notin'}."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Iverson:
    """``[cond]``, ``𝟙[cond]``, ``𝟙_{cond}``, ``δ_{wo}``: 1 when ``cond`` holds, else 0."""

    cond: Node


@dataclass(frozen=True)
class Cases:
    """``\\begin{cases}``: pieces ``(value, condition)``; condition ``None`` = otherwise."""

    pieces: tuple


@dataclass(frozen=True)
class Matrix:
    """Rows of entries (entries side by side are concatenated horizontally)."""

    rows: tuple


@dataclass(frozen=True)
class SetLit:
    items: tuple


@dataclass(frozen=True)
class SetBuilder:
    """``\\{k : w_k = w_s\\}``: the values of ``var`` satisfying ``conds`` (its domain is decided by the evaluator)."""

    var: Node
    conds: tuple


@dataclass(frozen=True)
class Deriv:
    """A derivative ``∂fn/∂wrt``; ``fn`` is None for an operator ``∂/∂x`` with nothing after it."""

    fn: Optional[Node]
    wrt: Node


Node = Union[
    Num, Sym, Ones, Zero, Dots, Text, Neg, Add, Mul, CDot, Had, Div, Pow, T, Call, FnApp, Sum, Rel, And,
    Iverson, Cases, Matrix, SetLit, SetBuilder, Deriv,
]


def walk(node: object):
    """All AST nodes below and including ``node`` (pre-order)."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
        return
    if not dataclasses.is_dataclass(node):
        return
    yield node
    for f in dataclasses.fields(node):
        yield from walk(getattr(node, f.name))


def transform(node: object, fn: Callable[[object], object | None]) -> object:
    """Bottom-up rewrite: ``fn(n)`` returns a replacement or None to keep ``n``."""
    if isinstance(node, tuple):
        return tuple(transform(item, fn) for item in node)
    if not dataclasses.is_dataclass(node):
        return node
    changes = {f.name: transform(getattr(node, f.name), fn) for f in dataclasses.fields(node)}
    rebuilt = dataclasses.replace(node, **changes) if changes else node
    out = fn(rebuilt)
    return rebuilt if out is None else out
