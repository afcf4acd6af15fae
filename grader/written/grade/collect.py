"""Steps 1–2 of grading a sheet: route every located equation by content (:class:`ContentRouter`),
with the variable named in the text, another case joined by 'and', h.i.uws vs i decided per block;
then detect the student's numbering and say when it is certain.
"""

from __future__ import annotations

import re
from typing import Optional

from grader.written.grade.placing import _ANNOUNCED, _CASE_JOINERS, _ROMAN_OF, _WRT_PHRASE, _is_case_condition
from grader.written.grade.route import Route, _block_family, _rhs_family, _route_vector, _wrt_kind, route
from grader.written.handouts import SCHEMES, SHORT_NAMES
from grader.written.locate import (
    Block,
    Document,
    FoundEquation,
)
from grader.written.locate.equations import _CUE_QUALIFIED
from grader.written.parse import Sym, parse_expression, to_text, transform
from grader.written.verdict import (
    Candidate,
)

_QUANTIFIER = re.compile(r"\b(?:for|of) (?:each|every|all|any)\b(?: (?:of the )?(?:negative )?(?:samples?|words?))?", re.I)
"""'for each negative sample $s$': binds an index (see the question's quantifiers), not a piece of the work."""


_DEFINES = re.compile(r"\b(?:let|define|denote|where|with)\b[^.§]{0,20}$", re.I)
_HANDOUT_LETTERS = frozenset({"u", "v", "U", "V", "y", "yhat", "x", "J", "L", "f", "sigma", "alpha", "w", "o", "c",
                              "s", "k", "K", "j", "m", "t", "d", "theta"})


