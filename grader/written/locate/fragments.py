"""Math fragments: ``$…$``, ``$$…$$``, ``\\[…\\]``, environments, and plain-text equations without
delimiters that start with a derivative (``dJ/dv_c = …``, converted to LaTeX); the masked text
(math replaced by ``§``) in which markers and prose are searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
