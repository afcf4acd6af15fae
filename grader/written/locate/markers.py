"""Part markers at line starts outside math (``(b)``, ``Q1 (c)``, ``## c)``, ``1(d)``, ``Q1.b.i``,
``Answer: (i)``), the lone ``(i)`` decided from the sequence, and the blocks they open; sections of
another assignment in the same file (``# Assignment 3``) are marked so they are never graded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# --------------------------------------------------------------------------- markers and blocks

_LINE_PREFIX = re.compile(
    r"^[ \t]*(?:[-*+>][ \t]+)*(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?[ \t]*"
    r"(?:\\item[ \t]*)?(?:\\textbf\{)?[ \t]*"
)
_SECTION_WORD = r"(?:Q(?:uestion)?|Problem|Part|Exercise|Task)"
_MARKER = re.compile(
    r"(?P<sec>(?:" + _SECTION_WORD + r")[ \t]*(?P<secnum>\d+)[ \t]*[.:]?[ \t]*(?:[,—–-][ \t]*)?"
    r"|(?P<num>\d)[ \t]*(?:\.[ \t]*)?(?=\(|[a-j](?:[.):]|\*\*|__|[ \t]*(?:\*\*|__|\*|_)?[ \t]*$)))?"
    r"(?P<part>(?:Part|part|Question|Problem)[ \t]*)?"
    r"(?:\((?P<l1>[a-j])\)|(?P<l2>[a-j])\)|(?P<l3>[a-j])[.:](?=[ \t(*_]|$)|(?P<l4>[a-j])(?=[ \t]*\((?:i|ii|iii|iv)\))"
    r"|(?P<l5>[a-j])(?=[ \t]*(?:\*\*|__|\*|_)?[ \t]*(?:\(\d+\s*(?:points?|pts?)\))?[ \t]*$)"
    r"|(?P<l6>[a-j])(?=\.(?:i{1,3}|iv)(?=[ \t]|$)|[ \t]))"
    r"(?:\.(?P<r3>i{1,3}|iv)(?=[ \t]|$)"
    r"|[ \t]*(?:\.|-)?[ \t]*(?:\((?P<r1>i{1,3}|iv|v)\)|(?P<r2>i{1,3}|iv|v)(?:[.)](?=[\s*_]|$)"
    r"|(?=[ \t]*(?:\*\*|__)?[ \t]*$))))?"
)
_ROMAN_MARKER = re.compile(r"(?:\((?P<r1>i{1,3}|iv|v|vi)\)|(?P<r2>i{1,3}|iv|v|vi)[.)](?=[ \t]|$))")
_ANSWER = re.compile(
    r"^[ \t]*(?:[-*+>][ \t]+)?(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?[ \t]*"
    r"(?:Answers?\b|Solutions?\b|Ans(?:\.|\b)|Response\b|My answer\b)(?![ \t]*(?:here|goes|to be))[ \t]*(?:\*\*|__|\*|_)?[ \t]*"
    r"[:.]?[ \t]*(?:\*\*|__)?[ \t]*",
    re.I,
)
_SECTION_HEADING = re.compile(
    r"^[ \t]*#{1,6}[ \t]*(?:\*\*)?[ \t]*(?:" + _SECTION_WORD + r"[ \t]*)?(?P<n>\d+)\b(?![.)]?\s*\()", re.I
)
_POINTS = re.compile(r"^[ \t]*(?:\*\*)?[ \t]*\(\s*\d+\s*(?:points?|pts?)\s*\)", re.I)


@dataclass
class Marker:
    pos: int  # start of the line
    end: int  # end of the marker text
    line: int
    letter: Optional[str]
    roman: Optional[str]
    section: int
    ambiguous: bool = False  # a lone "(i)": part i or sub-part i
    strong: bool = False  # heading, Q-prefix or "(n points)": a top-level part
    explicit: bool = False  # Q-prefix or "(n points)": certainly a top-level part
    answer_marker: bool = False


@dataclass
class Block:
    """A located part of the student's document (letter, optional sub-part) and its regions."""

    letter: str
    roman: Optional[str]
    section: int
    start: int
    end: int
    line: int
    answer_start: int  # where the answer begins (after an Answer/Solution marker, if any)
    has_answer_marker: bool = False

    @property
    def label(self) -> str:
        prefix = "2" if self.section == 2 else ""
        return f"{prefix}({self.letter})" + (f"({self.roman})" if self.roman else "")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer(r"\n", text):
        starts.append(m.end())
    return starts


