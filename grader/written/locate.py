"""Finding the answers per part in a free-form answer sheet (.md, .tex, .txt).

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.written.parse import Equation, parse_equation, split_equations, split_results

# --------------------------------------------------------------------------- loading


def load_document(path: Path) -> str:
    """Text of an answer sheet; LaTeX sources are reduced to Markdown-like text."""
    text = path.read_text(encoding="utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if path.suffix.lower() == ".tex" or re.search(r"\\begin\{document\}|\\documentclass", text):
        return tex_to_text(text)
    return re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


# --------------------------------------------------------------------------- macros

_MACRO_DEF = re.compile(
    r"\\(?:(?:re|provide)?newcommand\*?\s*(?:\{\s*\\(?P<n1>[A-Za-z]+)\s*\}|\\(?P<n2>[A-Za-z]+))"
    r"\s*(?:\[(?P<argc>\d)\])?\s*(?:\[(?P<default>[^\]]*)\])?"
    r"|def\s*\\(?P<n3>[A-Za-z]+)\s*(?P<params>(?:#\d)*)"
    r"|DeclareMathOperator\*?\s*\{\s*\\(?P<n4>[A-Za-z]+)\s*\})\s*(?=\{)"
)


def expand_macros(text: str) -> str:
    """Expand the student's own macros (``\\newcommand``, ``\\def``, ``\\DeclareMathOperator``) and drop
    their definitions, so that ``\\vc`` defined as ``\\bm{v}_c`` reads as ``v_c``.

    Only macros with a braced body are handled; optional first arguments take their default.
    """
    from grader.written.normalize import _argument, matching_brace

    macros: dict[str, tuple[int, Optional[str], str]] = {}
    out, pos = [], 0
    for m in _MACRO_DEF.finditer(text):
        if m.start() < pos:
            continue
        end = matching_brace(text, m.end())
        if end < 0:
            continue
        body = text[m.end() + 1 : end]
        name = m.group("n1") or m.group("n2") or m.group("n3") or m.group("n4")
        if m.group("n4"):
            macros[name] = (0, None, r"\operatorname{" + body + "}")
        elif m.group("n3"):
            macros[name] = (len(m.group("params") or "") // 2, None, body)
        else:
            macros[name] = (int(m.group("argc") or 0), m.group("default"), body)
        out.append(text[pos : m.start()])
        out.append(" " + "\n" * text.count("\n", m.start(), end + 1))
        pos = end + 1
    if not macros:
        return text
    out.append(text[pos:])
    text = "".join(out)
    # math that held only definitions ("$\\newcommand{…}{…}$") is now empty: blank it
    text = re.sub(r"(?<![\\$])\$\$[ \t\n]+\$\$(?!\$)|(?<![\\$])\$[ \t]+\$(?!\$)",
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    names = sorted(macros, key=len, reverse=True)
    pattern = re.compile(r"\\(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])")
    for _ in range(6):  # macros using macros
        changed = False
        pieces, pos = [], 0
        for m in pattern.finditer(text):
            if m.start() < pos:
                continue
            argc, default, body = macros[m.group(1)]
            args, end = [], m.end()
            if default is not None:
                opt = re.match(r"\s*\[([^\]]*)\]", text[end:])
                if opt:
                    args.append(opt.group(1))
                    end += opt.end()
                else:
                    args.append(default)
            while len(args) < argc:
                arg = _argument(text, end)
                if arg is None:
                    break
                args.append(arg[0])
                end = arg[1]
            if len(args) < argc:
                continue
            value = body
            for k, arg in enumerate(args, start=1):
                value = value.replace(f"#{k}", arg)
            pieces.append(text[pos : m.start()])
            pieces.append(" " + value + " ")
            pos = end
            changed = True
        pieces.append(text[pos:])
        text = "".join(pieces)
        if not changed:
            break
    return text


def _strip_tex_comments(text: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", "", text)


_ENUM_LABEL = re.compile(r"\\begin\{enumerate\}\s*(\[[^\]]*\])?")


def tex_to_text(text: str) -> str:
    """LaTeX answer sheet → Markdown-like text, line by line (line numbers stay those of the file
    where a heading, ``\\item`` or ``solution`` environment already starts its own line)."""
    text = expand_macros(_strip_tex_comments(text))
    body = re.search(r"\\begin\{document\}(.*?)(\\end\{document\}|$)", text, re.S)
    if body:
        text = "\n" * text.count("\n", 0, body.start(1)) + body.group(1)
    text = _on_own_line(text, r"\\(?:sub)*section\*?\s*\{([^{}]*)\}", lambda m: "## " + m.group(1))
    text = _on_own_line(text, r"\\(?:paragraph|subparagraph)\*?\s*\{([^{}]*)\}", lambda m: m.group(1))
    text = _on_own_line(text, r"\\begin\{(?:solution|answer|proof)\}", lambda m: "Solution:")
    text = re.sub(r"\\end\{(?:solution|answer|proof)\}", " ", text)
    text = re.sub(r"\\textbf\{\s*(\([a-j]\)|\([ivx]+\)|Solution:?|Answer:?)\s*\}", r"\1", text)
    text = _label_items(text)
    text = re.sub(r"\\(?:maketitle|newpage|clearpage|noindent|medskip|bigskip|smallskip)\b", "", text)
    return text


def _on_own_line(text: str, pattern: str, repl) -> str:
    """Replace ``pattern`` by ``repl(m)`` starting a line (a newline is added only when text precedes it)."""
    def sub(m: re.Match) -> str:
        line_start = text.rfind("\n", 0, m.start()) + 1
        lead = "" if not text[line_start : m.start()].strip() else "\n"
        return lead + repl(m)

    return re.sub(pattern, sub, text)


def _label_items(text: str) -> str:
    """Give ``\\item`` of nested ``enumerate`` lists explicit ``(a)``/``(i)`` labels (on their own line)."""
    out: list[str] = []
    stack: list[list] = []  # [style, counter]
    pos = 0
    token = re.compile(r"\\begin\{enumerate\}(\[[^\]]*\])?|\\end\{enumerate\}|\\item(\[[^\]]*\])?")
    for m in token.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        word = m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        lead = "" if not text[line_start : m.start()].strip() or text[line_start : m.start()].strip().startswith(
            "\\begin{enumerate}") and not out[-1].strip() else "\n"
        if word.startswith("\\begin"):
            opts = m.group(1) or ""
            style = "roman" if "roman" in opts or "(i)" in opts else "alph" if "alph" in opts or "(a)" in opts \
                else ("alph" if len(stack) == 0 else "roman")
            counter = 0
            setc = re.match(r"\s*\\setcounter\{enum[iv]+\}\{(\d+)\}", text[pos:])
            if setc:
                counter = int(setc.group(1))
            stack.append([style, counter])
            out.append(" ")
        elif word.startswith("\\end"):
            if stack:
                stack.pop()
            out.append(" ")
        else:
            explicit = m.group(2)
            if explicit:
                out.append(lead + explicit[1:-1] + " ")
            elif stack:
                stack[-1][1] += 1
                out.append(lead + _item_label(*stack[-1]) + " ")
            else:
                out.append(lead)
    out.append(text[pos:])
    return "".join(out)


_ROMANS = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")


def _item_label(style: str, n: int) -> str:
    if style == "roman":
        return f"({_ROMANS[n - 1]})" if n <= len(_ROMANS) else f"({n})"
    return f"({chr(ord('a') + n - 1)})" if n <= 26 else f"({n})"


# --------------------------------------------------------------------------- math


@dataclass
class MathSeg:
    """One math fragment of the document."""

    start: int
    end: int
    latex: str
    display: bool
    bare: bool = False  # plain-text math without delimiters (``dJ/dv_c = U(yhat - y)``), converted to LaTeX


_MATH_ENVS = r"equation|align|gather|multline|eqnarray|flalign|alignat|displaymath|math"
_MATH = re.compile(
    r"(?P<dd>\$\$(?P<dd_body>.+?)\$\$)"
    r"|(?P<br>\\\[(?P<br_body>.+?)\\\])"
    r"|(?P<env>\\begin\{(?P<env_name>(?:" + _MATH_ENVS + r")\*?)\}(?P<env_body>.+?)\\end\{(?P=env_name)\})"
    r"|(?P<fence>```math\n(?P<fence_body>.+?)```)"
    r"|(?P<pa>\\\((?P<pa_body>.+?)\\\))"
    r"|(?P<d>(?<![\\$])\$(?P<d_body>[^$\n]+?(?:\n[^$\n]+?)?)(?<!\\)\$)",
    re.S,
)


def find_math(text: str) -> list[MathSeg]:
    """All math fragments in order (display: ``$$``, ``\\[``, environments, fences)."""
    segs = []
    for m in _MATH.finditer(text):
        kind = m.lastgroup if m.lastgroup and not m.lastgroup.endswith("body") else None
        for name in ("dd", "br", "env", "fence", "pa", "d"):
            if m.group(name):
                kind = name
                break
        body = m.group(f"{kind}_body")
        if kind == "env":
            env = m.group("env_name")
            body = f"\\begin{{{env}}}{body}\\end{{{env}}}" if env.startswith(("align", "eqnarray", "flalign")) \
                else body
        segs.append(MathSeg(m.start(), m.end(), body, kind not in ("pa", "d")))
    return segs


# -- plain-text math: a line (or the rest of a line) that starts with a derivative and '='

_BARE_LHS = re.compile(
    r"(?<![A-Za-z\\$_{])(?:"
    r"(?:d|∂|\\partial\s*)\s*(?:J|L)(?:_\{[^{}\n]*\}|_[A-Za-z][\w-]*)?(?:\s*\([^()\n]*\))?\s*/\s*"
    r"(?:d|∂|\\partial\s*)\s*[A-Za-z](?:_\{[^{}\n]*\}|_[A-Za-z0-9]\w*)?"
    r"|\\frac\s*\{\s*(?:d|\\partial)[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*\}\s*\{\s*(?:d|\\partial)[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*\}"
    r"(?:\s*J(?:_\{[^{}\n]*\})?(?:\([^()\n]*\))?)?"
    r"|(?:\\?sigma|σ|f)\s*'\s*\(\s*x\s*\)"
    r"|d\s*(?:\\?sigma|σ)\s*(?:\(\s*x\s*\))?\s*/\s*dx"
    r"|(?:\\nabla|grad)\s*_\s*(?:\{[^{}\n]*\}|[A-Za-z](?:_[A-Za-z])?)\s*J(?:_\{[^{}\n]*\}|_[A-Za-z][\w-]*)?"
    r")[ \t]*=(?!=)"
)
_MATH_WORDS = {"sigma", "exp", "log", "sum", "yhat", "alpha", "if", "for", "when", "otherwise", "else", "all",
               "and", "hat", "frac", "partial", "top", "text", "quad", "cdot", "sum_", "vocab", "max", "min"}
_PROSE_RUN = re.compile(r"(?<![\\A-Za-z_])([A-Za-z]{2,})[ \t]+([A-Za-z]{2,})(?![A-Za-z_({^])")
_SENTENCE_END = re.compile(r"(?:[.;][ \t]+(?=[A-Z])|[ \t]+(?:i\.e\.|e\.g\.|because|since|which|where|so that)\b)")


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Fenced code blocks and inline code (never math)."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"^```.*?^```", text, re.S | re.M)]
    spans += [(m.start(), m.end()) for m in re.finditer(r"`[^`\n]+`", text)]
    return spans


def _cut_prose(line: str) -> str:
    """The math at the start of ``line``: up to the first sentence end or run of two prose words."""
    end = len(line)
    m = _SENTENCE_END.search(line)
    if m:
        end = m.start()
    for m in _PROSE_RUN.finditer(line, 0, end):
        a, b = m.group(1).lower(), m.group(2).lower()
        if a not in _MATH_WORDS and b not in _MATH_WORDS or (a not in _MATH_WORDS and len(a) > 3
                                                              and b not in ("if", "for", "when")):
            end = m.start()
            break
    return line[:end].rstrip(" \t,;:.")


_BARE_PREFIX = re.compile(
    r"[ \t]*(?:[-*+>][ \t]+)?(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*"
    r"(?:(?:Q(?:uestion)?[ \t]*\d+|Problem[ \t]*\d+|\d)[ \t]*[.:]?[ \t]*)?"
    r"(?:\([a-j]\)|[a-j][.)]|[a-j](?=[ \t]))?[ \t]*(?:\((?:i{1,3}|iv)\)|(?:i{1,3}|iv)[.)]|(?:i{1,3}|iv)(?=[ \t]))?"
    r"[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?:(?:Answer|Solution|Ans)[ \t]*[.:]?[ \t]*(?:\*\*|__)?[ \t]*)?"
    r"(?:(?:case[ \t]+|for[ \t]+|if[ \t]+)?\(?[wx][ \t]*(?:=|!=|≠|<|>|<=|>=)[ \t]*(?:o|0)\)?[ \t]*[:,][ \t]*)?",
    re.I,
)
"""What may precede a plain-text equation on its line: list bullets, part markers and a case
("w != o:"), nothing else (a derivative in the middle of a sentence is prose)."""


def find_bare_math(text: str, segs: list[MathSeg]) -> list[MathSeg]:
    """Plain-text equations (no ``$``): ``dJ/dv_c = U(yhat - y)``, ``sigma'(x) = …``, with the ``= …``
    continuation lines below them, converted to LaTeX."""
    taken = [(s.start, s.end) for s in segs] + _code_spans(text)
    out: list[MathSeg] = []
    lines = list(re.finditer(r"[^\n]*", text))
    k = 0
    while k < len(lines):
        line = lines[k]
        m = _BARE_LHS.search(line.group(0))
        start = line.start() + m.start() if m else -1
        if m is None or not _BARE_PREFIX.fullmatch(line.group(0)[: m.start()]) \
                or any(a <= start < b or a < line.end() and b > start for a, b in taken):
            k += 1
            continue
        body = [_cut_prose(line.group(0)[m.start():])]
        end = line.start() + m.start() + len(body[0])
        j = k + 1
        while j < len(lines):
            nxt = lines[j]
            if nxt.group(0) == "" and j + 1 < len(lines) and lines[j + 1].group(0).lstrip().startswith("="):
                j += 1
                continue
            if not nxt.group(0).lstrip().startswith("=") or any(a < nxt.end() and b > nxt.start() for a, b in taken):
                break
            piece = _cut_prose(nxt.group(0).lstrip())
            body.append(piece)
            end = nxt.start() + len(nxt.group(0)) - len(nxt.group(0).lstrip()) + len(piece)
            j += 1
        out.append(MathSeg(start, end, ascii_to_latex(" ".join(body)), True, bare=True))
        k = j
    return out


_ASCII_DERIV = re.compile(
    r"(?<![A-Za-z\\])(?:d|∂)\s*(?P<f>J|L)(?P<sub>_\{[^{}]*\}|_[A-Za-z][\w-]*)?(?P<args>\s*\([^()]*\))?\s*/\s*"
    r"(?:d|∂)\s*(?P<x>[A-Za-z](?:_\{[^{}]*\}|_[A-Za-z0-9]\w*)?)"
)
_ASCII_CASES = re.compile(
    r"^(?P<lhs>.*?=)\s*(?P<a>[^=]+?)\s+(?:if|for|when)\s+(?P<c1>[^,;]+?)\s*[,;]\s*(?:and\s+)?(?:(?:else|otherwise)\s+)?"
    r"(?P<b>[^,;]+?)(?:\s+(?:if|for|when)\s+(?P<c2>[^,;]+?)|\s+(?P<ow>otherwise|else))\s*\.?$"
)


def _braced_sub(sub: str) -> str:
    return sub if sub.startswith("_{") else "_{" + sub[1:] + "}"


def ascii_to_latex(src: str) -> str:
    """LaTeX for a plain-text equation: ``dJ/dv_c`` → ``\\frac{\\partial J}{\\partial v_c}``, ``sigma`` → ``\\sigma``,
    ``yhat`` → ``\\hat{y}``, ``sum_`` → ``\\sum_``, ``!=`` → ``\\neq``, ``1 if x > 0, alpha if x < 0`` → cases."""
    text = src.replace("∂", "d")

    def deriv(m: re.Match) -> str:
        sub = _braced_sub(m.group("sub")) if m.group("sub") else ""
        x = m.group("x")
        if "_" in x and not x.split("_", 1)[1].startswith("{"):
            x = x.split("_", 1)[0] + "_{" + x.split("_", 1)[1] + "}"
        return r"\frac{\partial " + m.group("f") + sub + (m.group("args") or "").strip() + r"}{\partial " + x + "}"

    text = _ASCII_DERIV.sub(deriv, text)
    text = re.sub(r"(?<![A-Za-z\\])d\s*(?:\\?sigma|σ)\s*(?:\(\s*x\s*\))?\s*/\s*dx", r"\\frac{d\\sigma(x)}{dx}", text)
    text = re.sub(r"(?<![A-Za-z\\])grad(?=\s*_)", r"\\nabla", text)
    text = re.sub(r"(?<![A-Za-z\\])y_?hat(?![A-Za-z])", r"\\hat{y}", text)
    text = re.sub(r"(?<![A-Za-z\\])hat\s*\{?\s*y\s*\}?(?![A-Za-z])", r"\\hat{y}", text)
    for word in ("sigma", "alpha"):
        text = re.sub(r"(?<![A-Za-z\\])" + word + r"(?![A-Za-z])", lambda m: "\\" + m.group(0) + " ", text)
    text = re.sub(r"(?<![A-Za-z\\])sum(?=\s*[_^{ ])", r"\\sum", text)
    text = text.replace("!=", r" \neq ").replace("<=", r" \leq ").replace(">=", r" \geq ")
    m = _ASCII_CASES.match(text)
    if m:
        second = m.group("c2") if m.group("c2") else r"\text{otherwise}"
        text = (m.group("lhs") + r" \begin{cases} " + m.group("a") + " & " + m.group("c1") + r" \\ " + m.group("b")
                + " & " + second + r" \end{cases}")
    text = re.sub(r"(?<![A-Za-z\\{])(if|for|when|otherwise|else)(?![A-Za-z])", r" \\text{\1 } ", text)
    return text


def mask_math(text: str, segs: list[MathSeg]) -> str:
    """``text`` with math replaced by ``§`` (newlines kept) so markers are only found in prose."""
    chars = list(text)
    for s in segs:
        for k in range(s.start, s.end):
            if chars[k] != "\n":
                chars[k] = "§"
    return "".join(chars)


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
    r"(?:Assignment|Homework|HW|Problem Set|PS)[ \t]*#?[ \t]*(?P<n>\d+)\b(?![ \t]*(?:and|&|,)[ \t]*\d)", re.I | re.M)


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
    for m in markers:
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


# --------------------------------------------------------------------------- question text

QUESTION_PHRASES = (
    "prove that the naive-softmax loss", "show that the naive-softmax loss", "your answer should be one line",
    "you may describe your answer in words", "compute the partial derivative", "compute the partial derivatives",
    "please write your answer in terms of", "please write your answers in terms of", "show your work to receive",
    "the shape convention: the partial", "vectorized form", "when is the gradient you computed equal to zero",
    "you may wish to review", "the gradient you found is the difference", "provide an interpretation of how",
    "l2 normalized vectors", "hypothetical downstream task", "when would l2 normalization",
    "consider the case where", "give examples of words", "break down your answer in terms of the column",
    "no derivations are necessary", "the leaky relu", "you may ignore the case where the derivative",
    "the sigmoid function is given by", "please compute the derivative of", "where x is a scalar",
    "now we shall consider the negative sampling", "assume that k negative samples", "for simplicity of notation",
    "assume that the k negative samples are distinct", "the negative sampling loss function is given by",
    "please repeat parts", "you should be able to use your solution", "which quantity could you reuse",
    "an efficient implementation of backpropagation", "describe with one sentence why",
    "now we will repeat the previous exercise", "you may not assume that the words are distinct",
    "break up the sum in the loss function", "notation-wise, you may write", "suppose the center word is",
    "recall that for the skip-gram", "represents an arbitrary loss term", "write down three partial derivatives",
    "this is very simple", "once you're done", "you're ready to implement word2vec", "the solution should be one",
    "there will be two cases", "in this subpart, you may use specific elements", "note that in this course",
    "after you've done this, describe", "could be $j", "depending on your implementation",
    "write your answers in terms of", "we store the common terms", "additional terms and functions",
    "caveat: so far we have looked", "(3 points)", "(2 points)", "(5 points)", "(4 points)", "(1 point)",
    "(6 points)", "(2 point)", "<sup>", "if you're interested in how to handle",
    "this allows us to efficiently minimize", "note: in the notation for parts", "note: the loss function here is",
    "numpy will automatically broadcast", "note that the true conditional probability",
    "the cross-entropy loss between the true",
)


def is_question_text(paragraph: str) -> bool:
    """A paragraph copied from a handout question (recognised by its phrases)."""
    low = re.sub(r"\s+", " ", paragraph.lower())
    low = low.replace("’", "'")
    return any(phrase in low for phrase in QUESTION_PHRASES)


def paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` spans of blank-line separated paragraphs in ``text[start:end]``."""
    spans = []
    pos = start
    for m in re.finditer(r"\n[ \t]*\n", text[start:end]):
        spans.append((pos, start + m.start()))
        pos = start + m.end()
    spans.append((pos, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


_DERIVATIVE_EQ = re.compile(r"(?:\\partial|\\nabla|\\frac\s*\{\s*d|'\s*\().*=|=.*(?:\\partial|\\nabla)", re.S)


def answer_spans(text: str, masked: str, block: Block) -> list[tuple[int, int]]:
    """The spans of ``block`` that are the student's answer.

    Paragraphs of copied question text are dropped, unless they contain a
    derivative equation (a student's answer written under the question).
    """
    spans = []
    for a, b in paragraphs(masked, block.answer_start, block.end):
        if is_question_text(masked[a:b]) and not _DERIVATIVE_EQ.search(text[a:b]):
            continue
        spans.append((a, b))
    return spans


_PLACEHOLDER = re.compile(
    r"^\(?(?:answer(?: goes)? here|your answer here|write your answer here|here|todo|tbd|n/?a|none|-+|[—–]+|"
    r"\.{3}|…|solution here|\[answer\]|\(answer\)|answer:?|skipped|skip|not answered|unanswered|not done|"
    r"not attempted|no answer|left blank|blank|did not answer|didn't answer|not (?:yet )?(?:done|finished))\)?\.?$",
    re.I,
)


def clean_prose(text: str) -> str:
    """Prose without Markdown/LaTeX decoration (math already masked as §)."""
    text = re.sub(r"§+", " ", text)
    text = re.sub(r"\\[A-Za-z]+\*?(\{[^{}]*\})?", " ", text)
    text = re.sub(r"[#*_>`|{}\[\]]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def is_placeholder(text: str) -> bool:
    body = clean_prose(text)
    return not body or bool(_PLACEHOLDER.match(body))


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
        pieces = [self.text[a:b].strip().lstrip("*_: ").strip() for a, b in answer_spans(self.text, self.masked, block)]
        raw = "\n\n".join(p for p in pieces if p)
        return raw if len(raw) <= limit else raw[: limit - 1] + "…"
