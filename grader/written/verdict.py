"""The verdict ladder: compare a student's expression with the reference gradient.

For one handout part, :func:`judge` evaluates the student's final
expression(s) with :mod:`grader.written.typed_eval` at several random
:class:`~reference.derivations.HandoutPoint` draws (d, |V|, K pairwise
different) and for every case of the part (w = o / w ≠ o in d, x < 0 / x > 0
in f), and compares with :func:`reference.derivations.reference_value`:

1. an unknown symbol / unsupported construct / unparsable final expression
   → NEEDS_HUMAN with the reason;
2. ill-typed → ROW_CONVENTION if it is right when U stores words as rows,
   else SHAPE_ERROR (with the corrected reading when one edit — swapping two
   factors, adding or dropping one transpose — makes it right);
3. equal at every draw and case → CORRECT; equal to the negative → SIGN_ERROR;
   equal to the transpose → TRANSPOSED (ROW_CONVENTION for ∂/∂U parts);
   right under the row convention → ROW_CONVENTION; otherwise INCORRECT —
   unless the reading needed a guess (e.g. an unbounded Σ), then NEEDS_HUMAN.

A wrong answer is never CORRECT: CORRECT needs agreement to 1e-7 at every draw
and case, and every symbol must have had an unambiguous meaning.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

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
    column,
)


class Verdict(str, enum.Enum):
    """Outcome for one handout part (the JSON value is the name)."""

    CORRECT = "CORRECT"
    SIGN_ERROR = "SIGN_ERROR"
    TRANSPOSED = "TRANSPOSED"
    ROW_CONVENTION = "ROW_CONVENTION"
    SHAPE_ERROR = "SHAPE_ERROR"
    INCORRECT = "INCORRECT"
    UNANSWERED = "UNANSWERED"
    NEEDS_HUMAN = "NEEDS_HUMAN"


PART_IDS: tuple[str, ...] = (
    "a", "b.i", "b.ii", "b.iii", "c", "d", "e", "f", "g", "h.i.vc", "h.i.uo", "h.i.uws", "h.ii", "h.iii", "i",
    "j.i", "j.ii", "j.iii",
)
FREE_TEXT_PARTS = frozenset({"a", "b.ii", "b.iii", "c", "h.ii", "h.iii"})
EXPRESSION_PARTS = tuple(p for p in PART_IDS if p not in FREE_TEXT_PARTS)
AUTOMATIC = frozenset({Verdict.CORRECT, Verdict.SIGN_ERROR, Verdict.TRANSPOSED, Verdict.ROW_CONVENTION,
                       Verdict.SHAPE_ERROR, Verdict.INCORRECT})

PART_TITLES = {
    "a": "(a) naive-softmax = cross-entropy", "b.i": "(b)(i) ∂J/∂v_c", "b.ii": "(b)(ii) when is it zero",
    "b.iii": "(b)(iii) interpretation", "c": "(c) L2 normalisation", "d": "(d) ∂J/∂u_w (w = o, w ≠ o)",
    "e": "(e) ∂J/∂U", "f": "(f) Leaky ReLU′", "g": "(g) σ′(x)", "h.i.vc": "(h)(i) neg. sampling ∂J/∂v_c",
    "h.i.uo": "(h)(i) neg. sampling ∂J/∂u_o", "h.i.uws": "(h)(i) neg. sampling ∂J/∂u_{w_s}",
    "h.ii": "(h)(ii) reused quantity", "h.iii": "(h)(iii) why it is cheaper", "i": "(i) ∂J/∂u_{w_s}, repeats",
    "j.i": "(j)(i) ∂J_sg/∂U", "j.ii": "(j)(ii) ∂J_sg/∂v_c", "j.iii": "(j)(iii) ∂J_sg/∂v_w, w ≠ c",
}


@dataclass
class PartVerdict:
    """Result for one handout part (the JSON contract's entry, plus ``mapping`` and ``text``)."""

    part: str
    verdict: Verdict
    latex: str = ""
    reason: str = ""
    source: str = ""
    mapping: str = ""
    text: str = ""

    def to_json(self) -> dict:
        return {
            "part": self.part, "verdict": self.verdict.value, "latex": self.latex, "reason": self.reason,
            "source": self.source, "mapping": self.mapping, "text": self.text,
        }


@dataclass
class Candidate:
    """A student's final expression for (a case of) a part.

    ``node`` is the parsed tree, or the parse error message; ``wrt`` the
    variable of the derivative on the left-hand side (None for a bare
    expression); ``condition`` a case condition (``w = o``) or None.
    """

    node: Union[Node, str]
    latex: str
    condition: Optional[Node] = None
    wrt: Optional[Node] = None
    source: str = ""
    how: str = ""
    notes: list[str] = field(default_factory=list)
    written: str = ""  # the equation as the student wrote it
    line: int = 0  # line of the document where it was found


@dataclass(frozen=True)
class Case:
    """One case of a part: reference part and how its free index is bound."""

    label: str
    ref: str
    word: Optional[str] = None  # 'o' or 'w' (point.w ≠ o): the word whose gradient is asked
    neg: bool = False  # the free index is the sample position s
    x_sign: int = 0


@dataclass(frozen=True)
class PartSpec:
    family: str
    cases: tuple
    wrt_matrix: bool = False
    distinct: bool = False
    forbid: frozenset = frozenset()


SPECS: dict[str, PartSpec] = {
    "b.i": PartSpec("naive", (Case("", "b.i"),)),
    "d": PartSpec("naive", (Case("w = o", "d.uo", word="o"), Case("w ≠ o", "d.uw", word="w"))),
    "e": PartSpec("naive", (Case("", "e"),), wrt_matrix=True),
    "f": PartSpec("scalar", (Case("x < 0", "f", x_sign=-1), Case("x > 0", "f", x_sign=1)),
                  forbid=frozenset({"f"})),
    "g": PartSpec("scalar", (Case("", "g"),), forbid=frozenset({"dsigma"})),
    "h.i.vc": PartSpec("neg", (Case("", "h.i.vc"),), distinct=True),
    "h.i.uo": PartSpec("neg", (Case("", "h.i.uo", word="o"),), distinct=True),
    "h.i.uws": PartSpec("neg", (Case("", "h.i.uws", neg=True),), distinct=True),
    "i": PartSpec("neg", (Case("", "i", neg=True),)),
    "j.i": PartSpec("skip", (Case("", "j.i"),), wrt_matrix=True),
    "j.ii": PartSpec("skip", (Case("", "j.ii"),)),
    "j.iii": PartSpec("skip", (Case("", "j.iii", word="w"),)),
}

SIZES = ((3, 7, 4), (4, 6, 5), (5, 8, 3))
"""(d, |V|, K) of the evaluation draws: pairwise different, so shape mistakes cannot cancel."""


# --------------------------------------------------------------------------- reference points


def _derivations():
    from reference import derivations

    return derivations


@functools.cache
def draws(distinct: bool) -> tuple:
    """Fixed random points (seeded): distinct negatives for part h, repeats elsewhere."""
    d = _derivations()
    rng = np.random.default_rng(20240123 + int(distinct))
    return tuple(d.random_point(rng, d=a, V=b, K=k, m=2, repeats=not distinct) for a, b, k in SIZES)


_REF_CACHE: dict = {}


def reference(part: str, point, **changes) -> Union[np.ndarray, float]:
    """Cached ``reference_value(part, point with fields replaced)`` (vectors as columns).

    The cache entry keeps ``point`` alive, so its ``id`` cannot be reused by another point.
    """
    key = (id(point), part, tuple(sorted(changes.items())))
    hit = _REF_CACHE.get(key)
    if hit is None or hit[0] is not point:
        p = dataclasses.replace(point, **changes) if changes else point
        value = _DISK.get(p, part)
        if value is None:
            value = _derivations().reference_value(part, p)
            _DISK.put(p, part, value)
        hit = (point, value if np.isscalar(value) or np.ndim(value) == 0 else column(value))
        _REF_CACHE[key] = hit
    return hit[1]


class _DiskCache:
    """Reference values on disk (``$W2V_CACHE_DIR/written``, default ``~/.cache/w2v-grader/written``).

    The draws are fixed, so the values are too: the sympy derivation (tens of seconds) is paid once per
    machine, not once per run.  Entries are keyed by the point's full content and the part; the file
    name carries the hash of ``reference/derivations.py``, so a changed derivation never reads old values.
    Any I/O problem just means computing again.
    """

    def __init__(self) -> None:
        self.values: Optional[dict] = None
        self.dirty = False

    @functools.cached_property
    def path(self) -> Path:
        root = Path(os.environ.get("W2V_CACHE_DIR") or Path.home() / ".cache" / "w2v-grader")
        source = Path(_derivations().__file__).read_bytes()
        return root / "written" / f"reference-{hashlib.sha256(source).hexdigest()[:16]}.json"

    @staticmethod
    def key(point, part: str) -> str:
        digest = hashlib.sha256(part.encode())
        for f in dataclasses.fields(point):
            value = getattr(point, f.name)
            digest.update(f.name.encode())
            digest.update(np.ascontiguousarray(value).tobytes() if isinstance(value, np.ndarray)
                          else repr(value).encode())
        return digest.hexdigest()

    def _load(self) -> dict:
        if self.values is None:
            try:
                self.values = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(self.values, dict):
                    self.values = {}
            except Exception:  # no home, unreadable or corrupt file: compute again
                self.values = {}
        return self.values

    def get(self, point, part: str):
        entry = self._load().get(self.key(point, part))
        if not isinstance(entry, dict):
            return None
        try:
            value = np.asarray(entry["data"], float).reshape(entry["shape"])
        except (KeyError, TypeError, ValueError):
            return None
        return float(value) if value.ndim == 0 else value

    def put(self, point, part: str, value) -> None:
        arr = np.asarray(value, float)
        self._load()[self.key(point, part)] = {"shape": list(arr.shape), "data": arr.ravel().tolist()}
        self.dirty = True

    def flush(self) -> None:
        if not self.dirty or self.values is None:
            return
        self.dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.values, fh)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except Exception:  # a read-only or missing cache folder only costs time
            pass


_DISK = _DiskCache()


@functools.cache
def _case_points(distinct: bool) -> dict:
    """Every (draw, case) point, built once so that the reference cache sees stable objects."""
    table = {}
    for k, point in enumerate(draws(distinct)):
        x = abs(point.x) if abs(point.x) > 1e-3 else 0.7
        table[(k, -1)] = dataclasses.replace(point, x=-x)
        table[(k, 1)] = dataclasses.replace(point, x=x)
    return table


def case_point(case: Case, point):
    """The draw adjusted for the case (sign of x for part f)."""
    if case.x_sign:
        for distinct in (False, True):
            pts = draws(distinct)
            for k, p in enumerate(pts):
                if p is point:
                    return _case_points(distinct)[(k, case.x_sign)]
        x = abs(point.x) if abs(point.x) > 1e-3 else 0.7
        return dataclasses.replace(point, x=case.x_sign * x)
    return point


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

