"""A loaded answer sheet (:class:`Document`): its text, math, masked text and blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.written.locate.equations import FoundEquation, find_equations, prose_of
from grader.written.locate.fragments import MathSeg, find_bare_math, find_math, mask_math
from grader.written.locate.markers import Block, find_blocks
from grader.written.locate.regions import answer_spans
from grader.written.locate.sources import expand_macros

# --------------------------------------------------------------------------- document


@dataclass
class Document:
    """A loaded answer sheet with its math, masked text and blocks."""

    text: str
    masked: str
    math: list[MathSeg]
    blocks: list[Block]

    @classmethod
    def from_text(cls, text: str) -> Document:
        text = expand_macros(text)
        math = find_math(text)
        math = sorted(math + find_bare_math(text, math), key=lambda seg: seg.start)
        masked = mask_math(text, math)
        return cls(text, masked, math, find_blocks(text, masked))

    def equations(self, block: Block) -> list[FoundEquation]:
        return find_equations(self.text, self.masked, self.math, block)

    def prose(self, block: Block) -> str:
        return prose_of(self.masked, answer_spans(self.text, self.masked, block))

    def answer_text(self, block: Block, limit: int = 600) -> str:
        """The raw answer text of a block (math included), shortened for reports."""
        pieces = [self.text[a:b].strip().lstrip(".*_: ").strip() for a, b in answer_spans(self.text, self.masked, block)]
        raw = "\n\n".join(p for p in pieces if p)
        return raw if len(raw) <= limit else raw[: limit - 1] + "…"
