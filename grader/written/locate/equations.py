"""The equations of an answer region (:class:`FoundEquation`): each with its place (alone on its line,
an inline sub-part label), an answer cue before it ('the derivative is'), and the case condition
stated before or after it in the text ('for $w = o$:', '… otherwise', 'for positive inputs').
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from grader.written.locate.fragments import MathSeg
from grader.written.locate.markers import Block, line_of
from grader.written.locate.regions import answer_spans, clean_prose
from grader.written.parse import Equation, parse_equation, split_equations, split_results

# --------------------------------------------------------------------------- equations

_CUE = re.compile(
    r"(?:(?:derivative|gradient|answer|result|partial|expression)s?\b[^.§]{0,40}?"
    r"(?:\bis\b|\bare\b|\bequals?\b|\bbecomes?\b|\bgives?\b|=|:)"
    r"|\b(?:final(?:ly)?|in (?:vector|matrix|vectori[sz]ed) form)\b[^.§]{0,30}?[:,]?)[ \t*_]*$",
    re.I,
)
_REFERENCE = re.compile(
    r"\b(?:same as|identical to|as in|see|equivalent to)\b[^.]{0,30}"
    r"(?:previous|above|part|\([a-j]\)|question|earlier|before|last)", re.I)


@dataclass
class FoundEquation:
    """An equation of an answer region, with where and how it was found."""

    eq: Equation
    block: Block
    seg_index: int
    display: bool
    line: int
    cue: bool
    continues: bool  # the equation starts with '=' (continues the previous one)
    notes: list[str] = field(default_factory=list)
    written: str = ""  # the student's LaTeX (the whole fragment when it held one equation)
    lead_condition: object = None  # a case condition stated just before ("for $w = o$:", "otherwise")
    final_cue: bool = False  # announced as the final answer ("final answer:", "in vectorized form")
    trail_condition: object = None  # a case condition stated just after ("… for $w \\neq o$", "… otherwise")
    standalone: bool = False  # the fragment is alone on its line (apart from a part or sub-part label)
    roman: Optional[str] = None  # an inline sub-part label just before it ("(ii) $…$" in the middle of a line)


def find_equations(text: str, masked: str, segs: list[MathSeg], block: Block) -> list[FoundEquation]:
    """Equations in the answer spans of ``block`` (display math split into lines)."""
    found: list[FoundEquation] = []
    spans = answer_spans(text, masked, block)
    lead_start = block.answer_start
    for k, seg in enumerate(segs):
        if not any(a <= seg.start < b for a, b in spans):
            continue
        own_condition = condition_of_fragment(seg.latex) if not seg.display else None
        lead = lead_condition(masked, segs, max(lead_start, seg.start - 200), seg.start)
        trail, trail_end, conditional = (None, None, False) if own_condition is not None \
            else trailing_condition(masked, segs, k, block.end)
        if own_condition is None:
            lead_start = max(seg.end, trail_end or 0)
        before = masked[max(block.start, seg.start - 160) : seg.start]
        cue_match = _CUE.search(before.split("\n\n")[-1])
        # "the derivative of the first term is $…$" / "the gradient is $0$ when $\hat y = y$" announce no answer
        cue = bool(cue_match) and not _CUE_QUALIFIED.search(cue_match.group(0)) and not conditional
        strong = cue and bool(_STRONG_CUE.search(cue_match.group(0)))
        boxed = "\\boxed" in seg.latex
        standalone, roman = _placement(masked, segs, k, block)
        pieces, several = _equation_pieces(seg)
        if several:
            lead = None  # "the two cases as a pair (w = o, w ≠ o): $(…, …) = (…, …)$": no one case for all
        for piece in pieces:
            try:
                eq = parse_equation(piece, boxed=boxed and "\\boxed" in piece or boxed and len(pieces) == 1)
            except Exception as exc:  # the tokenizer may reject odd input; keep it for the report
                eq = Equation(piece, [piece], [f"cannot read this ({exc})"])
            if seg.bare and any(isinstance(n, str) for n in eq.nodes[-1:]):
                continue  # plain text that only looked like an equation
            continues = piece.lstrip().startswith("=")
            written = seg.latex.strip() if len(pieces) == 1 else piece
            found.append(FoundEquation(eq, block, k, seg.display, line_of(text, seg.start), cue, continues,
                                       written=written, lead_condition=lead, final_cue=strong,
                                       trail_condition=trail if piece is pieces[-1] else None,
                                       standalone=standalone, roman=roman))
    return found


_LABEL_ONLY = re.compile(r"[\s*_:.,;]*(?:\((?:i{1,3}|iv)\)|(?:i{1,3}|iv)[.)])?[\s*_:.,;]*")
_INLINE_ROMAN = re.compile(r"(?:\((?P<r1>i{1,3}|iv)\)|(?<![A-Za-z\\])(?P<r2>i{1,3}|iv)[.)])[ \t*_:]*$")


def _placement(masked: str, segs: list[MathSeg], k: int, block: Block) -> tuple[bool, Optional[str]]:
    """Whether fragment ``k`` is alone on its line (a label before it allowed), and its inline sub-part label."""
    seg = segs[k]
    line_start = masked.rfind("\n", 0, seg.start) + 1
    line_end = masked.find("\n", seg.end)
    line_end = len(masked) if line_end < 0 else line_end
    before = masked[max(line_start, block.answer_start, block.start) : seg.start]
    after = masked[seg.end : line_end]
    standalone = bool(_LABEL_ONLY.fullmatch(before)) and not after.strip(" \t.,;*_")
    prev_end = segs[k - 1].end if k > 0 else 0
    lead = masked[max(prev_end, block.start, line_start) : seg.start]
    m = _INLINE_ROMAN.search(lead)
    if m:
        return standalone, m.group("r1") or m.group("r2")
    first_on_marker_line = line_start <= block.start and prev_end <= block.start and not lead.strip(" \t*_:")
    return standalone, block.roman if first_on_marker_line else None


_STRONG_CUE = re.compile(r"\b(?:final(?:ly)?|answers?|results?|vectori[sz]ed|vector form|matrix form|"
                         r"shape convention)\b", re.I)
_CUE_QUALIFIED = re.compile(r"\b(?:terms?|parts?|first|second|third|last|other|each|numerator|denominator|"
                            r"inner|outer|log|sigmoid|softmax|exponent)\b", re.I)
_TRAIL_WORD = re.compile(r"^[ \t]*[,:]?[ \t]*\(?[ \t]*(?:(?P<other>otherwise|else|for all other words|for all other w"
                         r"|for every other word|in all other cases)\b|(?P<cond>for|when|whenever|if|in the case|in case"
                         r"|where)\b)[ \t]*", re.I)


def trailing_condition(masked: str, segs: list[MathSeg], k: int, limit: int):
    """A case condition stated right after fragment ``k``: ``(condition, end, conditional)``.

    ``conditional`` is True when the fragment is followed by a condition that is not about the
    free index (``… is $0$ when $\\hat y = y$``): the fragment is then a statement, not an answer.
    """
    seg = segs[k]
    after = masked[seg.end : min(limit, seg.end + 160)]
    after = after.split("\n\n")[0]
    m = _TRAIL_WORD.match(after)
    if not m:
        return None, None, False
    from grader.written.parse import Text

    if m.group("other"):
        return Text("otherwise"), seg.end + m.end(), False
    rest_start = seg.end + m.end()
    nxt = segs[k + 1] if k + 1 < len(segs) else None
    if nxt is not None and nxt.start == rest_start and not nxt.display:
        cond = condition_of_fragment(nxt.latex)
        if cond is not None and m.group("cond").lower() != "where":
            return cond, nxt.end, False
        return None, None, m.group("cond").lower() in ("when", "whenever", "if", "in case", "in the case")
    prose = _PROSE_CONDITION.match(masked[rest_start : rest_start + 40])
    if prose and (prose.group("rel") or prose.group("sign")) and m.group("cond").lower() != "where":
        cond = _prose_relation(prose.group("rel") or _sign_relation(prose.group("sign")))
        if cond is not None:
            return cond, rest_start + prose.end(), False
    return None, None, m.group("cond").lower() in ("when", "whenever", "if", "in case", "in the case")


def _sign_relation(words: str) -> str:
    """'positive inputs' / 'x is negative' → ``x > 0`` / ``x < 0``."""
    return "x > 0" if "positive" in words.lower() else "x < 0"


def _prose_relation(rel: str):
    rel = (rel.replace("≠", "!=").replace("is not equal to", "!=").replace("is not", "!=")
           .replace("equals", "=").replace(" is ", " = ").replace("≤", "<=").replace("≥", ">="))
    return condition_of_fragment(rel.replace("!=", r"\neq "))


_INDEX_NAMES = {"w", "o", "c", "x", "k", "s", "j", "i"}


def _is_index_side(node) -> bool:
    from grader.written.parse import Neg, Num, Sym, Zero

    if isinstance(node, (Num, Zero)):
        return True
    if isinstance(node, Neg):
        return _is_index_side(node.arg)
    if isinstance(node, Sym) and node.sub is None:
        return node.name in _INDEX_NAMES
    if isinstance(node, Sym) and node.name in ("w", "u"):
        return _is_index_side(node.sub)
    return False


def condition_of_fragment(latex: str):
    """The relation of a math fragment that is only a case condition (``w = o``, ``x < 0``), else None."""
    from grader.written.normalize import normalize_latex
    from grader.written.parse import And, Parser, Rel, tokenize

    try:
        p = Parser(tokenize(normalize_latex(latex)))
        node = p.parse_relation()
        if not p.done():
            return None
    except Exception:
        return None
    rels = node.items if isinstance(node, And) else (node,)
    if not all(isinstance(r, Rel) and r.op in ("=", "!=", "<", ">", "<=", ">=") for r in rels):
        return None
    if all(_is_index_side(r.left) and _is_index_side(r.right) for r in rels):
        return node
    return None


_PROSE_CONDITION = re.compile(
    r"(?P<other>\b(?:otherwise|all other (?:words|cases|w)|else|other words|(?:any|every) other (?:word|w))\b)"
    r"|(?P<true>\b(?:the )?true (?:outside|context) (?:word|vector)\b)"
    r"|(?P<rel>\b[wx]\s*(?:=|≠|!=|<|>|≤|≥|is not equal to|is not|is|equals)\s*(?:o|0)\b)"
    r"|(?P<sign>\b(?:positive|negative)\s+(?:inputs?|values?|arguments?|x)\b|\bx\s+(?:is\s+)?(?:positive|negative)\b)",
    re.I,
)


def lead_condition(masked: str, segs: list[MathSeg], start: int, end: int):
    """The last case condition stated just before a fragment: inline ``$w = o$`` or prose ('otherwise')."""
    from grader.written.parse import Text

    best, best_pos = None, -1
    for seg in segs:
        if start <= seg.start and seg.end <= end and not seg.display:
            cond = condition_of_fragment(seg.latex)
            if cond is not None and seg.start > best_pos:
                best, best_pos = cond, seg.start
    prose = masked[start:end]
    for m in _PROSE_CONDITION.finditer(prose):
        pos = start + m.start()
        if pos <= best_pos:
            continue
        if m.group("other"):
            best, best_pos = Text("otherwise"), pos
        elif m.group("true"):
            best, best_pos = _prose_relation("w = o"), pos
        else:
            cond = _prose_relation(m.group("rel") or _sign_relation(m.group("sign")))
            if cond is not None:
                best, best_pos = cond, pos
    return best


def _equation_pieces(seg: MathSeg) -> tuple[list[str], bool]:
    """The equations of a fragment: display rows, then results side by side or as a tuple split apart;
    and whether such a split happened (the fragment then holds several results, not one case)."""
    if not seg.display:
        pieces = split_results(seg.latex)
        return pieces, len(pieces) > 1
    try:
        rows = split_equations(seg.latex) or [seg.latex]
    except Exception:
        return [seg.latex], False
    pieces = [piece for row in rows for piece in split_results(row)]
    return pieces, len(pieces) > len(rows)


def prose_of(masked: str, spans: list[tuple[int, int]]) -> str:
    """The answer's prose (math removed), joined."""
    return " ".join(clean_prose(masked[a:b]) for a, b in spans).strip()


def mentions_reference(prose: str) -> Optional[str]:
    m = _REFERENCE.search(prose)
    return m.group(0) if m else None
