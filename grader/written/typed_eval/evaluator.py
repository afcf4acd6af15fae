"""The typed tree walk (:class:`Evaluator`): every node kind of :mod:`grader.written.parse.nodes`
evaluated at a :class:`~grader.written.typed_eval.values.Context`, with sums bound by their index
conditions (vocabulary, samples, window).  One visitor that reads top to bottom — one method per
node kind plus the helpers for sum bounds — so it stays one module over 400 lines.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Optional, Union

import numpy as np

from grader.written.parse import (
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
    Num,
    Ones,
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
)
from grader.written.typed_eval.values import (
    ZERO,
    Context,
    IndexVal,
    Lit,
    OnesVal,
    ShapeError,
    UnknownSymbol,
    Unsupported,
    Value,
    ZeroVal,
    _elementwise,
    _is_scalar,
    _scalar,
    _squeeze,
    add,
    divide,
    hadamard,
    matmul,
    negate,
    shape_name,
    sigmoid,
    transpose,
)

# --------------------------------------------------------------------------- evaluator


def column(vec: np.ndarray) -> np.ndarray:
    """A 1-D array as a column; 2-D arrays unchanged."""
    vec = np.asarray(vec, float)
    return vec.reshape(-1, 1) if vec.ndim == 1 else vec


class Evaluator:
    """Evaluate one tree under a :class:`Context` (``env`` holds bound sum variables)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        p = ctx.point
        self.p = p
        scores = p.U.T @ p.v_c
        e = np.exp(scores - scores.max())
        self.yhat = column(e / e.sum())
        self.y = np.zeros((p.V, 1))
        self.y[p.o, 0] = 1.0

    def value(self, node, env: Optional[dict] = None) -> Value:
        method = getattr(self, "ev_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"cannot evaluate {type(node).__name__.lower()} here")
        return method(node, env or {})

    # -- leaves
    def ev_Num(self, node: Num, env: dict) -> Value:
        return Lit(node.value)

    def ev_Zero(self, node: Zero, env: dict) -> Value:
        return ZERO

    def ev_Ones(self, node: Ones, env: dict) -> Value:
        return OnesVal()

    def ev_Sym(self, node: Sym, env: dict) -> Value:
        name, sub = node.name, node.sub
        p = self.p
        if sub is None:
            return self._plain_symbol(name, env)
        if name == "u":
            return column(p.U[:, self.word(sub, env)])
        if name == "v":
            return column(p.Vc[:, self.word(sub, env)])
        if name == "y":
            return float(self.y[self.word(sub, env), 0])
        if name == "yhat":
            return float(self.yhat[self.word(sub, env), 0])
        raise UnknownSymbol(f"unknown symbol {name} with a subscript")

    def _plain_symbol(self, name: str, env: dict) -> Value:
        ctx = self.ctx
        if name == "U":
            return self.p.U.T.copy() if ctx.row_convention else self.p.U.copy()
        if name == "y":
            return self.y.copy()
        if name == "yhat":
            return self.yhat.copy()
        if ctx.family == "scalar" and name == "x":
            return float(self.p.x)
        if ctx.family == "scalar" and name == "alpha":
            return float(self.p.alpha)
        if ctx.family == "neg" and name == "K" and name not in env:
            return float(self.p.K)  # the number of negative samples
        if ctx.family == "skip" and name == "m" and name not in env:
            return float(len(self.p.window) // 2)  # the window size
        if name in env or name in ctx.free:
            raise Unsupported(f"index {name} used as a number")
        if name.startswith("hat:"):
            raise UnknownSymbol(f"unknown symbol {name[4:]}̂")
        raise UnknownSymbol(f"unknown symbol {name}")

    # -- indices
    def index(self, node, env: dict) -> IndexVal:
        """The :class:`IndexVal` of an index expression (``o``, ``w``, ``w_s``, ``k``, ``w_{t+j}``, ``3``)."""
        p, ctx = self.p, self.ctx
        if isinstance(node, Sym) and node.sub is None:
            name = node.name
            if name in env:
                return env[name]
            if name in ctx.free:
                return ctx.free[name]
            if name == "o":
                return IndexVal("word", p.o)
            if name == "c":
                return IndexVal("word", p.c)
            raise UnknownSymbol(f"index {name} is not bound (which word is it?)")
        if isinstance(node, Sym) and node.name == "w":
            inner = self._window_offset(node.sub, env)
            if inner is not None:
                return inner
            iv = self.index(node.sub, env)
            return IndexVal("word", iv.word)
        if isinstance(node, (Num, Zero)):
            n = 0 if isinstance(node, Zero) else int(node.value)
            if n == 0:
                ctx.notes.add("read the subscript 0 as o")
                return IndexVal("word", p.o)
            if n != node.value or not 1 <= n <= p.V:
                raise Unsupported(f"word number {node.value:g} outside the vocabulary")
            return IndexVal("word", n - 1)
        raise Unsupported("index expression not understood")

    def _window_offset(self, sub, env: dict) -> Optional[IndexVal]:
        """``w_{t+j}`` with ``j`` bound to a window position."""
        if isinstance(sub, Add) and sub.left == Sym("t") and isinstance(sub.right, Sym):
            iv = self.index(sub.right, env)
            if iv.kind != "win":
                raise Unsupported("w_{t+j} outside a sum over the window")
            return IndexVal("word", iv.word)
        return None

    def word(self, sub, env: dict) -> int:
        return self.index(sub, env).word

    # -- operators
    def ev_Neg(self, node: Neg, env: dict) -> Value:
        return negate(self.value(node.arg, env))

    def ev_Add(self, node: Add, env: dict) -> Value:
        return add(self.value(node.left, env), self.value(node.right, env), self.ctx)

    def ev_Mul(self, node: Mul, env: dict) -> Value:
        return matmul(self.value(node.left, env), self.value(node.right, env), self.ctx)

    def ev_CDot(self, node: CDot, env: dict) -> Value:
        left, right = self.value(node.left, env), self.value(node.right, env)
        if isinstance(left, np.ndarray) and isinstance(right, np.ndarray) and left.shape == right.shape \
                and 1 in left.shape and left.shape != (1, 1):
            return float(np.sum(left * right))
        return matmul(left, right, self.ctx)

    def ev_Had(self, node: Had, env: dict) -> Value:
        return hadamard(self.value(node.left, env), self.value(node.right, env), self.ctx)

    def ev_Div(self, node: Div, env: dict) -> Value:
        return divide(self.value(node.num, env), self.value(node.den, env), self.ctx)

    def ev_T(self, node: T, env: dict) -> Value:
        return transpose(self.value(node.arg, env))

    def ev_Pow(self, node: Pow, env: dict) -> Value:
        base = self.value(node.base, env)
        expo = self.value(node.exponent, env)
        if not (_is_scalar(base) and _is_scalar(expo)):
            raise ShapeError(f"power of a {shape_name(base, self.ctx)} matrix")
        b, e = _scalar(base), _scalar(expo)
        if b < 0 and e != int(e):
            raise Unsupported("fractional power of a negative number")
        if b == 0 and e < 0:
            raise Unsupported("division by zero at the evaluation point")
        return b**e

    def ev_Call(self, node: Call, env: dict) -> Value:
        fn = node.fn
        if fn in self.ctx.forbid:
            raise Unsupported("the answer is written with the function it should differentiate")
        if fn == "abs" and len(node.args) == 1 and isinstance(node.args[0], SetBuilder):
            return float(self.count(node.args[0], env))
        args = [self.value(a, env) for a in node.args]
        if fn == "sigma":
            return _elementwise(sigmoid, args[0])
        if fn == "dsigma":
            return _elementwise(lambda z: sigmoid(z) * (1 - sigmoid(z)), args[0])
        if fn == "exp":
            return _elementwise(np.exp, args[0])
        if fn == "log":
            return _elementwise(np.log, args[0])
        if fn in ("max", "min"):
            if not all(_is_scalar(a) for a in args):
                raise Unsupported(f"{fn} of vectors")
            vals = [_scalar(a) for a in args]
            return max(vals) if fn == "max" else min(vals)
        if fn == "abs":
            if isinstance(node.args[0], SetBuilder):
                return float(self.count(node.args[0], env))
            if not _is_scalar(args[0]):
                raise Unsupported("|·| of a vector")
            return abs(_scalar(args[0]))
        raise Unsupported(f"function {fn}")

    def ev_FnApp(self, node: FnApp, env: dict) -> Value:
        head = node.head.name
        if head == "P" and node.args and isinstance(node.args[0], Text):
            m = re.match(r"O\s*=\s*([A-Za-z])\s*\|\s*C\s*=\s*c$", node.args[0].text)
            if m:
                return float(self.yhat[self.word(Sym(m.group(1)), env), 0])
        raise Unsupported(f"the answer uses {head}(…) itself")

    def ev_Iverson(self, node: Iverson, env: dict) -> Value:
        return 1.0 if self.condition(node.cond, env) else 0.0

    def ev_Cases(self, node: Cases, env: dict) -> Value:
        for value, cond in node.pieces:
            if cond is None or isinstance(cond, Text) or self.condition(cond, env):
                return self.value(value, env)
        raise Unsupported("no case of the cases applies")

    def ev_Sum(self, node: Sum, env: dict) -> Value:
        var, domain, conds = self.sum_spec(node, env)
        total: Value = ZERO
        for iv in domain:
            inner = dict(env)
            inner[var] = iv
            if all(self.condition(c, inner) for c in conds):
                total = add(total, self.value(node.body, inner), self.ctx)
        return total

    def ev_Matrix(self, node: Matrix, env: dict) -> Value:
        rows = [list(r) for r in node.rows]
        if len(rows) > 1 and all(len(r) == 1 for r in rows):
            cells = self.expand([r[0] for r in rows], env)
            blocks = [[self._block(c, e)] for c, e in cells]
        else:
            blocks = [[self._block(c, e) for c, e in self.expand(r, env)] for r in rows]
        try:
            return _squeeze(np.vstack([np.hstack(r) for r in blocks]))
        except ValueError:
            raise ShapeError("blocks of the matrix do not fit together") from None

    def _block(self, node, env: dict) -> np.ndarray:
        value = self.value(node, env)
        if isinstance(value, (OnesVal, ZeroVal)):
            raise Unsupported("𝟏 or 0 as a matrix block")
        return np.array([[value]]) if _is_scalar(value) else value

    def ev_Deriv(self, node: Deriv, env: dict) -> Value:
        return self.per_term_gradient(node, env)

    # -- sums
    def count(self, node: SetBuilder, env: dict) -> int:
        """``|{k : w_k = w_s}|``: how many values of the index satisfy the conditions."""
        var, domain, conds = self.sum_spec(Sum((node,), None, Zero()), env)
        total = 0
        for iv in domain:
            inner = dict(env)
            inner[var] = iv
            total += all(self.condition(c, inner) for c in conds)
        return total

    def sum_spec(self, node: Sum, env: dict) -> tuple[str, list[IndexVal], list]:
        """``(variable, domain values, conditions)`` of a sum."""
        var, lower, conds, in_set = None, None, [], None
        items = []
        for item in node.sub:  # Σ_{\{k : w_k = w_s\}} and Σ_{k ∈ \{k : …\}}: the set builder's variable and conditions
            if isinstance(item, Rel) and item.op == "in" and isinstance(item.right, SetBuilder) \
                    and item.left == item.right.var:
                item = item.right
            if isinstance(item, SetBuilder):
                items.append(item.var)
                items.extend(item.conds)
            else:
                items.append(item)
        for item in items:
            if isinstance(item, Sym) and item.sub is None and var is None and not self._bound(item.name, env):
                var = item.name
            elif isinstance(item, Rel) and item.op == "=" and var is None and _free_letter(item.left, self, env):
                var, lower = item.left.name, item.right
            elif isinstance(item, Rel) and item.op == "in" and _free_letter(item.left, self, env):
                var, in_set = item.left.name, item.right
            elif isinstance(item, And) and _window_chain(item):
                var = _window_chain(item)
                lower = "window"
            else:
                conds.append(item)
        if var is None:
            var = self._window_variable(conds, env) or self._implicit_variable(conds, env)
        domain = self._domain(var, lower, node.sup, in_set, conds, env)
        return var, domain, conds

    def _bound(self, name: str, env: dict) -> bool:
        return name in env or name in self.ctx.free or name in ("o", "c")

    def _window_variable(self, conds: list, env: dict) -> Optional[str]:
        """``Σ_{j ≠ 0}`` in a skip-gram answer: ``j`` runs over the window."""
        if self.ctx.family != "skip":
            return None
        for cond in conds:
            if isinstance(cond, Rel) and cond.op == "!=" and isinstance(cond.right, Zero) \
                    and isinstance(cond.left, Sym) and cond.left.sub is None and not self._bound(cond.left.name, env):
                return cond.left.name
        return None

    def _implicit_variable(self, conds: list, env: dict) -> str:
        """``Σ_{w_k = w_s}``: the unbound letter used as a sample subscript."""
        names = []
        for cond in conds:
            for sub in _subscript_letters(cond):
                if not self._bound(sub, env) and sub not in names:
                    names.append(sub)
        if len(names) != 1:
            raise Unsupported("cannot tell which index the sum runs over")
        return names[0]

    def _domain(self, var: str, lower, sup, in_set, conds: list, env: dict) -> list[IndexVal]:
        p = self.p
        if in_set is not None and _is_sample_set(in_set):
            # Σ_{w ∈ {w_1, …, w_K}}: a sum over a *set* counts a repeated sample once
            words = list(dict.fromkeys(p.negatives))
            return [IndexVal("word", w, w) for w in words]
        if in_set is not None and _is_position_range(in_set):
            return [IndexVal("neg", w, k) for k, w in enumerate(p.negatives)]
        kind = _bound_kind(sup, lower, in_set)
        if kind is None and lower is None and sup is None and in_set is None:
            kind = self._default_kind(var, conds)
        if kind == "vocab":
            return [IndexVal("word", w, w) for w in range(p.V)]
        if kind == "neg":
            return [IndexVal("neg", w, k) for k, w in enumerate(p.negatives)]
        if kind == "window":
            if not any(_excludes_zero(c, var) for c in conds):
                raise Unsupported("the sum over the window does not exclude j = 0")
            conds[:] = [c for c in conds if not _excludes_zero(c, var)]
            m = len(p.window) // 2
            offsets = list(range(-m, 0)) + list(range(1, m + 1))
            return [IndexVal("win", w, k, offsets[k]) for k, w in enumerate(p.window)]
        raise Unsupported("cannot tell what the sum runs over")

    def _default_kind(self, var: str, conds: list) -> str:
        family = self.ctx.family
        if family == "skip" and var == "j":
            return "window"
        if var in ("w", "x") and family != "skip":
            if family == "neg":
                raise Unsupported(f"Σ_{var} without bounds in a negative-sampling answer")
            return "vocab"
        if family == "neg" and conds:
            return "neg"
        if family == "neg":
            self.ctx.notes.add(f"read Σ_{var} without bounds as a sum over the K negative samples")
            return "neg"
        if family == "naive":
            self.ctx.notes.add(f"read Σ_{var} without bounds as a sum over the vocabulary")
            return "vocab"
        raise Unsupported(f"cannot tell what Σ_{var} runs over")

    # -- conditions
    def condition(self, node, env: dict) -> bool:
        if isinstance(node, And):
            return all(self.condition(i, env) for i in node.items)
        if isinstance(node, Text):
            raise Unsupported(f"condition '{node.text}'")
        if not isinstance(node, Rel):
            raise Unsupported("a condition without a relation")
        if node.op in ("=", "!="):
            same = self.same(node.left, node.right, env)
            return same if node.op == "=" else not same
        if node.op in ("<", ">", "<=", ">="):
            a, b = self.number(node.left, env), self.number(node.right, env)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[node.op]
        raise Unsupported(f"condition with '{node.op}'")

    def same(self, a, b, env: dict) -> bool:
        """Equality of two indices/words (``w = o``, ``u_k = u_w``, ``k = s``) or numbers."""
        ia, ib = self._as_index(a, env), self._as_index(b, env)
        if ia is not None and ib is not None:
            bare = isinstance(a, Sym) and a.sub is None and isinstance(b, Sym) and b.sub is None
            if bare and ia.kind == ib.kind and ia.kind in ("neg", "win"):
                return ia.pos == ib.pos
            return ia.word == ib.word
        return math.isclose(self.number(a, env), self.number(b, env))

    def _as_index(self, node, env: dict) -> Optional[IndexVal]:
        if isinstance(node, Sym) and node.name in ("u", "v", "y", "yhat") and node.sub is not None:
            return self.index(node.sub, env)
        if isinstance(node, Sym) and (node.sub is None and node.name not in ("x", "alpha", "m", "K")
                                      or node.name == "w"):
            return self.index(node, env)
        return None

    def number(self, node, env: dict) -> float:
        if isinstance(node, Sym) and node.sub is None and (node.name in env or node.name in self.ctx.free):
            iv = env.get(node.name) or self.ctx.free[node.name]
            if iv.kind == "win":
                return float(iv.offset)
            raise Unsupported(f"index {node.name} compared with a number")
        value = self.value(node, env)
        if not _is_scalar(value):
            raise Unsupported("comparison of vectors")
        return _scalar(value)

    # -- per-term gradients (parts e and j)
    def per_term_gradient(self, node: Deriv, env: dict) -> Value:
        if self.ctx.reference is None:
            raise Unsupported("a derivative symbol in the answer")
        fn = node.fn
        if isinstance(fn, FnApp) and fn.head.name == "J":
            head_sub, args = fn.head.sub, fn.args
        elif isinstance(fn, Sym) and fn.name == "J":
            head_sub, args = fn.sub, ()
        else:
            raise Unsupported("a derivative of something other than J in the answer")
        if isinstance(head_sub, Text) and re.search(r"neg|skip", head_sub.text, re.I):
            raise Unsupported(f"∂J_{{{head_sub.text}}} inside the answer")
        wrt = node.wrt
        if not args and self.ctx.family == "naive" and isinstance(wrt, Sym) and wrt.name == "u" \
                and wrt.sub is not None:
            args = (Sym("v", Sym("c")), Sym("o"), Sym("U"))  # part e: ∂J/∂u_k is ∂J(v_c, o, U)/∂u_k
        if len(args) != 3:
            raise Unsupported("∂J/∂… without the arguments (v_c, outside word, U): which loss term is it?")
        outside = self.word(args[1], env)
        wrt = node.wrt
        ref = self.ctx.reference
        if wrt == Sym("U"):
            return column(ref("e", o=outside))
        if wrt == Sym("v", Sym("c")):
            return column(ref("b.i", o=outside))
        if isinstance(wrt, Sym) and wrt.name == "u" and wrt.sub is not None:
            w = self.word(wrt.sub, env)
            if w == outside:
                return column(ref("d.uo", o=outside))
            return column(ref("d.uw", o=outside, w=w))
        raise Unsupported("derivative with respect to an unexpected variable inside the answer")

    # -- ellipses
    def expand(self, items: list, env: dict) -> list[tuple[object, dict]]:
        """Expand ``a_1, a_2, …, a_{|V|}`` into one entry per vocabulary word."""
        if not any(isinstance(i, Dots) for i in items):
            return [(i, env) for i in items]
        k = items.index(Dots())
        head, tail = items[:k], items[k + 1 :]
        if len(tail) != 1 or not head or any(isinstance(i, Dots) for i in tail):
            raise Unsupported("an ellipsis that is not of the form a_1, …, a_{|V|}")
        template = _template(head[0], lambda s: isinstance(s, Num) and s.value == 1)
        if template is None:
            raise Unsupported("cannot see which index the ellipsis runs over")
        for n, item in enumerate(head[1:], start=2):
            if _instantiate(template, Num(float(n))) != item:
                raise Unsupported("the entries before the ellipsis do not follow one pattern")
        if _template(tail[0], _is_vocab_size) != template:
            raise Unsupported("the ellipsis does not end at |V|")
        out = []
        for w in range(self.p.V):
            inner = dict(env)
            inner["__k"] = IndexVal("word", w, w)
            out.append((template, inner))
        return out


def _template(node, is_index: Callable[[object], bool]):
    """Replace the subscripts satisfying ``is_index`` by the placeholder ``__k`` (None if none)."""
    found = []

    def rewrite(n):
        if isinstance(n, Sym) and n.sub is not None and is_index(n.sub):
            found.append(n)
            return Sym(n.name, Sym("__k"))
        return None

    out = transform(node, rewrite)
    return out if found else None


def _instantiate(template, value):
    return transform(template, lambda n: value if n == Sym("__k") else None)


def _is_vocab_size(node) -> bool:
    if isinstance(node, Call) and node.fn == "abs" and len(node.args) == 1:
        node = node.args[0]
    if isinstance(node, Sym) and node.sub is None and node.name in ("V", "N", "n"):
        return True
    return isinstance(node, Text) and node.text.strip().lower() in ("vocab", "v", "vocabulary")


def _bound_kind(sup, lower, in_set) -> Optional[str]:
    if lower == "window":
        return "window"
    if in_set is not None:
        if _is_vocab_size(in_set) or in_set in (Sym("V"), Text("Vocab")) or (
            isinstance(in_set, Text) and in_set.text.strip().lower().startswith("vocab")
        ):
            return "vocab"
        raise Unsupported("a sum over a set of words (duplicates?)")
    if sup is None:
        if lower is not None:
            raise Unsupported("a sum with a lower bound but no upper bound")
        return None
    from_one = lower is None or lower == Num(1.0)
    from_zero = isinstance(lower, Zero)
    if sup == Sym("K") and from_one or sup == Add(Sym("K"), Neg(Num(1.0))) and from_zero:
        return "neg"
    if _is_vocab_size(sup) and from_one:
        return "vocab"
    if sup == Sym("m") and isinstance(lower, Neg) and lower.arg == Sym("m"):
        return "window"
    raise Unsupported("sum bounds not understood")


def _is_sample_set(node) -> bool:
    """``{w_1, …, w_K}`` (or ``{u_{w_1}, …}``): the set of sampled words."""
    if not isinstance(node, SetLit) or len(node.items) != 3 or not isinstance(node.items[1], Dots):
        return False
    first, last = node.items[0], node.items[2]
    ok_first = isinstance(first, Sym) and first.name == "w" and first.sub == Num(1.0)
    ok_last = isinstance(last, Sym) and last.name == "w" and last.sub == Sym("K")
    return ok_first and ok_last


def _is_position_range(node) -> bool:
    """``{1, …, K}``, ``[1, K]``, ``[K]``: the sample positions."""
    if isinstance(node, SetLit) and len(node.items) == 3 and isinstance(node.items[1], Dots):
        return node.items[0] == Num(1.0) and node.items[2] == Sym("K")
    if isinstance(node, Matrix) and len(node.rows) == 1:
        row = node.rows[0]
        return tuple(row) == (Num(1.0), Sym("K"))
    return False


def _window_chain(node: And) -> Optional[str]:
    """``-m ≤ j ≤ m`` → ``'j'``."""
    if len(node.items) == 2:
        a, b = node.items
        if isinstance(a, Rel) and isinstance(b, Rel) and a.right == b.left and isinstance(a.right, Sym):
            if a.left == Neg(Sym("m")) and b.right == Sym("m"):
                return a.right.name
    return None


def _excludes_zero(cond, var: str) -> bool:
    return isinstance(cond, Rel) and cond.op == "!=" and cond.left == Sym(var) and isinstance(cond.right, Zero)


def _free_letter(node, ev: Evaluator, env: dict) -> bool:
    return isinstance(node, Sym) and node.sub is None and not ev._bound(node.name, env)


def _subscript_letters(node) -> list[str]:
    from grader.written.parse import walk

    out = []
    for n in walk(node):
        if isinstance(n, Sym) and n.name in ("w", "u") and isinstance(n.sub, Sym) and n.sub.sub is None:
            out.append(n.sub.name)
    return out


def evaluate(node, ctx: Context) -> Value:
    """Value of ``node`` under ``ctx`` (raises :class:`EvalError` subclasses)."""
    return Evaluator(ctx).value(node)


def as_array(value: Value) -> Union[np.ndarray, float, ZeroVal]:
    """Scalars as floats, arrays as 2-D arrays, a literal zero unchanged; 𝟏 raises Unsupported."""
    if isinstance(value, OnesVal):
        raise Unsupported("the answer is the ones vector")
    if isinstance(value, ZeroVal):
        return value
    if isinstance(value, np.ndarray):
        return value
    return float(value)

