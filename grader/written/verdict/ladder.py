"""The ladder itself: bind each candidate to the case it answers, evaluate it at every draw, compare
with the reference (equal, negated, transposed, row convention), recover the intent of an
ill-typed answer, and give one verdict with a reason a TA can act on (:func:`judge`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

from grader.written.parse import Add, Mul, Node, Sym, T, to_text, walk
from grader.written.typed_eval import (
    Context,
    EvalError,
    Evaluator,
    IndexVal,
    ShapeError,
    Unsupported,
    ZeroVal,
    as_array,
)
from grader.written.verdict.parts import SPECS, Candidate, Case, PartSpec, Verdict
from grader.written.verdict.references import _DISK, case_point, draws, reference

# --------------------------------------------------------------------------- binding cases


def target_index(case: Case, point) -> Optional[IndexVal]:
    if case.neg:
        return IndexVal("neg", point.negatives[point.s], point.s)
    if case.word == "o":
        return IndexVal("word", point.o)
    if case.word == "w":
        return IndexVal("word", point.w)
    return None


def bindings(case: Case, point, wrt: Optional[Node]) -> Optional[dict]:
    """Free-index bindings for a candidate in a case; None if the candidate is not about this case."""
    target = target_index(case, point)
    if target is None:
        return {}
    default = "s" if case.neg else "w"
    if wrt is None or not isinstance(wrt, Sym) or wrt.sub is None:
        return {default: target}
    sub = wrt.sub
    if sub == Sym("o"):
        return {} if (case.word == "o") else None
    if isinstance(sub, Sym) and sub.sub is None and sub.name != "c":
        if case.neg and sub.name == "w":
            return {"w": IndexVal("word", target.word)}
        return {sub.name: target}
    if isinstance(sub, Sym) and sub.name == "w" and isinstance(sub.sub, Sym) and sub.sub.sub is None:
        return {sub.sub.name: target}
    return None


def applies(cand: Candidate, case: Case, point, spec: PartSpec) -> Optional[dict]:
    """Bindings if ``cand`` answers ``case`` at ``point`` (condition holds), else None."""
    free = bindings(case, point, cand.wrt)
    if free is None:
        return None
    if cand.condition is not None and not _is_otherwise(cand.condition):
        if not free and case.word == "o":  # ∂J/∂u_o stated "for w = o": the condition names w
            free = {"w": target_index(case, point)}
        ctx = Context(case_point(case, point), spec.family, free)
        if not Evaluator(ctx).condition(cand.condition, {}):
            return None
    return free


def _is_otherwise(cond) -> bool:
    from grader.written.parse import Text

    return isinstance(cond, Text)


def choose(cands: list[Candidate], case: Case, point, spec: PartSpec) -> tuple[Candidate, dict]:
    """The candidate answering ``case``.

    Preference: the last one whose case condition holds (or that is about u_o
    itself), then the last 'otherwise'/unconditioned one.
    """
    usable = []
    for cand in cands:
        free = applies(cand, case, point, spec)
        if free is not None:
            usable.append((cand, free))
    if not usable:
        where = f" for the case {case.label}" if case.label else ""
        raise Unsupported(f"no final expression{where}")
    specific = [u for u in usable if (u[0].condition is not None and not _is_otherwise(u[0].condition))
                or u[0].wrt == Sym("u", Sym("o"))]
    return (specific or usable)[-1]


# --------------------------------------------------------------------------- comparing


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(b))) if np.size(b) else 1.0)
    return bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=1e-7, atol=1e-9 * scale))


def compare(value, ref) -> str:
    """'correct', 'sign', 'transposed', 'transposed_sign', 'wrong' or 'shape' (wrong type)."""
    value = as_array(value)
    ref_arr = np.asarray(ref, float)
    if isinstance(value, ZeroVal):
        return "correct" if _close(np.zeros_like(ref_arr), ref_arr) else "wrong"
    val = np.asarray(value, float)
    if not np.all(np.isfinite(val)):
        raise Unsupported("the expression is not finite at the evaluation point")
    if ref_arr.ndim == 0 or val.ndim == 0:
        if ref_arr.ndim != val.ndim:
            return "shape"
        return "correct" if _close(val, ref_arr) else "sign" if _close(-val, ref_arr) else "wrong"
    if val.shape == ref_arr.shape:
        if _close(val, ref_arr):
            return "correct"
        return "sign" if _close(-val, ref_arr) else "wrong"
    if val.shape == ref_arr.T.shape:
        if _close(val, ref_arr.T):
            return "transposed"
        return "transposed_sign" if _close(-val, ref_arr.T) else "shape"
    return "shape"


@dataclass
class Outcome:
    """Per-case labels after evaluating at every draw (or the first evaluation error)."""

    labels: dict  # case label -> label ('correct', ...)
    error: Optional[EvalError] = None
    notes: set = field(default_factory=set)
    shapes: dict = field(default_factory=dict)  # case label -> shape description of the student's value


def evaluate_part(part: str, cands: list[Candidate], row: bool = False,
                  override: Optional[Callable[[Candidate], Node]] = None) -> Outcome:
    """Evaluate the candidates of ``part`` at every draw and case and label each case."""
    spec = SPECS[part]
    labels: dict = {}
    notes: set = set()
    shapes: dict = {}
    for point in draws(spec.distinct):
        for case in spec.cases:
            pt = case_point(case, point)
            try:
                cand, free = choose(cands, case, pt, spec)
                node = override(cand) if override else cand.node
                if isinstance(node, str):
                    raise Unsupported(f"cannot read the final expression ({node})")
                ctx = Context(pt, spec.family, free, row, _ref_fn(pt), spec.forbid)
                value = Evaluator(ctx).value(node)
                notes |= ctx.notes
                target = reference(case.ref, pt)
                if row and spec.wrt_matrix:
                    target = np.asarray(target).T
                label = compare(value, target)
                shapes[case.label] = _describe(value, pt)
            except EvalError as exc:
                return Outcome(labels, exc, notes, shapes)
            prev = labels.get(case.label)
            labels[case.label] = label if prev in (None, label) else "wrong"
    return Outcome(labels, None, notes, shapes)


def _ref_fn(point) -> Callable[..., np.ndarray]:
    return lambda part, **changes: reference(part, point, **changes)


def _describe(value, point) -> str:
    from grader.written.typed_eval import shape_name

    ctx = Context(point, "")
    return shape_name(as_array(value) if not isinstance(value, ZeroVal) else 0.0, ctx)


# --------------------------------------------------------------------------- recovery of intent


def _variants(node: Node) -> Iterable[tuple[Node, str]]:
    """Single-edit readings of an ill-typed tree: swap a product, drop or add one transpose."""
    nodes = list(walk(node))
    for target in nodes:
        if isinstance(target, Mul):
            swapped = Mul(target.right, target.left)
            yield _replace_once(node, target, swapped), f"reading {to_text(target)} as {to_text(swapped)}"
        if isinstance(target, T):
            yield _replace_once(node, target, target.arg), f"reading {to_text(target)} as {to_text(target.arg)}"
        if (isinstance(target, Sym) and _is_array_symbol(target) or isinstance(target, Add)) \
                and not _inside_transpose(node, target):
            yield _replace_once(node, target, T(target)), f"reading {to_text(target)} as {to_text(T(target))}"


def _is_array_symbol(s: Sym) -> bool:
    return (s.sub is None and s.name in ("U", "y", "yhat")) or (s.name in ("u", "v") and s.sub is not None)


def _inside_transpose(root: Node, target: Node) -> bool:
    return any(isinstance(n, T) and n.arg is target for n in walk(root))


def _replace_once(root: Node, old: Node, new: Node) -> Node:
    done = []

    def swap(n):
        if n is old and not done:
            done.append(True)
            return new
        return None

    return _identity_transform(root, swap)


def _identity_transform(node, fn):
    """Like :func:`transform` but top-down and by identity (so equal subtrees are not all replaced)."""
    out = fn(node)
    if out is not None:
        return out
    if isinstance(node, tuple):
        return tuple(_identity_transform(i, fn) for i in node)
    if not dataclasses.is_dataclass(node):
        return node
    changes = {f.name: _identity_transform(getattr(node, f.name), fn) for f in dataclasses.fields(node)}
    return dataclasses.replace(node, **changes)


def recover_intent(part: str, cands: list[Candidate]) -> Optional[str]:
    """A one-edit reading under which the answer is correct (description), or None."""
    for cand in cands:
        if isinstance(cand.node, str):
            continue
        for variant, how in _variants(cand.node):
            out = evaluate_part(part, cands, override=lambda c, v=variant, k=cand: v if c is k else c.node)
            if out.error is None and all(v == "correct" for v in out.labels.values()):
                return how
    return None


# --------------------------------------------------------------------------- the ladder


def _case_note(labels: dict, wanted: set) -> str:
    cases = [c for c, v in labels.items() if v in wanted and c]
    bad = [c for c, v in labels.items() if v != "correct"]
    if cases and len(bad) < len(labels):
        return " (case " + ", ".join(cases) + "; the other case is right)"
    return ""


def _uses_U(cands: list[Candidate]) -> bool:
    return any(not isinstance(c.node, str) and any(n == Sym("U") for n in walk(c.node)) for c in cands)


def judge(part: str, cands: list[Candidate]) -> tuple[Verdict, str]:
    """Verdict and reason for the final expression(s) of an expression-valued ``part``."""
    try:
        return _judge(part, cands)
    finally:
        _DISK.flush()


def _judge(part: str, cands: list[Candidate]) -> tuple[Verdict, str]:
    spec = SPECS[part]
    out = evaluate_part(part, cands)
    guesses = sorted(out.notes | {n for c in cands for n in c.notes})
    guess_text = ("; " + "; ".join(guesses)) if guesses else ""
    if out.error is not None and not isinstance(out.error, ShapeError):
        return Verdict.NEEDS_HUMAN, f"{out.error}"
    if out.error is not None:
        return _shape_branch(part, cands, str(out.error), guess_text)
    labels = out.labels
    values = set(labels.values())
    if values == {"correct"}:
        return Verdict.CORRECT, "equals the reference gradient at every test point" + _cases_text(spec) + guess_text
    if guesses:
        return Verdict.NEEDS_HUMAN, "does not match the reference, but reading it needed a guess" + guess_text
    if values <= {"correct", "sign"}:
        return Verdict.SIGN_ERROR, "equals the reference with the opposite sign" + _case_note(labels, {"sign"})
    if values <= {"correct", "transposed"}:
        if spec.wrt_matrix:
            return Verdict.ROW_CONVENTION, ("the transpose of the reference: true for outside vectors stored as "
                                            "rows (|V|×d); the handout's U is d×|V| with words as columns")
        shape = next(iter(out.shapes.values()), "")
        return Verdict.TRANSPOSED, (f"the transpose of the reference (a {shape} row instead of a column, "
                                    "against the shape convention)" + _case_note(labels, {"transposed"}))
    row = _row_convention(part, cands)
    if row:
        return Verdict.ROW_CONVENTION, row
    if "shape" in values and values <= {"correct", "shape"}:
        shape = ", ".join(f"{v}" for v in out.shapes.values())
        return Verdict.SHAPE_ERROR, f"well-formed but of the wrong shape ({shape})"
    return Verdict.INCORRECT, "differs from the reference gradient" + _case_note(labels, {"wrong", "shape"})


def _cases_text(spec: PartSpec) -> str:
    labels = [c.label for c in spec.cases if c.label]
    return f" (cases {' and '.join(labels)})" if labels else ""


def _row_convention(part: str, cands: list[Candidate]) -> str:
    if not _uses_U(cands):
        return ""
    out = evaluate_part(part, cands, row=True)
    if out.error is None and set(out.labels.values()) == {"correct"}:
        return ("true for outside vectors stored as rows (U is |V|×d); the handout's U is d×|V| with words "
                "as columns")
    return ""


def _shape_branch(part: str, cands: list[Candidate], message: str, guess_text: str) -> tuple[Verdict, str]:
    row = _row_convention(part, cands)
    if row:
        return Verdict.ROW_CONVENTION, row
    how = recover_intent(part, cands)
    if how:
        return Verdict.SHAPE_ERROR, f"ill-typed: {message}; intent recoverable: {how} gives the reference gradient"
    return Verdict.SHAPE_ERROR, f"ill-typed: {message}" + guess_text