class ContentRouter:
    """Routes one document's equations to parts by content and detects its numbering."""

    def __init__(self, doc: Document, handout: str = "2024"):
        self.doc = doc
        self.handout = handout
        self.blocks = [b for b in doc.blocks if b.section == 1]
        self.plot_blocks = [b for b in doc.blocks if b.section == 2 and b.letter == "c"]
        self.routed: dict[str, list[tuple[Candidate, Block, str]]] = {}
        self.unrouted: dict[int, list[FoundEquation]] = {}
        self.scheme = handout
        self.confirmed = ""  # why the numbering is certain (see _confirmation)
        self._defs: dict[int, dict] = {}  # block index → symbols the student defined there
        self._block_eqs: dict[int, list[FoundEquation]] = {}  # block index → its equations (found once)

    # -- step 1: content routing
    def collect(self) -> None:
        h_blocks_seen: set[int] = set()
        for bi, block in enumerate(self.blocks):
            family = _block_family(self.doc, block)
            last_route: Optional[Route] = None
            last_lhs_eq: Optional[FoundEquation] = None
            last_feq: Optional[FoundEquation] = None
            self._block_eqs[bi] = self.doc.equations(block)
            for feq in self._block_eqs[bi]:
                r = route(feq, family)
                how = "end of the '=' chain"
                if r is None and feq.continues and last_route is not None:
                    r, how = last_route, f"end of the '=' chain continued from line {last_lhs_eq.line}"
                elif r is None and feq.cue and last_route is not None and feq.eq.lhs is None:
                    r, how = last_route, ("final answer announced in the text" if feq.final_cue
                                      else _ANNOUNCED + " (e.g. 'the derivative is')")
                elif r is None and feq.eq.lhs is None and self._named_wrt(feq, family) is not None:
                    r, how = self._named_wrt(feq, family), "the variable named in the text before it"
                elif r is None and last_route is not None and self._another_case(last_feq, feq):
                    r, how = last_route, (f"another case of the equation on line {last_feq.line} "
                                          f"('… and $X$ for <case>')")
                if r is None:
                    self.unrouted.setdefault(bi, []).append(feq)
                    continue
                last_route, last_lhs_eq = r, (feq if not feq.continues else last_lhs_eq or feq)
                last_feq = feq
                self._add(r, feq, block, bi, how, h_blocks_seen)

    def _named_wrt(self, feq: FoundEquation, family: Optional[str]) -> Optional[Route]:
        """A bare expression announced as the derivative "with respect to $u_o$ (it) is $…$" in the same
        sentence: routed as if the variable were on its left-hand side."""
        math = self.doc.math
        seg = math[feq.seg_index]
        start = max(self.doc.masked.rfind(".", 0, seg.start), self.doc.masked.rfind("\n\n", 0, seg.start),
                    feq.block.start)
        before = self.doc.masked[start : seg.start]
        m = _WRT_PHRASE.search(before)
        if m is not None and _CUE_QUALIFIED.search(_QUANTIFIER.sub(" ", before)):
            return None  # "the derivative of the first term with respect to $v_c$ is $-u_o$": a piece of the work
        if m is None or feq.cue is False and not re.search(r"\b(?:is|are|equals?|gives?)\s*[:]?\s*$", before):
            return None
        named = next((s for s in math if s.start == start + m.start("var")), None)
        if named is None:
            return None
        try:
            wrt = parse_expression(named.latex)
        except Exception:
            return None
        loss = _rhs_family(feq.eq.final) or family
        r = _route_vector(_wrt_kind(wrt), loss, wrt)
        if r is not None:
            r.why += f"; 'with respect to ${named.latex.strip()}$' in the text"
        return r

    def _another_case(self, prev: Optional[FoundEquation], feq: FoundEquation) -> bool:
        """``feq`` is a bare expression with its own case, joined to the cased equation ``prev`` by "and"/","."""
        if prev is None or feq.eq.lhs is not None or feq.trail_condition is None or feq.display:
            return False
        if prev.trail_condition is None and prev.eq.condition is None:
            return False
        math = self.doc.math
        gap = self.doc.masked[math[prev.seg_index].end : math[feq.seg_index].start]
        words = re.sub(r"§+", " ", gap).replace(",", " , ").replace(";", " ; ").split()
        return "\n\n" not in gap and len(gap) <= 80 and bool(words) and set(words) <= _CASE_JOINERS

    def _add(self, r: Route, feq: FoundEquation, block: Block, bi: int, how: str, h_seen: set) -> None:
        eq = feq.eq
        if eq.boxed:
            how = "boxed expression"
        condition = eq.condition
        if condition is None and feq.lead_condition is not None and not feq.continues:
            condition = feq.lead_condition
            how += f"; case '{to_text(condition)}' taken from the text before it"
        elif condition is None and feq.trail_condition is not None:
            condition = feq.trail_condition
            how += f"; case '{to_text(condition)}' taken from the text after it"
        if condition is not None and not _is_case_condition(condition):
            return  # "∂J/∂v_c = 0 when ŷ = y": a statement about the gradient, not the answer
        final, defined = self._substitute_definitions(eq.final, bi)
        if defined:
            how += "; " + ", ".join(f"{name} as defined on line {line}" for name, line in defined)
        cand = Candidate(final, eq.final_latex, condition, r.wrt, written=feq.written, line=feq.line,
                         source=f"student's {block.label}, line {feq.line}, "
                                f"{'display' if feq.display else 'inline'} math",
                         how=how)
        if eq.condition_error:
            cand.node = f"cannot read the condition of the case ({eq.condition_error})"
        for part in r.parts:
            if part == "H_UWS":
                part = self._h_or_i(block, bi, h_seen)
            elif part.startswith("h."):
                h_seen.add(bi)
            self.routed.setdefault(part, []).append((cand, block, f"by content ({r.why}) in the student's "
                                                                  f"{block.label}"))
            if eq.boxed:
                cand.notes.append("boxed")

    def _substitute_definitions(self, node, bi: int) -> tuple[object, list[tuple[str, int]]]:
        r"""``node`` with the symbols the student defined in this block ("Let $n_s = |\{k : w_k = w_s\}|$")
        replaced by their definitions, and which were used (name, line)."""
        if isinstance(node, str):
            return node, []
        table = self._definitions(bi)
        used: list[tuple[str, int]] = []

        def swap(n):
            if isinstance(n, Sym) and n in table:
                value, line = table[n]
                used.append((to_text(n), line))
                return value
            return None

        out = transform(node, swap) if table else node
        return out, sorted(set(used))

    def _definitions(self, bi: int) -> dict:
        """Symbols defined in the text of block ``bi``: an inline ``$X = expr$`` announced by 'let',
        'define', 'denote' or 'where', whose X is a letter the handout does not use (``n_s``, ``c``…)."""
        if bi in self._defs:
            return self._defs[bi]
        table: dict = {}
        block = self.blocks[bi]
        for feq in self._block_eqs.get(bi) or self.doc.equations(block):
            lhs = feq.eq.lhs
            if not isinstance(lhs, Sym) or lhs.name in _HANDOUT_LETTERS or len(feq.eq.nodes) != 2 \
                    or isinstance(feq.eq.final, str) or feq.display:
                continue
            seg = self.doc.math[feq.seg_index]
            before = self.doc.masked[max(block.start, seg.start - 40) : seg.start]
            if _DEFINES.search(before):
                table[lhs] = (feq.eq.final, feq.line)
        self._defs[bi] = table
        return table

    def _h_or_i(self, block: Block, bi: int, h_seen: set) -> str:
        text = self.doc.text[block.start : block.end]
        if re.search(r"not\s+(?:be\s+)?(?:assume|distinct)|without the assumption|may not be distinct|"
                     r"not (?:necessarily )?distinct|w_i\s*=\s*w_j|repeated (?:words|samples|negatives)|duplicat",
                     text, re.I):
            return "i"
        if any(b < bi for b in h_seen) and bi not in h_seen:
            return "i"
        mapped = SCHEMES.get(self.scheme, {}).get(block.letter)
        if mapped == "i":
            return "i"
        h_seen.add(bi)
        return "h.i.uws"

    # -- step 2: numbering
    def detect_scheme(self) -> None:
        scores = {}
        for name, table in SCHEMES.items():
            score = 0
            for part, items in self.routed.items():
                for _, block, _ in items:
                    score += 1 if table.get(block.letter) == part[0] else 0
            scores[name] = score
        best = max(scores.values()) if scores else 0
        if best and scores.get(self.handout, -1) < best:
            self.scheme = max(scores, key=lambda k: (scores[k], k == self.handout))
        self.confirmed = self._confirmation(scores)

    def _confirmation(self, scores: dict[str, int]) -> str:
        """Why the detected numbering is certain ("" when it is only the default or a weak guess).

        Certain when the sheet uses a letter no other numbering has (a (j) exists only in 2024), or when
        at least two more answers placed by content agree with it than with any other numbering.
        """
        letters = {b.letter for b in self.blocks}
        mine = set(SCHEMES[self.scheme])
        only_here = sorted(letters & mine - set().union(*(set(t) for n, t in SCHEMES.items() if n != self.scheme)))
        if only_here:
            return f"the sheet has part ({only_here[-1]}), which only the {SHORT_NAMES[self.scheme]} has"
        others = max((s for n, s in scores.items() if n != self.scheme), default=0)
        if scores.get(self.scheme, 0) - others >= 2:
            return f"{scores[self.scheme]} answers placed by content agree with the {SHORT_NAMES[self.scheme]}"
        return ""

    def consistent(self, part: str, block: Block) -> bool:
        """The block's letter (and sub-part, if any) is where ``part`` lives in the detected numbering."""
        if SCHEMES[self.scheme].get(block.letter) != part[0]:
            return False
        if self.scheme != "2024" or block.roman is None:
            return True
        return _ROMAN_OF.get(part, block.roman) == block.roman or part in ("d", "e", "f", "g", "i")

    # -- step 3: verdicts
