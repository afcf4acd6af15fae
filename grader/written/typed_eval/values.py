"""Values of the typed evaluation and their arithmetic: errors (:class:`ShapeError`,
:class:`UnknownSymbol`, :class:`Unsupported`), literals, the all-ones and zero values, index
values, the :class:`Context` of one draw, and matmul/add/transpose/… that check shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np


class EvalError(Exception):
    """Base class: the expression has no value at this point."""


class ShapeError(EvalError):
    """The expression is ill-typed (incompatible shapes)."""


class UnknownSymbol(EvalError):
    """A symbol or index with no meaning in this part."""


class Unsupported(EvalError):
    """A construct the evaluator does not handle (routes to a human)."""


class Lit(float):
    """A number literal (may be broadcast when added to a vector: ``1 - σ(…)``)."""


@dataclass(frozen=True)
class OnesVal:
    """The ones vector 𝟏 with unknown length; ``row`` after a transpose."""

    row: bool = False


@dataclass(frozen=True)
class ZeroVal:
    """A literal zero: equal to a zero of any shape."""


ZERO = ZeroVal()
Value = Union[float, np.ndarray, OnesVal, ZeroVal]


@dataclass(frozen=True)
class IndexVal:
    """Value of an index variable: ``kind`` ∈ word / neg (sample position) / win (window position)."""

    kind: str
    word: int
    pos: int = 0
    offset: int = 0


@dataclass
class Context:
    """Everything the evaluator needs for one (draw, case).

    ``point`` is a :class:`reference.derivations.HandoutPoint`; ``family`` is
    'naive', 'neg', 'skip' or 'scalar' (default domain of unbounded sums);
    ``free`` binds the part's free indices; ``reference(part, **changes)``
    returns the reference gradient at the point with fields replaced (used for
    ∂J(…)/∂U symbols in parts e and j); ``notes`` collects interpretation
    choices worth telling the TA.
    """

    point: object
    family: str
    free: dict = field(default_factory=dict)
    row_convention: bool = False
    reference: Optional[Callable[..., np.ndarray]] = None
    forbid: frozenset = frozenset()  # constructs that would make the answer circular ('dsigma', 'f')
    notes: set = field(default_factory=set)

    @property
    def dims(self) -> dict[int, str]:
        p = self.point
        return {p.d: "d", p.V: "|V|", p.K: "K"}


# --------------------------------------------------------------------------- shapes and arithmetic


def shape_name(value: Value, ctx: Context) -> str:
    """Human description of a value's type, e.g. ``(d×|V|)`` or ``scalar``."""
    if isinstance(value, np.ndarray):
        return "(" + "×".join(ctx.dims.get(n, "1" if n == 1 else str(n)) for n in value.shape) + ")"
    if isinstance(value, OnesVal):
        return "𝟏ᵀ" if value.row else "𝟏"
    return "scalar"


def _is_scalar(v: Value) -> bool:
    return isinstance(v, (float, int, ZeroVal))


def _scalar(v: Value) -> float:
    return 0.0 if isinstance(v, ZeroVal) else float(v)


def _squeeze(a: np.ndarray) -> Value:
    return float(a[0, 0]) if a.shape == (1, 1) else a


def _ones_like_for(ones: OnesVal, other: np.ndarray, as_left: bool) -> np.ndarray:
    """Materialise 𝟏 so that ``ones @ other`` (as_left) or ``other @ ones`` is defined."""
    if ones.row:
        if as_left:
            return np.ones((1, other.shape[0]))
        raise ShapeError("cannot infer the length of 𝟏ᵀ on the right of a product")
    if not as_left:
        return np.ones((other.shape[1], 1))
    raise ShapeError("cannot infer the length of 𝟏 on the left of a product")