def find_markers(masked: str) -> list[Marker]:
    """Part markers at line starts of the masked text (see module docstring)."""
    markers: list[Marker] = []
    section = 1
    for lineno, start in enumerate(_line_starts(masked), start=1):
        end_of_line = masked.find("\n", start)
        line = masked[start : end_of_line if end_of_line >= 0 else len(masked)]
        heading = _SECTION_HEADING.match(line)
        if heading:
            section = int(heading.group("n"))
        answer = _ANSWER.match(line)
        if answer and re.match(r"(?:Answers?|Solutions?|Ans|Response|My answer)", line[_LINE_PREFIX.match(line).end():],
                               re.I):
            rest = line[answer.end():]
            rm = _ROMAN_MARKER.match(rest)
            to = re.match(r"(?:to|for|of)?[ \t]*(?:part[ \t]*)?", rest, re.I)
            lm = _MARKER.match(rest[to.end():])
            if lm and (lm.group("l1") or lm.group("l2")):  # "Answer (d):", "Solution to (b)(i)"
                letter, roman = lm.group("l1") or lm.group("l2"), lm.group("r1") or lm.group("r2")
                # "Answer: (i) …" is part (i) or sub-part (i) of the current letter: decided with the sequence
                lone_i = letter == "i" and roman is None and not (lm.group("secnum") or lm.group("num"))
                markers.append(Marker(start, start + answer.end() + to.end() + lm.end(), lineno, letter, roman,
                                      int(lm.group("secnum") or lm.group("num") or section), ambiguous=lone_i))
                rest, rm = "", None
            markers.append(Marker(start, start + answer.end(), lineno, None, None, section, answer_marker=True))
            if rm:
                markers.append(Marker(start, start + answer.end() + rm.end(), lineno, None,
                                      rm.group("r1") or rm.group("r2"), section))
            continue
        prefix = _LINE_PREFIX.match(line)
        body = line[prefix.end():]
        m = _MARKER.match(body)
        if m and (m.group("l5") or m.group("l6")) and not (m.group("sec") or m.group("num") or m.group("part")):
            m = None  # a bare letter is a marker only after "Q1.", "1." or "Part" ("Q1.b.i  ∂J/∂v_c = …")
        if m:
            letter = (m.group("l1") or m.group("l2") or m.group("l3") or m.group("l4") or m.group("l5")
                      or m.group("l6"))
            roman = m.group("r1") or m.group("r2") or m.group("r3")
            sec = int(m.group("secnum") or m.group("num") or section)
            strong = bool(m.group("sec") or m.group("num") or "#" in line[: prefix.end()]
                          or _POINTS.match(body[m.end():]))
            ambiguous = letter == "i" and roman is None and m.group("l4") is None
            explicit = bool(m.group("sec") or m.group("num") or _POINTS.match(body[m.end():]))
            markers.append(Marker(start, start + prefix.end() + m.end(), lineno, letter, roman, sec,
                                  ambiguous, strong, explicit))
            continue
        rm = _ROMAN_MARKER.match(body)
        if rm:
            markers.append(Marker(start, start + prefix.end() + rm.end(), lineno, None,
                                  rm.group("r1") or rm.group("r2"), section))
    return markers


