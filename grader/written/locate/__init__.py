"""Locate stage: finding the answers per part in a free-form answer sheet (.md, .tex, .txt).

Pipeline:

1. :func:`load_document` reads the file; LaTeX sources are reduced to the
   same shape as Markdown (sections become headings, ``enumerate`` items get
   ``(a)``/``(i)`` labels, ``solution`` environments become ``Solution:``).
2. :func:`find_math` finds every math fragment (``$$…$$``, ``\\[…\\]``,
   ``equation``/``align`` environments, ``$…$``, ``\\(…\\)``).
3. :func:`find_blocks` finds part markers at line starts outside math —
   ``(b)``, ``Q1 (c)``, ``## c)``, ``1(d)``, ``(i)``/``i.`` sub-parts,
   ``Answer: i.`` — and resolves ``(i)`` (part i or sub-part i) from the
   sequence.  Markers under a heading of section 2 or later (the coding part)
   are not part of the written derivations, except 2(c), the plot discussion.
4. Inside each block, paragraphs of copied question text (recognised by
   phrases of the handouts) and text before an ``Answer:``/``Solution``
   marker are skipped; the rest is the answer region.
5. :func:`find_equations` lists the equations of each answer region with
   their left-hand side, condition, whether they are boxed and whether an
   answer cue ("the derivative is") precedes them.

Routing answers to handout parts by what they differentiate happens in
:mod:`grader.written.grade`.

Modules: :mod:`.sources` (loading, LaTeX reduction, macros), :mod:`.fragments` (math and
plain-text equations), :mod:`.markers` (part markers, blocks, other assignments' sections),
:mod:`.regions` (copied question text, answer spans, placeholders), :mod:`.equations` (the
equations of an answer region with their cues and case conditions), :mod:`.document`.
"""

from __future__ import annotations

from grader.written.locate.document import Document
from grader.written.locate.equations import FoundEquation, condition_of_fragment, find_equations, mentions_reference
from grader.written.locate.fragments import ascii_to_latex, find_math
from grader.written.locate.markers import Block, find_blocks, other_assignment_spans
from grader.written.locate.regions import is_placeholder, is_question_text
from grader.written.locate.sources import expand_macros, load_document

__all__ = ["Block", "Document", "FoundEquation", "ascii_to_latex", "condition_of_fragment", "expand_macros", "find_blocks", "find_equations", "find_math", "is_placeholder", "is_question_text", "load_document", "mentions_reference", "other_assignment_spans"]
