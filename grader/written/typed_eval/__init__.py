"""Typed numeric evaluation of an answer tree at a :class:`HandoutPoint`.

Every symbol gets its handout meaning and shape:

=================  ==========================================================
``U``              d×|V| matrix, outside vectors as **columns** (``row_convention``
                   evaluates it as the |V|×d matrix with words as rows instead)
``u_X``, ``v_c``   d×1 columns (``X`` = ``o``, ``w``, ``w_s``, ``k`` … see below)
``y``, ``ŷ``       |V|×1 columns (one-hot at ``o``; ``softmax(Uᵀv_c)``)
``y_X``, ``ŷ_X``   scalars
``σ``, ``exp``,    element-wise functions; ``σ'`` is ``σ(1−σ)``
``log``
``𝟏``              ones vector, length from its context
``x``, ``α``       the scalars of parts f and g
``∂J(v_c,w_{t+j},U)/∂U`` …  the per-term reference gradient (naive softmax)
=================  ==========================================================

Products are matrix products in written order (a 1×1 result is a scalar);
adding or multiplying incompatible shapes raises :class:`ShapeError`.  Since
``d``, ``|V|`` and ``K`` are pairwise different in every draw, a product that
only type-checks "by accident" cannot occur.

Indices: a sum binds its variable to the vocabulary (``Σ_w``, ``Σ_{w∈Vocab}``,
upper bound ``|V|``), to the K negative samples (upper bound ``K`` or the
part's default) or to the window (``-m ≤ j ≤ m, j ≠ 0``).  ``w_k`` is the word
of sample ``k``; ``u_k`` with ``k`` a sample index is ``u_{w_k}``.  Free indices
(``w`` in part d, ``s`` in part h) are bound by the caller per case.

Whatever has no meaning here (unknown symbol, ``J`` itself, a set, a
condition that cannot be decided) raises :class:`UnknownSymbol` or
:class:`Unsupported`, which the verdict ladder turns into NEEDS_HUMAN.

Modules: :mod:`.values` (the value types, the evaluation context, shapes and the typed
arithmetic), :mod:`.evaluator` (the tree walk: symbols, sums, σ, cases, conditions).
"""

from __future__ import annotations

from grader.written.typed_eval.evaluator import Evaluator, as_array, column, evaluate
from grader.written.typed_eval.values import (
    ZERO,
    Context,
    EvalError,
    IndexVal,
    Lit,
    OnesVal,
    ShapeError,
    UnknownSymbol,
    Unsupported,
    Value,
    ZeroVal,
    shape_name,
)

__all__ = ["Context", "EvalError", "Evaluator", "IndexVal", "Lit", "OnesVal", "ShapeError", "UnknownSymbol", "Unsupported", "Value", "ZERO", "ZeroVal", "as_array", "column", "evaluate", "shape_name"]
