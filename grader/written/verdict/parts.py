"""The verdicts, the handout's part IDs and what each expression part asks (:data:`SPECS`: its
family, its cases — w = o / w ≠ o, x < 0 / x > 0 — and what must not appear), and the
:class:`Candidate` a student's final expression becomes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Union

from grader.written.parse import Node


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
