"""Verdict stage: the ladder that compares a student's expression with the reference gradient.

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

Modules: :mod:`.parts` (verdicts, part IDs, what each part asks and its cases),
:mod:`.references` (the evaluation draws and the reference values, cached on disk),
:mod:`.ladder` (binding a candidate to a case, comparing, recovering intent, :func:`judge`).
"""

from __future__ import annotations

from grader.written.verdict.ladder import evaluate_part, judge, recover_intent
from grader.written.verdict.parts import (
    AUTOMATIC,
    EXPRESSION_PARTS,
    FREE_TEXT_PARTS,
    PART_IDS,
    PART_TITLES,
    SPECS,
    Candidate,
    Case,
    PartSpec,
    PartVerdict,
    Verdict,
)
from grader.written.verdict.references import draws, reference

__all__ = ["AUTOMATIC", "Candidate", "Case", "EXPRESSION_PARTS", "FREE_TEXT_PARTS", "PART_IDS", "PART_TITLES", "PartSpec", "PartVerdict", "SPECS", "Verdict", "draws", "evaluate_part", "judge", "recover_intent", "reference"]
