"""Symbolic derivations of every gradient used by the reference word2vec solution.

Each gradient is obtained with :func:`sympy.diff` from the *loss definition*
(handout equations 1, 2, 9, 10, 11 and 12 written element by element with
explicit sympy symbols), never from a typed-in closed form.  Then

1. the derivative is **proved** equal to the closed form the reference code
   implements (the difference is shown to be identically zero, see
   :func:`is_identically_zero`), and
2. the derivative is **evaluated** (``lambdify``) at random points and compared
   with the numbers returned by ``reference/word2vec.py``.

Conventions
-----------
Handout convention throughout: ``U`` is ``(d, V)`` with the outside vector
``u_w`` as column ``w``; ``Vc`` is ``(d, V)`` with the center vector ``v_w`` as
column ``w``.  The starter code stores the transposes: ``outsideVectors =
U.T`` and ``centerWordVectors = Vc.T``, both ``(V, d)`` with one word per row.
Every gradient ``∂J/∂U`` here is ``(d, V)``; the reference's
``gradOutsideVecs`` is its transpose.

Symbolic sizes used by :func:`verify_all`: ``d=3, V=5, K=4, m=2`` (pairwise
different), ``o=0, c=2``, negatives ``(1, 2, 3, 4)`` (distinct, part h) and
``(1, 3, 1, 4)`` (repeats, part i), skip-gram window ``(1, 2, 1, 4)`` (repeats
word 1 and contains the center 2).

Over 400 lines on purpose: it is one derivation, read top to bottom in the order of its
sections: symbols, losses, problems, closed forms, proofs, the reference's numbers, the rows of
:func:`verify_all`.
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import sympy as sp

#: Maximum allowed numeric discrepancy ``|a - b| / max(1, |b|)``.
TOLERANCE = 1e-12

SYM_D, SYM_V, SYM_K, SYM_M = 3, 5, 4, 2
SYM_O, SYM_C = 0, 2
SYM_NEG_DISTINCT = (1, 2, 3, 4)
SYM_NEG_REPEAT = (1, 3, 1, 4)
SYM_WINDOW = (1, 2, 1, 4)
#: Negative samples per outside word of :data:`SYM_WINDOW` (none equals its outside word).
SYM_WINDOW_NEGATIVES = ((0, 3, 0, 4), (1, 3, 1, 0), (4, 4, 0, 3), (2, 1, 2, 3))

Matrix = sp.Matrix
Selector = Callable[[object, object], object]


# --------------------------------------------------------------------------- symbols


@dataclass(frozen=True, eq=False)
class Symbols:
    """Explicit symbol matrices for one vocabulary/dimension size.

    Attributes
    ----------
    U : sympy.Matrix, shape (d, V)
        ``U[i, w]`` is the real symbol ``u_{i,w}`` (component i of ``u_w``).
    Vc : sympy.Matrix, shape (d, V)
        ``Vc[i, w]`` is the real symbol ``v_{i,w}`` (component i of ``v_w``).
    """

    U: Matrix
    Vc: Matrix

    @property
    def flat(self) -> list[sp.Symbol]:
        """All ``2·d·V`` symbols: ``U`` row-major, then ``Vc`` row-major."""
        return list(self.U) + list(self.Vc)


@functools.cache
def make_symbols(d: int, V: int) -> Symbols:
    """The (cached) symbol matrices for sizes ``d`` and ``V``."""
    U = sp.Matrix(d, V, lambda i, w: sp.Symbol(f"u_{i}_{w}", real=True))
    Vc = sp.Matrix(d, V, lambda i, w: sp.Symbol(f"v_{i}_{w}", real=True))
    return Symbols(U, Vc)


def flat_values(U: np.ndarray, Vc: np.ndarray) -> np.ndarray:
    """Numeric values in the order of :attr:`Symbols.flat` (both arrays ``(d, V)``)."""
    return np.concatenate([np.asarray(U, float).ravel(), np.asarray(Vc, float).ravel()])


def _dot(a: Matrix, b: Matrix) -> sp.Expr:
    """``aᵀb`` for two ``(d, 1)`` symbol columns, as a scalar expression."""
    return sp.Add(*[a[i] * b[i] for i in range(a.rows)])


# --------------------------------------------------------------------------- losses


def sigmoid_expr(x: sp.Expr) -> sp.Expr:
    """Equation 9: ``σ(x) = 1 / (1 + e^{-x})``."""
    return 1 / (1 + sp.exp(-x))


def naive_softmax_loss(U: Matrix, v_c: Matrix, o: int) -> sp.Expr:
    """Equations 1–2: ``-log( exp(u_oᵀv_c) / Σ_w exp(u_wᵀv_c) )``.

    Parameters
    ----------
    U : (d, V) symbol matrix; v_c : (d, 1) symbol column; o : true outside word.
    """
    scores = [_dot(U[:, w], v_c) for w in range(U.cols)]
    return -sp.log(sp.exp(scores[o]) / sp.Add(*[sp.exp(s) for s in scores]))


def neg_sampling_loss(U: Matrix, v_c: Matrix, o: int, negatives: Sequence[int]) -> sp.Expr:
    """Equations 10/11: ``-log σ(u_oᵀv_c) - Σ_s log σ(-u_{w_s}ᵀv_c)`` (repeats allowed)."""
    loss = -sp.log(sigmoid_expr(_dot(U[:, o], v_c)))
    for w in negatives:
        loss -= sp.log(sigmoid_expr(-_dot(U[:, w], v_c)))
    return loss


def skipgram_loss(
    U: Matrix, Vc: Matrix, c: int, window: Sequence[int], pair_loss: Callable[[int, int], sp.Expr]
) -> sp.Expr:
    """Equation 12: ``Σ_j J(v_c, w_{t+j}, U)``; ``pair_loss(j, o)`` builds term j."""
    return sp.Add(*[pair_loss(j, o) for j, o in enumerate(window)])


def leaky_relu_expr(x: sp.Expr, alpha: sp.Expr) -> sp.Expr:
    """Equation 8: ``f(x) = max(αx, x)``."""
    return sp.Max(alpha * x, x)


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class ProblemKey:
    """Which loss, at which sizes and with which word indices.

    ``kind`` is ``"naive"``, ``"neg"``, ``"skipgram"`` (naive pair loss) or
    ``"skipgram-neg"`` (negative-sampling pair loss, with
    ``window_negatives[j]`` the samples drawn for outside word ``window[j]``).
    """

    kind: str
    d: int
    V: int
    c: int
    o: int = 0
    negatives: tuple[int, ...] = ()
    window: tuple[int, ...] = ()
    window_negatives: tuple[tuple[int, ...], ...] = ()


@dataclass(eq=False)
class GradProblem:
    """A loss and its sympy-derived gradients.

    Attributes
    ----------
    dU : (d, V) sympy.Matrix, ``∂J/∂U[i, w]`` for every symbol of ``U``.
    dVc : (d, V) sympy.Matrix, ``∂J/∂Vc[i, w]`` (only column ``c`` can be nonzero).
    """

    key: ProblemKey
    syms: Symbols
    loss: sp.Expr
    dU: Matrix
    dVc: Matrix

    @functools.cached_property
    def numeric(self) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``(U, Vc) -> (dU, dVc)`` as float arrays ``(d, V)``, from the sympy derivatives."""
        fn = sp.lambdify(self.syms.flat, [self.dU, self.dVc], "numpy")

        def evaluate(U: np.ndarray, Vc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            dU, dVc = fn(*flat_values(U, Vc))
            return np.asarray(dU, float), np.asarray(dVc, float)

        return evaluate


def _pair_loss(key: ProblemKey, syms: Symbols) -> Callable[[int, int], sp.Expr]:
    v_c = syms.Vc[:, key.c]
    if key.kind in ("naive", "skipgram"):
        return lambda j, o: naive_softmax_loss(syms.U, v_c, o)
    if key.kind == "neg":
        return lambda j, o: neg_sampling_loss(syms.U, v_c, o, key.negatives)
    if key.kind == "skipgram-neg":
        return lambda j, o: neg_sampling_loss(syms.U, v_c, o, key.window_negatives[j])
    raise ValueError(f"unknown problem kind {key.kind!r}")


def build_loss(key: ProblemKey, syms: Symbols) -> sp.Expr:
    """The scalar loss of ``key`` written with the symbols of ``syms``."""
    pair = _pair_loss(key, syms)
    if key.kind.startswith("skipgram"):
        return skipgram_loss(syms.U, syms.Vc, key.c, key.window, pair)
    return pair(0, key.o)


def gradient(loss: sp.Expr, wrt: Matrix) -> Matrix:
    """Entrywise ``∂loss/∂wrt[i, j]`` with :func:`sympy.diff`; same shape as ``wrt``."""
    return wrt.applyfunc(lambda s: sp.diff(loss, s))


@functools.cache
def problem(key: ProblemKey) -> GradProblem:
    """Build (and cache) the loss of ``key`` and differentiate it w.r.t. ``U`` and ``Vc``."""
    syms = make_symbols(key.d, key.V)
    loss = build_loss(key, syms)
    return GradProblem(key, syms, loss, gradient(loss, syms.U), gradient(loss, syms.Vc))


# --------------------------------------------------------------------------- closed forms


def softmax_column(U: Matrix, v_c: Matrix) -> Matrix:
    """``ŷ`` as a ``(V, 1)`` column: ``ŷ_w = exp(u_wᵀv_c) / Σ_k exp(u_kᵀv_c)``."""
    exps = [sp.exp(_dot(U[:, w], v_c)) for w in range(U.cols)]
    total = sp.Add(*exps)
    return sp.Matrix([e / total for e in exps])


def one_hot(V: int, o: int) -> Matrix:
    """``y``: the ``(V, 1)`` one-hot column of word ``o``."""
    y = sp.zeros(V, 1)
    y[o] = 1
    return y


def naive_error(U: Matrix, v_c: Matrix, o: int) -> Matrix:
    """``ŷ - y`` as a ``(V, 1)`` column."""
    return softmax_column(U, v_c) - one_hot(U.cols, o)


def closed_naive_vc(U: Matrix, v_c: Matrix, o: int) -> Matrix:
    """Part b: ``∂J/∂v_c = U(ŷ - y)``, ``(d, 1)``."""
    return U * naive_error(U, v_c, o)


def closed_naive_uw(U: Matrix, v_c: Matrix, o: int, w: int) -> Matrix:
    """Part d: ``∂J/∂u_w = (ŷ_w - y_w) v_c`` (``(ŷ_o - 1)v_c`` when w = o, else ``ŷ_w v_c``)."""
    return naive_error(U, v_c, o)[w] * v_c


def closed_naive_U(U: Matrix, v_c: Matrix, o: int) -> Matrix:
    """Part e: ``∂J/∂U = v_c (ŷ - y)ᵀ``, ``(d, V)``."""
    return v_c * naive_error(U, v_c, o).T


def closed_naive_rows(U: Matrix, v_c: Matrix, o: int) -> Matrix:
    """Part e, row-major: ``∂J/∂outsideVectors = (ŷ - y) v_cᵀ``, ``(V, d)``."""
    return naive_error(U, v_c, o) * v_c.T


def closed_sigmoid_prime(x: sp.Expr) -> sp.Expr:
    """Part g: ``σ'(x) = σ(x)(1 - σ(x))``."""
    return sigmoid_expr(x) * (1 - sigmoid_expr(x))


def closed_leaky_prime(x: sp.Expr, alpha: sp.Expr) -> sp.Expr:
    """Part f: ``f'(x) = α`` for ``x < 0`` and ``1`` for ``x > 0`` (undefined at 0)."""
    return sp.Piecewise((alpha, x < 0), (1, True))


def closed_neg_vc(U: Matrix, v_c: Matrix, o: int, negatives: Sequence[int]) -> Matrix:
    """Parts h/i: ``-(1-σ(u_oᵀv_c))u_o + Σ_s (1-σ(-u_{w_s}ᵀv_c)) u_{w_s}``, ``(d, 1)``."""
    u_o = U[:, o]
    grad = -(1 - sigmoid_expr(_dot(u_o, v_c))) * u_o
    for w in negatives:
        grad += (1 - sigmoid_expr(-_dot(U[:, w], v_c))) * U[:, w]
    return grad


def closed_neg_uo(U: Matrix, v_c: Matrix, o: int) -> Matrix:
    """Parts h/i: ``∂J/∂u_o = -(1 - σ(u_oᵀv_c)) v_c``, ``(d, 1)``."""
    return -(1 - sigmoid_expr(_dot(U[:, o], v_c))) * v_c


def closed_neg_uws(U: Matrix, v_c: Matrix, w: int, count: int = 1) -> Matrix:
    """Part h (count=1) / part i: ``count(w_s)·(1 - σ(-u_{w_s}ᵀv_c)) v_c``, ``(d, 1)``."""
    return count * (1 - sigmoid_expr(-_dot(U[:, w], v_c))) * v_c


def closed_neg_U(U: Matrix, v_c: Matrix, o: int, negatives: Sequence[int]) -> Matrix:
    """Full ``∂J_neg/∂U`` ``(d, V)``: column o, counted sample columns, zeros elsewhere."""
    counts = Counter(negatives)
    grad = sp.zeros(U.rows, U.cols)
    grad[:, o] = closed_neg_uo(U, v_c, o)
    for w, n in counts.items():
        grad[:, w] = closed_neg_uws(U, v_c, w, n)
    return grad


def hstack(columns: Sequence[Matrix]) -> Matrix:
    """Columns side by side (``(d, n)``)."""
    return sp.Matrix.hstack(*columns)


def closed_skipgram(key: ProblemKey, syms: Symbols) -> tuple[Matrix, Matrix]:
    """Part j: ``(Σ_j ∂J_j/∂U, ∂/∂Vc)`` with column c ``Σ_j ∂J_j/∂v_c``, other columns 0."""
    U, v_c = syms.U, syms.Vc[:, key.c]
    dU, dvc = sp.zeros(key.d, key.V), sp.zeros(key.d, 1)
    for j, o in enumerate(key.window):
        if key.kind == "skipgram":
            dU += closed_naive_U(U, v_c, o)
            dvc += closed_naive_vc(U, v_c, o)
        else:
            dU += closed_neg_U(U, v_c, o, key.window_negatives[j])
            dvc += closed_neg_vc(U, v_c, o, key.window_negatives[j])
    dVc = sp.zeros(key.d, key.V)
    dVc[:, key.c] = dvc
    return dU, dVc


# --------------------------------------------------------------------------- proofs


def _atomize_exponentials(expr: sp.Expr) -> sp.Expr:
    """Replace every ``exp(n·b)`` by ``E_b**n`` with ``E_b`` a fresh positive symbol.

    ``n`` is the rational content of the argument, sign included (sympy
    folds ``exp(s)**2`` into ``exp(2s)`` and ``1/exp(s)`` into ``exp(-s)``).
    An identity that holds for *independent* symbols ``E_b`` holds in
    particular for ``E_b = exp(b)``, so zero-testing the substituted
    expression is a sound (if possibly incomplete) proof.
    """
    table: dict[sp.Expr, sp.Symbol] = {}

    def replace(arg: sp.Expr) -> sp.Expr:
        content, base = sp.expand(arg).as_content_primitive()
        if base.could_extract_minus_sign():
            content, base = -content, -base
        atom = table.setdefault(base, sp.Symbol(f"E{len(table)}", positive=True))
        return atom**content

    return expr.replace(sp.exp, replace)


def is_identically_zero(expr: sp.Expr) -> bool:
    """True iff ``expr`` is proved identically zero.

    Method: exponentials become independent symbols, the result is put over a
    common denominator, and the numerator is expanded into canonical
    polynomial form — it is 0 exactly when the rational function is 0.
    Expressions with other functions (e.g. ``Heaviside``) are simplified first.
    """
    expr = _atomize_exponentials(sp.sympify(expr))
    if expr.has(sp.Heaviside, sp.Max, sp.Piecewise):
        expr = sp.simplify(expr)
    numerator, _ = sp.fraction(sp.together(expr))
    return sp.expand(numerator) == 0


def matrices_equal(derived: Matrix, closed: Matrix) -> bool:
    """Proof that two sympy matrices are equal: same shape and every difference ≡ 0."""
    if derived.shape != closed.shape:
        return False
    return all(is_identically_zero(a - b) for a, b in zip(derived, closed))


_POS = sp.Symbol("p", positive=True)
_BETA = sp.Symbol("beta", positive=True)


def prove_piecewise_sign(x: sp.Symbol, alpha: sp.Symbol) -> Callable[[Matrix, Matrix], bool]:
    """Prover for part f: equal on ``x = -p`` and ``x = p`` (``p > 0``), ``α = 1/(1+β) ∈ (0,1)``."""

    def prove(derived: Matrix, closed: Matrix) -> bool:
        if derived.shape != closed.shape:
            return False
        for sign in (-1, 1):
            subs = {x: sign * _POS, alpha: 1 / (1 + _BETA)}
            if not matrices_equal(derived.subs(subs), closed.subs(subs)):
                return False
        return True

    return prove


# --------------------------------------------------------------------------- reference


class ScriptedDataset:
    """Fake dataset whose ``sampleTokenIdx()`` returns a scripted sequence of indices."""

    def __init__(self, samples: Sequence[int] = ()) -> None:
        self._samples = [int(s) for s in samples]
        self._next = 0

    def sampleTokenIdx(self) -> int:
        if self._next >= len(self._samples):
            raise RuntimeError("ScriptedDataset exhausted: the code drew more samples than scripted")
        self._next += 1
        return self._samples[self._next - 1]

    @property
    def remaining(self) -> int:
        """How many scripted samples were not drawn."""
        return len(self._samples) - self._next


def _pick_word2vec(loaded: object) -> ModuleType:
    """The word2vec module out of whatever ``reference.load_reference()`` returned."""
    module = getattr(loaded, "word2vec", None)
    if module is None and isinstance(loaded, dict):
        module = loaded.get("word2vec")
    if module is None and isinstance(loaded, (tuple, list)):
        named = [m for m in loaded if getattr(m, "__name__", "").endswith("word2vec")]
        module = named[0] if named else loaded[0]
    if module is None:
        raise ImportError(f"cannot find word2vec in load_reference() result {loaded!r}")
    return module


def load_reference_word2vec() -> ModuleType:
    """Import ``reference/word2vec.py`` (via ``reference.load_reference`` when available)."""
    try:
        from . import load_reference  # type: ignore[attr-defined]
    except ImportError:
        load_reference = None
    if load_reference is not None:
        return _pick_word2vec(load_reference())
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    try:
        return importlib.import_module("word2vec")
    finally:
        sys.path.remove(here)


def _tokens(V: int) -> tuple[list[str], dict[str, int]]:
    tokens = [f"w{i}" for i in range(V)]
    return tokens, {t: i for i, t in enumerate(tokens)}


def _reference_pair(w2v: ModuleType, key: ProblemKey, U: np.ndarray, Vc: np.ndarray):
    """Reference ``(gradCenterVec (d,), gradOutsideVecs (V, d))`` for one naive/neg pair."""
    v_c, outside = Vc[:, key.c].copy(), U.T.copy()
    if key.kind == "naive":
        _, gc, go = w2v.naiveSoftmaxLossAndGradient(v_c, key.o, outside, ScriptedDataset())
        return gc, go
    data = ScriptedDataset(key.negatives)
    _, gc, go = w2v.negSamplingLossAndGradient(v_c, key.o, outside, data, K=len(key.negatives))
    if data.remaining:
        raise RuntimeError(f"reference drew {len(key.negatives) - data.remaining} of {len(key.negatives)} samples")
    return gc, go


def _reference_skipgram(w2v: ModuleType, key: ProblemKey, U: np.ndarray, Vc: np.ndarray):
    """Reference ``(gradCenterVecs (V, d), gradOutsideVectors (V, d))`` for a window."""
    tokens, word2ind = _tokens(key.V)
    samples = [w for negs in key.window_negatives for w in negs]
    data = ScriptedDataset(samples)
    loss_fn = w2v.naiveSoftmaxLossAndGradient
    if key.kind == "skipgram-neg":
        loss_fn = functools.partial(w2v.negSamplingLossAndGradient, K=len(key.window_negatives[0]))
    outside_words = [tokens[o] for o in key.window]
    _, gC, gO = w2v.skipgram(
        tokens[key.c], len(key.window) // 2, outside_words, word2ind, Vc.T.copy(), U.T.copy(), data, loss_fn
    )
    if data.remaining:
        raise RuntimeError(f"reference skipgram left {data.remaining} scripted negative samples undrawn")
    return gC, gO


def reference_grads(w2v: ModuleType, key: ProblemKey, U: np.ndarray, Vc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference code's gradients in handout layout: ``(dU (d, V), dVc (d, V))``."""
    if key.kind.startswith("skipgram"):
        gC, gO = _reference_skipgram(w2v, key, U, Vc)
        return np.asarray(gO, float).T, np.asarray(gC, float).T
    gc, go = _reference_pair(w2v, key, U, Vc)
    dVc = np.zeros_like(Vc, dtype=float)
    dVc[:, key.c] = gc
    return np.asarray(go, float).T, dVc


# --------------------------------------------------------------------------- rows


@dataclass
class DerivationResult:
    """Outcome of one derivation: proof status, numeric agreement, time."""

    name: str
    proved: bool
    max_error: float
    seconds: float
    detail: str = ""
    formula: str = ""
    expect_proved: bool = True

    @property
    def ok(self) -> bool:
        """Proved (or, for a deliberately wrong form, rejected) and numerically within tolerance."""
        if not self.expect_proved:
            return not self.proved
        return self.proved and self.max_error <= TOLERANCE


@dataclass
class Derivation:
    """One checked claim: ``derived`` (sympy diff) equals ``closed`` (reference's formula).

    ``derived()``/``closed()`` return sympy matrices of equal shape (when the
    claim is right); ``closed_numeric()`` lambdifies ``closed()``;
    ``evaluate(rng, w2v, closed_fn)`` draws one random point and returns
    ``(derived value, closed value, reference value)`` as numpy arrays of the
    derived shape (``(d,)`` for a single column).
    """

    name: str
    formula: str
    derived: Callable[[], Matrix]
    closed: Callable[[], Matrix]
    evaluate: Callable[[np.random.Generator, ModuleType, Callable], tuple[np.ndarray, ...]]
    closed_numeric: Callable[[], Callable[..., np.ndarray]]
    prove: Callable[[Matrix, Matrix], bool] = matrices_equal
    expect_proved: bool = True


def _lambdify_on(symbols: Sequence[sp.Symbol], expr: Matrix) -> Callable[..., np.ndarray]:
    fn = sp.lambdify(list(symbols), expr, "numpy")
    return lambda *values: np.asarray(fn(*values), float)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """``max |got - want| / max(1, |want|)``; ``inf`` when the shapes differ."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))


def grad_derivation(
    name: str, formula: str, key: ProblemKey, select: Selector, closed: Callable[[Symbols], Matrix], **kw
) -> Derivation:
    """A claim about a selection (``select(dU, dVc)``) of the gradients of ``key``'s loss."""
    syms = make_symbols(key.d, key.V)

    def derived() -> Matrix:
        p = problem(key)
        return select(p.dU, p.dVc)

    def evaluate(rng: np.random.Generator, w2v: ModuleType, closed_fn: Callable) -> tuple[np.ndarray, ...]:
        U, Vc = rng.standard_normal((key.d, key.V)), rng.standard_normal((key.d, key.V))
        got = np.asarray(select(*problem(key).numeric(U, Vc)), float)
        want = np.asarray(select(*reference_grads(w2v, key, U, Vc)), float)
        closed_val = closed_fn(*flat_values(U, Vc))
        return got, _match_shape(closed_val, got), want

    def closed_numeric() -> Callable[..., np.ndarray]:
        return _lambdify_on(syms.flat, closed(syms))

    return Derivation(name, formula, derived, lambda: closed(syms), evaluate, closed_numeric, **kw)


def _match_shape(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Drop a sympy column/1×1 shape ((d,1)→(d,), (1,1)→()) so it lines up with ``like``."""
    if value.shape != like.shape and value.size == like.size and value.ndim == like.ndim + 1:
        return value.reshape(like.shape)
    return value


_X = sp.Symbol("x", real=True)
_ALPHA = sp.Symbol("alpha", positive=True)


def _scalar_sample(rng: np.random.Generator) -> tuple[float, float]:
    x = float(rng.standard_normal() * 3.0)
    return (x if x != 0.0 else 0.5), float(rng.uniform(0.05, 0.95))


def scalar_derivation(
    name: str,
    formula: str,
    derived: Callable[[], sp.Expr],
    closed: Callable[[], sp.Expr],
    reference: Callable[[ModuleType, float, float], float],
    **kw,
) -> Derivation:
    """A claim about a function of the scalars ``x`` and ``α`` (parts f and g)."""

    derived_fn = functools.cache(lambda: _lambdify_on([_X, _ALPHA], sp.Matrix([[derived()]])))

    def evaluate(rng: np.random.Generator, w2v: ModuleType, closed_fn: Callable) -> tuple[np.ndarray, ...]:
        x, alpha = _scalar_sample(rng)
        got = derived_fn()(x, alpha)
        return got, closed_fn(x, alpha), np.array([[reference(w2v, x, alpha)]], float)

    def closed_numeric() -> Callable[..., np.ndarray]:
        return _lambdify_on([_X, _ALPHA], sp.Matrix([[closed()]]))

    return Derivation(
        name, formula, lambda: sp.Matrix([[derived()]]), lambda: sp.Matrix([[closed()]]), evaluate, closed_numeric, **kw
    )


def _ref_sigmoid(w2v: ModuleType, x: float) -> float:
    return float(np.asarray(w2v.sigmoid(np.float64(x)), float))


# --------------------------------------------------------------------------- the catalogue


def _naive_key(d: int = SYM_D, V: int = SYM_V, o: int = SYM_O, c: int = SYM_C) -> ProblemKey:
    return ProblemKey("naive", d, V, c, o)


def _neg_key(negatives: Sequence[int], d: int = SYM_D, V: int = SYM_V, o: int = SYM_O) -> ProblemKey:
    return ProblemKey("neg", d, V, SYM_C, o, tuple(negatives))


SG_KEY = ProblemKey("skipgram", SYM_D, SYM_V, SYM_C, window=SYM_WINDOW)
SG_NEG_KEY = ProblemKey(
    "skipgram-neg", SYM_D, SYM_V, SYM_C, window=SYM_WINDOW, window_negatives=SYM_WINDOW_NEGATIVES
)


def _vc(s: Symbols, c: int = SYM_C) -> Matrix:
    return s.Vc[:, c]


def naive_derivations() -> list[Derivation]:
    """Parts b, d, e (naive softmax, ``o=0``, ``c=2``)."""
    key, o, c = _naive_key(), SYM_O, SYM_C
    others = [w for w in range(SYM_V) if w != o]
    return [
        grad_derivation("b.i", "∂J/∂v_c = U(ŷ−y)", key, lambda dU, dVc: dVc[:, c],
                        lambda s: closed_naive_vc(s.U, _vc(s), o)),
        grad_derivation("d.uo", "∂J/∂u_o = (ŷ_o−1)v_c", key, lambda dU, dVc: dU[:, o],
                        lambda s: closed_naive_uw(s.U, _vc(s), o, o)),
        grad_derivation("d.uw", "∂J/∂u_w = ŷ_w v_c, every w≠o", key, lambda dU, dVc: dU[:, others],
                        lambda s: hstack([closed_naive_uw(s.U, _vc(s), o, w) for w in others])),
        grad_derivation("e", "∂J/∂U = v_c(ŷ−y)ᵀ (d×V)", key, lambda dU, dVc: dU,
                        lambda s: closed_naive_U(s.U, _vc(s), o)),
        grad_derivation("e.rows", "∂J/∂outsideVectors = (ŷ−y)v_cᵀ (V×d)", key, lambda dU, dVc: dU.T,
                        lambda s: closed_naive_rows(s.U, _vc(s), o)),
        grad_derivation("b.center", "∂J/∂v_w = 0 for w≠c", key,
                        lambda dU, dVc: dVc[:, [w for w in range(SYM_V) if w != c]],
                        lambda s: sp.zeros(SYM_D, SYM_V - 1)),
    ]


def scalar_derivations() -> list[Derivation]:
    """Parts f (Leaky ReLU) and g (sigmoid), plus eq 9's two forms vs the reference ``sigmoid``."""
    return [
        scalar_derivation(
            "f", "d/dx max(αx,x) = α (x<0), 1 (x>0)",
            lambda: sp.diff(leaky_relu_expr(_X, _ALPHA), _X), lambda: closed_leaky_prime(_X, _ALPHA),
            lambda w2v, x, a: a if x < 0 else 1.0, prove=prove_piecewise_sign(_X, _ALPHA),
        ),
        scalar_derivation(
            "g", "σ'(x) = σ(x)(1−σ(x))", lambda: sp.diff(sigmoid_expr(_X), _X),
            lambda: closed_sigmoid_prime(_X), lambda w2v, x, a: _ref_sigmoid(w2v, x) * (1 - _ref_sigmoid(w2v, x)),
        ),
        scalar_derivation(
            "g.sigmoid", "1/(1+e^−x) = e^x/(e^x+1) = sigmoid(x)", lambda: sigmoid_expr(_X),
            lambda: sp.exp(_X) / (sp.exp(_X) + 1), lambda w2v, x, a: _ref_sigmoid(w2v, x),
        ),
    ]


def neg_derivations(part: str, negatives: Sequence[int]) -> list[Derivation]:
    """Part h (distinct samples) or i (repeats counted) for ``o=0``, ``c=2``."""
    key, o, c = _neg_key(negatives), SYM_O, SYM_C
    counts = Counter(negatives)
    neg = list(negatives)
    return [
        grad_derivation(f"{part}.vc", "∂J/∂v_c = −(1−σ(u_oᵀv_c))u_o + Σ_s(1−σ(−u_wsᵀv_c))u_ws", key,
                        lambda dU, dVc: dVc[:, c], lambda s: closed_neg_vc(s.U, _vc(s), o, neg)),
        grad_derivation(f"{part}.uo", "∂J/∂u_o = −(1−σ(u_oᵀv_c))v_c", key, lambda dU, dVc: dU[:, o],
                        lambda s: closed_neg_uo(s.U, _vc(s), o)),
        grad_derivation(f"{part}.uws", _uws_formula(counts), key, lambda dU, dVc: dU[:, neg],
                        lambda s: hstack([closed_neg_uws(s.U, _vc(s), w, counts[w]) for w in neg])),
        grad_derivation(f"{part}.U", "∂J/∂U: cols o, w_s as above, other cols 0", key, lambda dU, dVc: dU,
                        lambda s: closed_neg_U(s.U, _vc(s), o, neg)),
    ]


def _uws_formula(counts: Counter) -> str:
    if max(counts.values()) == 1:
        return "∂J/∂u_ws = (1−σ(−u_wsᵀv_c))v_c, distinct"
    return "∂J/∂u_ws = count(w_s)·(1−σ(−u_wsᵀv_c))v_c"


def skipgram_derivations(key: ProblemKey, suffix: str) -> list[Derivation]:
    """Part j for the window :data:`SYM_WINDOW` (naive or negative-sampling pair loss)."""
    c = key.c
    others = [w for w in range(key.V) if w != c]
    return [
        grad_derivation(f"j.i{suffix}", "∂J_sg/∂U = Σ_j ∂J(v_c,w_t+j,U)/∂U", key, lambda dU, dVc: dU,
                        lambda s: closed_skipgram(key, s)[0]),
        grad_derivation(f"j.ii{suffix}", "∂J_sg/∂v_c = Σ_j ∂J(v_c,w_t+j,U)/∂v_c", key,
                        lambda dU, dVc: dVc[:, c], lambda s: closed_skipgram(key, s)[1][:, c]),
        grad_derivation(f"j.iii{suffix}", "∂J_sg/∂v_w = 0 for w≠c", key, lambda dU, dVc: dVc[:, others],
                        lambda s: closed_skipgram(key, s)[1][:, others]),
    ]


def all_derivations() -> list[Derivation]:
    """Every claim checked by :func:`verify_all`, in handout order."""
    return (
        naive_derivations()
        + scalar_derivations()
        + neg_derivations("h.i", SYM_NEG_DISTINCT)
        + neg_derivations("i", SYM_NEG_REPEAT)
        + skipgram_derivations(SG_KEY, "")
        + skipgram_derivations(SG_NEG_KEY, ".neg")
    )


def wrong_derivations() -> list[Derivation]:
    """Deliberately wrong closed forms; the prover must reject every one."""
    key, o, c = _naive_key(), SYM_O, SYM_C
    square = _naive_key(d=4, V=4)
    rep = _neg_key(SYM_NEG_REPEAT)
    s_rep = 0  # negatives[0] = 1 occurs twice
    w_rep = SYM_NEG_REPEAT[s_rep]
    bad = {"expect_proved": False}
    return [
        grad_derivation("wrong b.i", "sign flipped: U(y−ŷ)", key, lambda dU, dVc: dVc[:, c],
                        lambda s: -closed_naive_vc(s.U, _vc(s), o), **bad),
        grad_derivation("wrong d.uw", "index swapped: (ŷ_o−y_o)v_c for w=1", key, lambda dU, dVc: dU[:, 1],
                        lambda s: closed_naive_uw(s.U, _vc(s), o, o), **bad),
        grad_derivation("wrong e", "transposed: (ŷ−y)v_cᵀ for ∂J/∂U, d=V=4", square, lambda dU, dVc: dU,
                        lambda s: closed_naive_rows(s.U, _vc(s), o), **bad),
        scalar_derivation("wrong f", "swapped: 1 (x<0), α (x>0)", lambda: sp.diff(leaky_relu_expr(_X, _ALPHA), _X),
                          lambda: sp.Piecewise((1, _X < 0), (_ALPHA, True)), lambda w2v, x, a: a if x < 0 else 1.0,
                          prove=prove_piecewise_sign(_X, _ALPHA), **bad),
        scalar_derivation("wrong g", "σ(x)(1+σ(x))", lambda: sp.diff(sigmoid_expr(_X), _X),
                          lambda: sigmoid_expr(_X) * (1 + sigmoid_expr(_X)),
                          lambda w2v, x, a: _ref_sigmoid(w2v, x) * (1 - _ref_sigmoid(w2v, x)), **bad),
        grad_derivation("wrong i", "repeat not counted: (1−σ(−u_wsᵀv_c))v_c", rep, lambda dU, dVc: dU[:, w_rep],
                        lambda s: closed_neg_uws(s.U, _vc(s), w_rep, 1), **bad),
        grad_derivation("wrong j.i", "repeated outside word counted once", SG_KEY, lambda dU, dVc: dU,
                        lambda s: closed_skipgram(ProblemKey("skipgram", SYM_D, SYM_V, c, window=(1, 2, 4)), s)[0],
                        **bad),
    ]


# --------------------------------------------------------------------------- running


def _numeric_error(item: Derivation, w2v: ModuleType, rng: np.random.Generator, n_points: int) -> float:
    closed_fn = item.closed_numeric()
    worst = 0.0
    for _ in range(n_points):
        got, closed_val, want = item.evaluate(rng, w2v, closed_fn)
        worst = max(worst, relative_error(got, want), relative_error(closed_val, want))
    return worst


def run_derivation(item: Derivation, w2v: ModuleType, rng: np.random.Generator, n_points: int = 5) -> DerivationResult:
    """Prove ``item`` and measure its numeric agreement with the reference at ``n_points`` points."""
    start = time.perf_counter()
    derived, closed = item.derived(), item.closed()
    proved = bool(item.prove(derived, closed))
    detail = "" if derived.shape == closed.shape else f"shape {derived.shape} vs closed {closed.shape}"
    try:
        error = _numeric_error(item, w2v, rng, n_points)
    except Exception as exc:  # noqa: BLE001 - a raising reference is reported on its row
        error, detail = float("inf"), f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    return DerivationResult(item.name, proved, error, seconds, detail, item.formula, item.expect_proved)


def verify_all(seed: int = 0, word2vec: ModuleType | None = None, n_points: int = 5) -> list[DerivationResult]:
    """Prove every derivation and compare it with ``reference/word2vec.py`` at random points.

    Parameters
    ----------
    seed : seed of the numpy generator for the random evaluation points.
    word2vec : module to check (default: the reference, :func:`load_reference_word2vec`).
    n_points : random points per derivation.
    """
    w2v = word2vec if word2vec is not None else load_reference_word2vec()
    rng = np.random.default_rng(seed)
    return [run_derivation(item, w2v, rng, n_points) for item in all_derivations()]


def verify_wrong_forms(seed: int = 0, word2vec: ModuleType | None = None) -> list[DerivationResult]:
    """Run :func:`wrong_derivations`; every row should have ``proved=False`` (``ok`` True)."""
    w2v = word2vec if word2vec is not None else load_reference_word2vec()
    rng = np.random.default_rng(seed)
    return [run_derivation(item, w2v, rng, 2) for item in wrong_derivations()]


# --------------------------------------------------------------------------- handout points


@dataclass
class HandoutPoint:
    """A numeric point at which written answers can be evaluated (handout convention)."""

    d: int
    V: int
    K: int
    U: np.ndarray  # (d, V) outside vectors as columns (handout convention)
    Vc: np.ndarray  # (d, V) center vectors as columns
    c: int  # center word index
    o: int  # true outside word index (o != c not required)
    w: int  # some word index != o (and != c), for part d's w≠o case and part j.iii
    negatives: list[int]  # K indices, may repeat, none equal to o
    s: int  # which negative sample (0-based) for parts h.i.uws and i
    window: list[int]  # 2m outside word indices for skip-gram (may repeat, may include c)
    x: float  # scalar for sigmoid'/leaky relu'
    alpha: float  # leaky relu slope in (0,1)

    @property
    def v_c(self) -> np.ndarray:
        """The center vector ``Vc[:, c]``, shape ``(d,)``."""
        return self.Vc[:, self.c]


def _draw_negatives(rng: np.random.Generator, V: int, K: int, o: int, repeats: bool) -> list[int]:
    pool = [k for k in range(V) if k != o]
    if not repeats:
        if K > len(pool):
            raise ValueError(f"cannot draw K={K} distinct negatives from V-1={len(pool)} words")
        return [int(k) for k in rng.choice(pool, size=K, replace=False)]
    draws = [int(k) for k in rng.choice(pool, size=K, replace=True)]
    if K >= 2 and len(set(draws)) == K:
        draws[-1] = draws[0]
        rng.shuffle(draws)
    return draws


def _draw_window(rng: np.random.Generator, V: int, m: int, c: int, repeats: bool) -> list[int]:
    window = [int(k) for k in rng.integers(0, V, size=2 * m)]
    if repeats and 2 * m >= 3:
        window[0], window[1], window[2] = c, window[2], window[2]
        rng.shuffle(window)
    return window


def random_point(
    rng: np.random.Generator, d: int = 3, V: int = 5, K: int = 4, m: int = 2, repeats: bool = True
) -> HandoutPoint:
    """A random :class:`HandoutPoint`.

    With ``repeats=True`` the negatives contain at least one repeated word
    (when ``K ≥ 2``) and ``s`` points at a repeated one; the window contains
    the center and a repeated word (when ``2m ≥ 3``).  With ``repeats=False``
    the negatives are distinct (needs ``K ≤ V-1``), as part h assumes.
    """
    if V < 3:
        raise ValueError("V must be at least 3")
    c, o = int(rng.integers(V)), int(rng.integers(V))
    w = int(rng.choice([k for k in range(V) if k not in (o, c)]))
    negatives = _draw_negatives(rng, V, K, o, repeats)
    counts = Counter(negatives)
    repeated = [i for i, n in enumerate(negatives) if counts[n] > 1]
    s = int(rng.choice(repeated)) if repeated else int(rng.integers(K))
    x = float(rng.standard_normal() * 3.0) or 0.5
    return HandoutPoint(
        d, V, K, rng.standard_normal((d, V)), rng.standard_normal((d, V)), c, o, w, negatives, s,
        _draw_window(rng, V, m, c, repeats), x, float(rng.uniform(0.05, 0.95)),
    )


def _point_key(part: str, p: HandoutPoint) -> ProblemKey:
    if part[0] in "bde":
        return ProblemKey("naive", p.d, p.V, p.c, p.o)
    if part[0] in "hi":
        return ProblemKey("neg", p.d, p.V, p.c, p.o, tuple(p.negatives))
    return ProblemKey("skipgram", p.d, p.V, p.c, window=tuple(p.window))


def _select_part(part: str, p: HandoutPoint, dU: np.ndarray, dVc: np.ndarray) -> np.ndarray:
    choices: dict[str, Callable[[], np.ndarray]] = {
        "b.i": lambda: dVc[:, p.c], "d.uo": lambda: dU[:, p.o], "d.uw": lambda: dU[:, p.w], "e": lambda: dU,
        "h.i.vc": lambda: dVc[:, p.c], "h.i.uo": lambda: dU[:, p.o], "h.i.uws": lambda: dU[:, p.negatives[p.s]],
        "i": lambda: dU[:, p.negatives[p.s]], "j.i": lambda: dU, "j.ii": lambda: dVc[:, p.c],
        "j.iii": lambda: dVc[:, p.w],
    }
    return choices[part]()


def _check_point(part: str, p: HandoutPoint) -> None:
    if p.U.shape != (p.d, p.V) or p.Vc.shape != (p.d, p.V):
        raise ValueError(f"U and Vc must be ({p.d}, {p.V}); got {p.U.shape} and {p.Vc.shape}")
    if part == "d.uw" and p.w == p.o:
        raise ValueError("part d.uw needs point.w != point.o")
    if part == "j.iii" and p.w == p.c:
        raise ValueError("part j.iii needs point.w != point.c")
    if part in ("h.i.uws", "i") and p.o in p.negatives:
        raise ValueError("negatives must not contain o")
    if part == "h.i.uws" and p.negatives.count(p.negatives[p.s]) != 1:
        raise ValueError("part h assumes distinct negatives: negatives[s] occurs more than once (use part 'i')")


@functools.cache
def _scalar_function(part: str) -> Callable[[float, float], float]:
    expr = leaky_relu_expr(_X, _ALPHA) if part == "f" else sigmoid_expr(_X)
    fn = sp.lambdify([_X, _ALPHA], sp.diff(expr, _X), "numpy")
    return lambda x, a: float(fn(x, a))


PARTS = ("b.i", "d.uo", "d.uw", "e", "f", "g", "h.i.vc", "h.i.uo", "h.i.uws", "i", "j.i", "j.ii", "j.iii")


def reference_value(part: str, point: HandoutPoint) -> np.ndarray | float:
    """Value of the sympy-derived (then lambdified) reference gradient at ``point``.

    ``part`` ∈ {"b.i" (∂J_naive/∂v_c, (d,)), "d.uo" (∂J_naive/∂u_o, (d,)),
    "d.uw" (∂J_naive/∂u_w for w=point.w≠o, (d,)), "e" (∂J_naive/∂U, (d,V)),
    "f" (leaky relu'(x)), "g" (σ'(x)), "h.i.vc", "h.i.uo", "h.i.uws" (wrt
    u_{w_s}, s=point.s; negatives[s] must occur once), "i" (wrt u_{w_s} with
    repeats counted), "j.i" (∂J_sg/∂U (d,V), J = naive softmax), "j.ii"
    (∂J_sg/∂v_c (d,)), "j.iii" (∂J_sg/∂v_w for w=point.w≠c, (d,) zeros)}.

    Method: the loss at the point's own sizes and indices (``d``, ``V``, ``c``,
    ``o``, negatives, window) is built from the handout equations and
    differentiated with :func:`sympy.diff` — the same code path as
    :func:`verify_all`, whose rows prove that this derivative equals the closed
    form the reference implements — and the derivative is lambdified and
    evaluated (cached per problem).  No closed form is evaluated here.  Part
    "f" raises at ``x = 0`` (derivative undefined).  The lambdified
    expressions are not overflow-safe: keep ``|u_wᵀv_c|`` below ~300.
    """
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
    if part in ("f", "g"):
        if part == "f" and point.x == 0:
            raise ValueError("Leaky ReLU is not differentiable at x = 0")
        return _scalar_function(part)(point.x, point.alpha)
    _check_point(part, point)
    dU, dVc = problem(_point_key(part, point)).numeric(point.U, point.Vc)
    return np.array(_select_part(part, point, dU, dVc), float)
