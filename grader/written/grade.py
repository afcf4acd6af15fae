"""Grading one answer sheet: route located equations to handout parts, then judge them.

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

from grader.written.handouts import FREE_TEXT_HOME, SCHEME_NAMES, SCHEMES, SHORT_NAMES, quantity_parts
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
from grader.written.parse import Call, Deriv, FnApp, Node, Num, Sum, Sym, Zero, parse_expression, to_text, walk
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

_ONE_PER_LETTER = frozenset({"b.i", "d", "e", "f", "g", "i"})
"""Expression parts that are the only expression asked in their letter (letter placement is unambiguous)."""

_ANNOUNCED = "expression announced in the text"
_WRT_PHRASE = re.compile(r"(?:with respect to|w\.r\.t\.?|wrt)\s+(?:the\s+\w+\s+)?(?P<var>§+)(?![^§]*"
                         r"(?:with respect to|w\.r\.t))", re.I)
_CASE_JOINERS = frozenset({"for", "when", "if", "and", ",", ";", "or", "while", "whereas"})
NO_MARKERS = ("no part markers such as '(b)', 'Q1 (c)', '## d)' or '1(e)' were found in this document, so its "
              "answers cannot be attributed to parts; a TA must read it")

_ROMAN_OF = {"b.i": "i", "h.i.vc": "i", "h.i.uo": "i", "h.i.uws": "i", "j.i": "i", "j.ii": "ii", "j.iii": "iii"}


# --------------------------------------------------------------------------- routing


@dataclass
class Route:
    """Where an equation goes: handout parts (``H_UWS`` = h.i.uws or i, decided per block) and why."""

    parts: tuple
    why: str
    wrt: Optional[Node] = None


def _loss_of(latex: str) -> Optional[str]:
    low = latex.lower()
    if re.search(r"neg|ns\b", low):
        return "neg"
    if re.search(r"skip|sg\b", low):
        return "skip"
    if re.search(r"naive|softmax", low):
        return "naive"
    return None


def _rhs_family(node) -> Optional[str]:
    if isinstance(node, str):
        return None
    nodes = list(walk(node))
    if any(isinstance(n, Deriv) and "t + j" in to_text(n) for n in nodes) or any(
        isinstance(n, Sum) and _window_sum(n) for n in nodes
    ):
        return "skip"
    if any(isinstance(n, Call) and n.fn in ("sigma", "dsigma") for n in nodes):
        return "neg"
    if any(isinstance(n, Sym) and n.name in ("yhat", "y", "U") for n in nodes) or any(
        isinstance(n, Call) and n.fn == "exp" for n in nodes
    ):
        return "naive"
    return None


def _window_sum(node: Sum) -> bool:
    return any("j" in to_text(item) and "m" in to_text(item) for item in node.sub)


def _block_family(doc: Document, block: Block) -> Optional[str]:
    text = doc.text[block.start : block.end].lower()
    if re.search(r"skip-?gram|w_\{t\+j\}|w_\{t-m\}", text):
        return "skip"
    if re.search(r"negative sampl|neg-?sampl|neg\}|text\s*\{\s*-\s*sample", text):
        return "neg"
    if re.search(r"naive|softmax", text):
        return "naive"
    return None


def _wrt_kind(wrt) -> Optional[str]:
    if wrt == Sym("U"):
        return "U"
    if wrt == Sym("x"):
        return "x"
    if not isinstance(wrt, Sym) or wrt.sub is None:
        return None
    sub = wrt.sub
    if wrt.name == "v":
        return "vc" if sub == Sym("c") else "vw"
    if wrt.name != "u":
        return None
    if sub in (Sym("o"),):
        return "uo"
    if sub == Sym("w"):
        return "uw"
    if isinstance(sub, Sym) and sub.name == "w" and sub.sub is not None:
        return "uws"
    if isinstance(sub, Sym) and sub.sub is None and sub.name in ("k", "s", "i", "j", "n", "l"):
        return "uk"
    return None


def _fn_kind(fn) -> Optional[str]:
    if isinstance(fn, Call) and fn.fn in ("sigma", "dsigma"):
        return "sigmoid"
    if isinstance(fn, Call) and fn.fn == "max":
        return "leaky"
    if isinstance(fn, (FnApp, Sym)):
        head = fn.head if isinstance(fn, FnApp) else fn
        if head.name == "f":
            return "leaky"
        if head.name in ("J", "L"):
            return "J"
    return None


def route(feq: FoundEquation, block_family: Optional[str]) -> Optional[Route]:
    """Content routing of one equation with a derivative on its left-hand side (None if not one)."""
    eq = feq.eq
    lhs = eq.lhs
    if isinstance(lhs, Call) and lhs.fn == "dsigma":
        return Route(("g",), "σ′(x)", Sym("x"))
    if not isinstance(lhs, Deriv):
        return None
    kind, fn = _wrt_kind(lhs.wrt), _fn_kind(lhs.fn)
    loss = _loss_of(eq.segments[0]) or _rhs_family(eq.final) or block_family
    if kind == "x":
        rhs = eq.final
        has_alpha = not isinstance(rhs, str) and any(n == Sym("alpha") for n in walk(rhs))
        if fn == "leaky" or (fn is None and has_alpha):
            return Route(("f",), "d/dx of the Leaky ReLU", lhs.wrt)
        if fn == "sigmoid" or _rhs_family(rhs) == "neg":
            return Route(("g",), "dσ/dx", lhs.wrt)
        return None
    return _route_vector(kind, loss, lhs.wrt)


def _route_vector(kind: Optional[str], loss: Optional[str], wrt) -> Optional[Route]:
    parts = quantity_parts(kind, loss)
    if parts is None:
        return None
    names = {"naive": "naive softmax", "neg": "negative sampling", "skip": "skip-gram"}
    return Route(parts, f"∂/∂{to_text(wrt)}, {names[loss] if loss else 'skip-gram'}", wrt)


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


class Grader:
    """Grades one document (see module docstring)."""

    def __init__(self, doc: Document, handout: str = "2024"):
        self.doc = doc
        self.handout = handout
        self.blocks = [b for b in doc.blocks if b.section == 1]
        self.plot_blocks = [b for b in doc.blocks if b.section == 2 and b.letter == "c"]
        self.routed: dict[str, list[tuple[Candidate, Block, str]]] = {}
        self.unrouted: dict[int, list[FoundEquation]] = {}
        self.scheme = handout
        self.confirmed = ""  # why the numbering is certain (see _confirmation)

    # -- step 1: content routing
    def collect(self) -> None:
        h_blocks_seen: set[int] = set()
        for bi, block in enumerate(self.blocks):
            family = _block_family(self.doc, block)
            last_route: Optional[Route] = None
            last_lhs_eq: Optional[FoundEquation] = None
            last_feq: Optional[FoundEquation] = None
            for feq in self.doc.equations(block):
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
        cand = Candidate(eq.final, eq.final_latex, condition, r.wrt, written=feq.written, line=feq.line,
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


def _is_case_condition(cond) -> bool:
    """A condition that picks a case of a part (``w = o``, ``x < 0``, ``otherwise``), not a statement."""
    from grader.written.locate.equations import _is_index_side
    from grader.written.parse import And, Rel, Text

    if isinstance(cond, Text):
        return True
    rels = cond.items if isinstance(cond, And) else (cond,)
    return all(isinstance(r, Rel) and (r.op in ("in", "notin") or _is_index_side(r.left) and _is_index_side(r.right))
               for r in rels)


_GAVE_UP = re.compile(r"\b(?:ran out of time|run out of time|out of time|no time (?:left|for)|did(?: not|n't) "
                      r"(?:have time|finish|get to|manage)|could(?: not|n't) (?:finish|solve|do)|not attempted|"
                      r"(?:I )?skipped|not finished|unfinished|I do(?: not|n't) know)\b", re.I)


def _gave_up(prose: str) -> Optional[str]:
    """The phrase in which the student says a part is not answered ("I ran out of time here"), if any."""
    m = _GAVE_UP.search(prose)
    return m.group(0) if m else None


def _case_of(feq: FoundEquation):
    """The case condition of an expression: its own, else the one stated just before or after it."""
    cond = feq.eq.condition or feq.lead_condition or feq.trail_condition
    return cond if cond is not None and _is_case_condition(cond) else None


def _label(letter: str, roman: Optional[str]) -> str:
    return f"({letter})" + (f"({roman})" if roman else "")


def _related(part: str, other: str) -> bool:
    groups = [{"h.i.uws", "i", "h.i.uo"}, {"b.i", "h.i.vc"}, {"d", "h.i.uo"}, {"e", "j.i"}]
    return part == other or any(part in g and other in g for g in groups)


def _shown(cands: list[Candidate]) -> str:
    """Plain-text rendering of the candidates (with their case conditions)."""
    out = []
    for c in cands:
        body = to_text(c.node) if not isinstance(c.node, str) else render_text(c.latex)
        if c.wrt is not None:
            body = f"∂/∂{to_text(c.wrt)}: {body}"
        if c.condition is not None:
            body += f"  (if {to_text(c.condition)})"
        out.append(body)
    return " ; ".join(out)


def _raw_latex(cands: list[Candidate]) -> str:
    return " ; ".join(c.written or c.latex for c in cands)


_VECTOR_SYMBOLS = frozenset({"u", "v", "U", "y", "yhat"})


def _answer_family(node) -> Optional[str]:
    """The kind of question an expression answers: 'scalar' (f, g), 'neg', 'naive', 'skip', or None."""
    if isinstance(node, str):
        return None
    nodes = list(walk(node))
    if any(isinstance(n, Deriv) for n in nodes) or any(isinstance(n, Sum) and _window_sum(n) for n in nodes):
        return "skip" if _rhs_family(node) == "skip" else None
    if not any(isinstance(n, Sym) and n.name in _VECTOR_SYMBOLS for n in nodes):
        return "scalar"
    return _rhs_family(node)


def _inner_wrt(node) -> Optional[str]:
    """``"U"`` / ``"vc"`` when every derivative inside ``node`` is with respect to U / v_c, else None."""
    if isinstance(node, str):
        return None
    kinds = {_wrt_kind(n.wrt) for n in walk(node) if isinstance(n, Deriv)}
    return kinds.pop() if len(kinds) == 1 and kinds <= {"U", "vc"} else None


def _could_be_answer(feq: FoundEquation) -> bool:
    """An unrouted equation that may be the answer: a derivative LHS we could not place, or a bare expression."""
    eq = feq.eq
    if feq.continues:
        return True
    if len(eq.segments) == 1:
        if isinstance(eq.final, Deriv) and _loss_of(eq.final_latex) is not None:
            return False  # "(i) ∂J_{skip-gram}/∂U": the quantity asked, copied from the question
        return feq.display or feq.cue or feq.standalone or feq.roman is not None
    lhs = eq.lhs
    return isinstance(lhs, str) or isinstance(lhs, Deriv) or (isinstance(lhs, Call) and lhs.fn == "dsigma") or (
        isinstance(lhs, FnApp) and lhs.head.name in ("f", "g") and "'" in eq.segments[0])


def _bare_expression(answer: str):
    """A short plain-text answer that is an expression (``0``, ``U(yhat - y)``), parsed; else None."""
    from grader.written.locate import ascii_to_latex
    from grader.written.parse import Sym as _Sym
    from grader.written.parse import parse_equation

    text = answer.strip().strip("*_`").strip()
    if not text or len(text) > 60 or "\n" in text or "$" in text or re.search(r"[A-Za-z]{4,}\s+[A-Za-z]{2,}", text):
        return None
    if is_placeholder(text) and not re.fullmatch(r"[-+]?\s*0", text):
        return None
    try:
        eq = parse_equation(ascii_to_latex(text))
    except Exception:
        return None
    if len(eq.nodes) != 1 or isinstance(eq.final, str) or eq.condition is not None:
        return None
    if any(isinstance(n, _Sym) and n.name not in _BARE_SYMBOLS for n in walk(eq.final)):
        return None
    return eq


_BARE_SYMBOLS = {"U", "u", "v", "y", "yhat", "x", "alpha", "o", "c", "w", "s", "k", "K", "j", "m", "t"}


def _only_labels(prose: str) -> bool:
    """Prose made only of short labels such as 'Equivalent to (b):'."""
    sentences = [s for s in re.split(r"(?<=[.:!?])\s+", prose) if s.strip()]
    return all(len(s.split()) <= 4 for s in sentences)


def _substantive(prose: str) -> bool:
    return len(prose.split()) >= 6 and not _only_labels(prose)


def grade_text(text: str, student: str = "", path: str = "", handout: str = "2024") -> StudentReport:
    """Grade an answer sheet given as text."""
    doc = Document.from_text(text)
    grader = Grader(doc, handout)
    parts = grader.grade()
    notes = []
    if grader.scheme != handout:
        notes.append(f"the student follows the {SCHEME_NAMES[grader.scheme]}; parts were matched by content")
    return StudentReport(student or Path(path).stem or "student", path, parts, [grader.plot()], grader.scheme, notes)


def grade_file(path: Path, handout: str = "2024") -> StudentReport:
    """Grade one answer file (.md, .tex, .txt)."""
    return grade_text(load_document(path), path.stem, str(path), handout)


__all__ = ["grade_text", "grade_file", "StudentReport", "Grader", "route"]