def resolve_markers(markers: list[Marker]) -> list[Marker]:
    """Decide each lone ``(i)`` (part i vs sub-part i) and attach sub-parts to their letter."""
    out: list[Marker] = []
    current: Optional[str] = None
    romans_seen: set[str] = set()
    for k, m in enumerate(markers):
        if m.answer_marker:
            out.append(m)
            continue
        if m.ambiguous:
            if _is_top_level_i(m, current, romans_seen, markers[k + 1 :]):
                m.roman = None
            else:
                m.letter, m.roman = None, "i"
        if m.letter:
            current = m.letter
            romans_seen = {m.roman} if m.roman else set()
            out.append(m)
        elif m.roman and current:
            m.letter = current
            romans_seen.add(m.roman)
            out.append(m)
    return out


def _is_top_level_i(m: Marker, current: Optional[str], romans_seen: set, rest: list[Marker]) -> bool:
    if m.explicit:
        return True
    next_is_ii = False
    for nxt in rest:
        if nxt.answer_marker:
            continue
        next_is_ii = nxt.roman == "ii" and nxt.letter is None
        break
    if current == "h" and next_is_ii:
        return False
    if m.strong:
        return True
    return current == "h"


def _dedupe_romans(markers: list[Marker]) -> list[Marker]:
    """Keep only the last marker of each (letter, sub-part) inside one letter's run.

    Sub-questions copied before the answers (``(i) … (ii) … Answer: i. … ii. …``)
    then belong to the question text of the letter block.
    """
    keep: list[Marker] = []
    for k, m in enumerate(markers):
        if m.roman and not m.answer_marker:
            later = markers[k + 1 :]
            same_run = []
            for n in later:
                if n.answer_marker:
                    continue
                if n.letter != m.letter or n.roman is None:
                    break
                same_run.append(n)
            if any(n.roman == m.roman for n in same_run):
                continue
        keep.append(m)
    return keep


_ASSIGNMENT_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}|\*\*|\\(?:sub)?section\*?\{)?[ \t]*(?:CS[ \t]*224[nN][ \t]*[-:—–]?[ \t]*)?"
    r"(?:Assignment|Homework|HW)[ \t]*#?[ \t]*(?P<n>\d+)\b(?![ \t]*(?:and|&|,)[ \t]*\d)", re.I | re.M)


def other_assignment_spans(masked: str) -> list[tuple[int, int]]:
    """Spans of the document under a heading naming another assignment ("# Assignment 3: …", "HW1").

    A combined write-up may hold several assignments; only assignment 2's parts are located.
    """
    spans: list[tuple[int, int]] = []
    heads = [(m.start(), int(m.group("n"))) for m in _ASSIGNMENT_HEADING.finditer(masked)]
    for k, (pos, n) in enumerate(heads):
        if n == 2:
            continue
        end = next((p for p, m in heads[k + 1 :] if m == 2), len(masked))
        spans.append((pos, end))
    return spans


def find_blocks(text: str, masked: str) -> list[Block]:
    """Blocks (one per located part or sub-part) in document order.

    Blocks under another assignment's heading get section 0 (never graded).
    """
    foreign = other_assignment_spans(masked)
    markers = _dedupe_romans(resolve_markers(find_markers(masked)))
    if any(not any(a <= m.pos < b for a, b in foreign) for m in markers if not m.answer_marker):
        for m in markers:  # (when every marker is under another assignment's heading, the heading is wrong)
            if any(a <= m.pos < b for a, b in foreign):
                m.section = 0
    blocks: list[Block] = []
    parts = [m for m in markers if not m.answer_marker]
    for k, m in enumerate(parts):
        end = parts[k + 1].pos if k + 1 < len(parts) else len(text)
        end = min(end, _next_section_start(masked, m.end, end))
        answers = [a for a in markers if a.answer_marker and m.pos <= a.pos < end]
        answer_start = max(answers[0].end, m.end) if answers else m.end
        blocks.append(Block(m.letter, m.roman, m.section, m.end, end, m.line, answer_start, bool(answers)))
    return blocks


def _next_section_start(masked: str, start: int, limit: int) -> int:
    for m in re.finditer(r"^.*$", masked[start:limit], re.M):
        heading = _SECTION_HEADING.match(m.group(0))
        if heading:
            return start + m.start()
    return limit


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1