def matmul(a: Value, b: Value, ctx: Context) -> Value:
    """Written-order product: scalar scaling or a matrix product (1×1 → scalar)."""
    if isinstance(a, ZeroVal) or isinstance(b, ZeroVal):
        return ZERO
    if _is_scalar(a) and _is_scalar(b):
        return _scalar(a) * _scalar(b)
    if isinstance(a, OnesVal) and isinstance(b, np.ndarray):
        a = _ones_like_for(a, b, True)
    if isinstance(b, OnesVal) and isinstance(a, np.ndarray):
        b = _ones_like_for(b, a, False)
    if isinstance(a, OnesVal) or isinstance(b, OnesVal):
        raise Unsupported("𝟏 used with a scalar: its length is unknown")
    if _is_scalar(a):
        return _scalar(a) * b
    if _is_scalar(b):
        return a * _scalar(b)
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"product {shape_name(a, ctx)}·{shape_name(b, ctx)} is undefined")
    return _squeeze(a @ b)


def add(a: Value, b: Value, ctx: Context) -> Value:
    """Sum of two values of the same shape (a literal number broadcasts over a vector)."""
    if isinstance(a, ZeroVal):
        return b
    if isinstance(b, ZeroVal):
        return a
    if isinstance(a, OnesVal) and isinstance(b, np.ndarray):
        a = np.ones(b.shape)
    if isinstance(b, OnesVal) and isinstance(a, np.ndarray):
        b = np.ones(a.shape)
    if isinstance(a, OnesVal) or isinstance(b, OnesVal):
        raise Unsupported("𝟏 added to a scalar")
    if _is_scalar(a) and _is_scalar(b):
        return _scalar(a) + _scalar(b)
    if _is_scalar(a) or _is_scalar(b):
        lit = a if _is_scalar(a) else b
        if isinstance(lit, Lit):
            return _scalar(a) + b if _is_scalar(a) else a + _scalar(b)
        arr = b if _is_scalar(a) else a
        raise ShapeError(f"sum of a scalar and a {shape_name(arr, ctx)} matrix")
    if a.shape != b.shape:
        raise ShapeError(f"sum {shape_name(a, ctx)} + {shape_name(b, ctx)} is undefined")
    return a + b


def negate(a: Value) -> Value:
    if isinstance(a, (ZeroVal,)):
        return a
    if isinstance(a, OnesVal):
        raise Unsupported("−𝟏 with unknown length")
    return -a


def hadamard(a: Value, b: Value, ctx: Context) -> Value:
    """Element-wise product (𝟏 takes the other operand's shape; a scalar scales)."""
    if isinstance(a, ZeroVal) or isinstance(b, ZeroVal):
        return ZERO
    if isinstance(a, OnesVal) and isinstance(b, np.ndarray):
        return b.copy()
    if isinstance(b, OnesVal) and isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, OnesVal) or isinstance(b, OnesVal):
        raise Unsupported("𝟏∘scalar")
    if _is_scalar(a) or _is_scalar(b):
        return matmul(a, b, ctx)
    if a.shape != b.shape:
        raise ShapeError(f"element-wise product {shape_name(a, ctx)}∘{shape_name(b, ctx)} is undefined")
    return a * b


def transpose(a: Value) -> Value:
    if isinstance(a, np.ndarray):
        return a.T
    if isinstance(a, OnesVal):
        return OnesVal(not a.row)
    return a


def divide(a: Value, b: Value, ctx: Context) -> Value:
    if not _is_scalar(b):
        raise ShapeError(f"division by a {shape_name(b, ctx)} matrix")
    den = _scalar(b)
    if den == 0:
        raise Unsupported("division by zero at the evaluation point")
    if isinstance(a, ZeroVal):
        return ZERO
    if isinstance(a, OnesVal):
        raise Unsupported("𝟏 / scalar")
    return a / den if isinstance(a, np.ndarray) else _scalar(a) / den


def _elementwise(fn: Callable[[np.ndarray], np.ndarray], a: Value) -> Value:
    if isinstance(a, OnesVal):
        raise Unsupported("function of 𝟏")
    if isinstance(a, np.ndarray):
        return fn(a)
    return float(fn(np.array(_scalar(a))))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
