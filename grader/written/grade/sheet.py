"""Grading one answer sheet (step 3 and the entry points): route located equations to handout parts, then judge them.

Routing is by **content** first: the variable on the left-hand side of the
derivative (∂/∂v_c, ∂/∂u_w, ∂/∂U, ∂/∂x …), the loss named in it
(``J_{neg-sample}``, ``J_{skip-gram}``) and the right-hand side (σ means
negative sampling, ``w_{t+j}`` the skip-gram window).  The student's letters
are then matched against known handout numberings (2024; 2022–23, which had
no Leaky ReLU or L2 question; 2019–21) to find the free-text parts and the
expression parts that content alone cannot place (bare expressions, prose,
"same as previous part").  The numberings and what each part computes are data
(``data/handouts.toml``, loaded by :mod:`grader.written.handouts`).  Every part's ``mapping`` says which rule placed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.written.grade.collect import ContentRouter
from grader.written.grade.placing import (
    _ANNOUNCED,
    _ONE_PER_LETTER,
    _ROMAN_OF,
    NO_MARKERS,
    _bare_expression,
    _case_of,
    _could_be_answer,
    _gave_up,
    _label,
    _only_labels,
    _raw_latex,
    _related,
    _shown,
    _substantive,
)
from grader.written.grade.route import _answer_family, _inner_wrt, _window_sum
from grader.written.handouts import FREE_TEXT_HOME, SCHEME_NAMES, SCHEMES, SHORT_NAMES
from grader.written.locate import (
    Block,
    Document,
    FoundEquation,
    condition_of_fragment,
    is_placeholder,
    load_document,
    mentions_reference,
)
from grader.written.normalize import render_text
from grader.written.parse import Num, Sum, Zero, to_text
from grader.written.verdict import (
    AUTOMATIC,
    EXPRESSION_PARTS,
    FREE_TEXT_PARTS,
    PART_IDS,
    SPECS,
    Candidate,
    PartVerdict,
    Verdict,
    judge,
)

# --------------------------------------------------------------------------- student report


@dataclass
class StudentReport:
    """All verdicts for one answer sheet."""

    student: str
    path: str
    parts: list[PartVerdict]
    extra: list[PartVerdict] = field(default_factory=list)
    scheme: str = "2024"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        counts: dict[str, int] = {v.value: 0 for v in Verdict}
        for p in self.parts:
            counts[p.verdict.value] += 1
        expr = [p for p in self.parts if p.part in EXPRESSION_PARTS]
        answered = [p for p in expr if p.verdict != Verdict.UNANSWERED]
        auto = [p for p in answered if p.verdict in AUTOMATIC]
        return {
            "counts": counts, "expression_parts": len(expr), "expression_answered": len(answered),
            "expression_automatic": len(auto), "correct": counts["CORRECT"],
            "needs_human": counts["NEEDS_HUMAN"], "numbering": SCHEME_NAMES.get(self.scheme, self.scheme),
        }

    def to_json(self) -> dict:
        return {
            "student": self.student, "file": self.path, "numbering": self.scheme,
            "parts": [p.to_json() for p in self.parts], "extra_parts": [p.to_json() for p in self.extra],
            "summary": self.summary(), "notes": self.notes,
        }




class Grader(ContentRouter):
    """Grades one document: content routing (:class:`ContentRouter`), then one verdict per part."""

    def grade(self) -> list[PartVerdict]:
        self.collect()
        self.detect_scheme()
        results = []
        for part in PART_IDS:
            if part in FREE_TEXT_PARTS:
                results.append(self.free_text(part))
            else:
                results.append(self.expression(part))
        if not self.blocks and self.doc.text.strip():
            # no "(a)", "Q1 (b)", "## c)" … anywhere: the answers cannot be told apart, but they may be there
            results = [PartVerdict(r.part, Verdict.NEEDS_HUMAN, reason=NO_MARKERS, mapping="none (no part markers)")
                       for r in results]
        return results

    def expression(self, part: str) -> PartVerdict:
        items = self.routed.get(part, [])
        if items:
            return self._judge_routed(part, items)
        return self._by_letter(part)

    def _judge_routed(self, part: str, items: list) -> PartVerdict:
        consistent = [it for it in items if self.consistent(part, it[1])]
        items = consistent or items
        slots: dict[tuple, list] = {}
        for cand, block, mapping in items:
            key = (to_text(cand.wrt) if cand.wrt is not None else "", to_text(cand.condition)
                   if cand.condition is not None else "")
            slots.setdefault(key, []).append((cand, block, mapping))
        chosen, alternatives = [], []
        for entries in slots.values():
            boxed = [e for e in entries if "boxed" in e[0].notes]
            pick = (boxed or entries)[-1]
            chosen.append(pick)
            # an expression only announced in the text ("the derivative is $…$") after an equation for the
            # same derivative: both must agree, or a TA decides which one is the answer
            stated = [e for e in entries if e is not pick and not e[0].how.startswith(_ANNOUNCED)]
            if pick[0].how.startswith(_ANNOUNCED) and stated:
                alternatives.append((pick, stated[-1]))
        cands = [c for c, _, _ in chosen]
        verdict, reason = judge(part, cands)
        for pick, other in alternatives:
            alt = [other[0] if c is pick[0] else c for c in cands]
            alt_verdict, alt_reason = judge(part, alt)
            if alt_verdict != verdict:
                return PartVerdict(
                    part, Verdict.NEEDS_HUMAN, _raw_latex(cands),
                    f"two final expressions for this derivative disagree: the equation on line {other[0].line} is "
                    f"{alt_verdict.value} ({alt_reason}); the expression announced on line {pick[0].line} is "
                    f"{verdict.value} ({reason})",
                    " ; ".join(f"{c.source} ({c.how})" for c in cands), chosen[-1][2], _shown(cands))
        unclear = [e for e in slots.values() if len({c.latex for c, _, _ in e}) > 1 and len(e) > 1]
        if unclear and verdict != Verdict.CORRECT and len(SPECS[part].cases) > 1:
            verdict, reason = Verdict.NEEDS_HUMAN, (
                f"several final expressions for the same derivative and no case condition found for them; "
                f"the last one is {verdict.value} ({reason})")
        mapping = chosen[-1][2]
        if not consistent:
            mapping += f" (its letter suggests another part under the {SHORT_NAMES[self.scheme]})"
        source = " ; ".join(f"{c.source} ({c.how})" for c in cands)
        return PartVerdict(part, verdict, _raw_latex(cands), reason, source, mapping, _shown(cands))

    def _home_block(self, part: str) -> tuple[Optional[Block], Optional[Block]]:
        """The student's block for ``part`` by letter (exact sub-part, or its parent letter block)."""
        wanted = part[0]
        letters = [s for s, h in SCHEMES[self.scheme].items() if h == wanted]
        roman = _ROMAN_OF.get(part)
        exact, parent = None, None
        for b in self.blocks:
            if b.letter not in letters:
                continue
            if roman and b.roman == roman:
                exact = b
            elif b.roman is None and parent is None:
                parent = b
        if roman is None:
            return parent, None
        return exact, parent

    def _by_letter(self, part: str) -> PartVerdict:
        exact, parent = self._home_block(part)
        block = exact if part.startswith("j.") else exact or parent
        scheme = SHORT_NAMES[self.scheme]
        if part.startswith("j.") and parent is not None and (block is None or not self._answers_in(block)):
            inside = self._sub_part_inside(part, parent)
            if inside is not None:
                feq, why, trusted = inside
                mapping = f"by letter: the student's {parent.label} ({scheme}); {why}"
                return self._judge_by_letter(part, feq, mapping, trusted=trusted)
        if block is None:
            return PartVerdict(part, Verdict.UNANSWERED, reason=f"no answer found for this part ({scheme})",
                               mapping=f"by letter ({scheme})")
        mapping = f"by letter: the student's {block.label} ({scheme})"
        source = f"student's {block.label}, line {block.line}"
        eqs = [e for e in self.unrouted.get(self.blocks.index(block), []) if _could_be_answer(e)
               and (block.roman is None or e.roman in (None, block.roman))]  # "(ii) $…$" inside (j)(i) is not (i)
        prose = self.doc.prose(block)
        index = self.blocks.index(block)
        cased = [e for e in self.unrouted.get(index, []) if _case_of(e) is not None and len(e.eq.segments) == 1
                 and condition_of_fragment(e.eq.latex) is None]  # not the "$w \neq o$" of a condition itself
        if len(SPECS[part].cases) > 1 and len({to_text(_case_of(e)) for e in cased}) >= 2:
            return self._judge_cases_by_letter(part, cased, mapping)
        if eqs and (part in _ONE_PER_LETTER or part.startswith("j.")):
            return self._judge_by_letter(part, eqs[-1], mapping)
        ref = mentions_reference(prose)
        if ref:
            return PartVerdict(part, Verdict.NEEDS_HUMAN, self.doc.answer_text(block),
                               f"the answer refers to another part ('{ref}'): {self._reference_hint(part, block)}",
                               source, mapping, prose)
        if eqs:
            return PartVerdict(part, Verdict.NEEDS_HUMAN, eqs[-1].eq.latex,
                               "found math here but not a derivative I can attribute to this part", source, mapping,
                               render_text(eqs[-1].eq.latex))
        bare = _bare_expression(self.doc.answer_text(block))
        if bare is not None and (part in _ONE_PER_LETTER or part.startswith("j.")):
            feq = FoundEquation(bare, block, -1, False, block.line, False, False)
            return self._judge_by_letter(part, feq, mapping + "; plain-text expression")
        gave_up = _gave_up(prose)
        if gave_up and bare is None:
            return PartVerdict(part, Verdict.UNANSWERED, self.doc.answer_text(block),
                               f"the student says it is not answered ('{gave_up}') and no expression for it was found",
                               source, mapping, prose)
        if prose and not _only_labels(prose) or bare is not None:
            return PartVerdict(part, Verdict.NEEDS_HUMAN, self.doc.answer_text(block),
                               "the answer is in words (no expression found)", source, mapping, prose)
        return PartVerdict(part, Verdict.UNANSWERED, self.doc.answer_text(block),
                           "the student's block for this part is empty or a placeholder", source, mapping)

    def _answers_in(self, block: Block) -> list[FoundEquation]:
        """Unrouted answer candidates of ``block`` that carry no other sub-part's inline label."""
        return [e for e in self.unrouted.get(self.blocks.index(block), []) if _could_be_answer(e)
                and (block.roman is None or e.roman in (None, block.roman))]

    def _sub_part_inside(self, part: str, block: Block) -> Optional[tuple[FoundEquation, str, bool]]:
        """The expression answering sub-part ``part`` inside its parent ``block`` (no sub-part markers at
        line starts), with how it was placed and whether that placement is as good as a label:
        an inline label ``(ii) $…$`` (trusted), else the per-term derivative it sums (``∂J(…)/∂U`` → j.i),
        else its position among the block's answer expressions (not trusted: only CORRECT stands)."""
        roman = _ROMAN_OF[part]
        run = [k for k, b in enumerate(self.blocks) if b.letter == block.letter and b.section == block.section]
        labelled = [e for k in run for e in self.unrouted.get(k, []) if e.roman == roman and _could_be_answer(e)]
        if labelled:
            return labelled[-1], f"inline sub-part label ({roman})", True
        eqs = [e for e in self.unrouted.get(self.blocks.index(block), []) if _could_be_answer(e)]
        wanted = {"j.i": "U", "j.ii": "vc"}.get(part)
        if wanted is not None:
            by_content = [e for e in eqs if _inner_wrt(e.eq.final) == wanted]
            if by_content:
                return by_content[-1], f"by content (a sum of ∂J(…)/∂{'U' if wanted == 'U' else 'v_c'})", True
            sums = [e for e in self.unrouted.get(self.blocks.index(block), []) if e.eq.lhs is None
                    and isinstance(e.eq.final, Sum) and _window_sum(e.eq.final) and _inner_wrt(e.eq.final) == wanted]
            if sums:
                return sums[-1], f"by content (a window sum of ∂J(…)/∂{'U' if wanted == 'U' else 'v_c'})", True
        elif part == "j.iii":
            zeros = [e for e in eqs if isinstance(e.eq.final, Zero) or e.eq.final == Num(0)]
            if zeros:
                return zeros[-1], "by content (the expression 0 in the skip-gram part)", False
        answers = [e for e in eqs if e.standalone or e.display]
        index = ("i", "ii", "iii").index(roman)
        if len(answers) == 3:
            return answers[index], f"by position (expression {index + 1} of 3 in the block)", False
        return None

    def _judge_cases_by_letter(self, part: str, cased: list[FoundEquation], mapping: str) -> PartVerdict:
        """A two-case part (d, f) answered by bare expressions each with its own case, placed by letter."""
        cands = [Candidate(e.eq.final, e.eq.final_latex, _case_of(e), None, written=e.written, line=e.line,
                           source=f"student's {e.block.label}, line {e.line}", how="expression with its case")
                 for e in cased]
        verdict, reason = judge(part, cands)
        trusted = bool(self.confirmed) and all(_answer_family(c.node) in (SPECS[part].family, None) for c in cands)
        if trusted:
            mapping += f"; the numbering is certain ({self.confirmed}) and each case has its own expression"
        elif verdict != Verdict.CORRECT and verdict in AUTOMATIC:
            verdict, reason = Verdict.NEEDS_HUMAN, (f"placed by letter only, and it is not right as this part "
                                                    f"({verdict.value}: {reason})")
        return PartVerdict(part, verdict, _raw_latex(cands), reason, " ; ".join(f"{c.source} ({c.how})" for c in cands),
                           mapping, _shown(cands))

    def _judge_by_letter(self, part: str, feq: FoundEquation, mapping: str, trusted: bool = False) -> PartVerdict:
        eq = feq.eq
        cand = Candidate(eq.final, eq.final_latex, eq.condition, None,
                         source=f"student's {feq.block.label}, line {feq.line}", how="last expression of the part")
        verdict, reason = judge(part, [cand])
        # one expression read by letter can only answer a part with one case (d and f have two)
        if not trusted and self.confirmed and len(SPECS[part].cases) == 1 \
                and _answer_family(eq.final) == SPECS[part].family:
            trusted = True
            mapping += f"; the numbering is certain ({self.confirmed}) and the expression is of this part's kind"
        if verdict != Verdict.CORRECT and verdict in AUTOMATIC and not trusted:
            verdict, reason = Verdict.NEEDS_HUMAN, (f"placed by letter only, and it is not right as this part "
                                                    f"({verdict.value}: {reason})")
        return PartVerdict(part, verdict, eq.final_latex, reason, f"{cand.source} ({cand.how})", mapping,
                           render_text(eq.final_latex))

    def _reference_hint(self, part: str, block: Block) -> str:
        index = self.blocks.index(block)
        for prev in reversed(self.blocks[:index]):
            related = [c for p, items in self.routed.items() for c, b, _ in items if b is prev
                       and _related(part, p)]
            if related:
                verdict, _ = judge(part, related[-1:])
                return (f"the expression in the student's {prev.label} ({render_text(related[-1].latex)}) evaluated "
                        f"for this part is {verdict.value}; please confirm")
        return "no earlier expression found to compare"

    def free_text(self, part: str) -> PartVerdict:
        home = FREE_TEXT_HOME.get(self.scheme, {}).get(part)
        scheme = SHORT_NAMES[self.scheme]
        if home is None:
            return PartVerdict(part, Verdict.UNANSWERED, reason=f"not a question in the student's numbering ({scheme})",
                               mapping=f"by letter ({scheme})")
        letter, roman = home
        letters = [letter]
        exact = next((b for b in self.blocks if b.letter in letters and b.roman == roman), None)
        parent = next((b for b in self.blocks if b.letter in letters and b.roman is None), None)
        block = exact or parent
        mapping = f"by letter ({scheme})"
        if block is None:
            return PartVerdict(part, Verdict.UNANSWERED, reason="no answer found for this part", mapping=mapping)
        prose = self.doc.prose(block)
        text = self.doc.answer_text(block)
        source = f"student's {block.label}, line {block.line}"
        dedicated = exact is not None and not (self.scheme != "2024" and part == "h.iii")
        if dedicated and not is_placeholder(text):
            return PartVerdict(part, Verdict.NEEDS_HUMAN, text, "free-text answer: a TA must read it", source,
                               f"by letter: the student's {block.label} ({scheme})", render_text(text))
        gave_up = _gave_up(prose)
        if gave_up and len(prose.split()) <= 30:
            return PartVerdict(part, Verdict.UNANSWERED, text, f"the student says it is not answered ('{gave_up}')",
                               source, mapping)
        if not dedicated and _substantive(prose):
            where = (f"no separate {_label(letter, roman)} found; it may be inside the student's {block.label}"
                     if roman else f"asked inside the student's {block.label}, with its derivations")
            return PartVerdict(part, Verdict.NEEDS_HUMAN, text, f"free-text answer: {where}", source,
                               f"by letter: the student's {block.label} ({scheme})", render_text(text))
        if not dedicated:
            return PartVerdict(part, Verdict.UNANSWERED, "", f"no sentence answering it in the student's "
                               f"{block.label}, where this question was asked", source, mapping)
        return PartVerdict(part, Verdict.UNANSWERED, text, "empty or placeholder answer", source, mapping)

    def plot(self) -> PartVerdict:
        if not self.doc.blocks and self.doc.text.strip():
            return PartVerdict("plot", Verdict.NEEDS_HUMAN, reason=NO_MARKERS, mapping="none (no part markers)")
        if not self.plot_blocks:
            return PartVerdict("plot", Verdict.UNANSWERED, reason="no 2(c) plot discussion found",
                               mapping="by letter: 2(c)")
        block = self.plot_blocks[-1]
        prose = self.doc.prose(block)
        text = self.doc.answer_text(block)
        source = f"student's {block.label}, line {block.line}"
        if _substantive(prose) or re.search(r"!\[|\\includegraphics", text):
            return PartVerdict("plot", Verdict.NEEDS_HUMAN, text, "free-text answer (plot discussion)", source,
                               "by letter: 2(c)", render_text(text))
        return PartVerdict("plot", Verdict.UNANSWERED, text, "empty or placeholder answer", source, "by letter: 2(c)")




def grade_text(text: str, student: str = "", path: str = "", handout: str = "2024") -> StudentReport:
    """Grade an answer sheet given as text."""
    doc = Document.from_text(text)
    grader = Grader(doc, handout)
    parts = grader.grade()
    notes = []
    if grader.scheme != handout:
        notes.append(f"the student follows the {SCHEME_NAMES[grader.scheme]}; parts were matched by content")
    if grader.confirmed:
        notes.append(f"numbering certain: {grader.confirmed}")
    return StudentReport(student or Path(path).stem or "student", path, parts, [grader.plot()], grader.scheme, notes)


def grade_file(path: Path, handout: str = "2024") -> StudentReport:
    """Grade one answer file (.md, .tex, .txt)."""
    return grade_text(load_document(path), path.stem, str(path), handout)


