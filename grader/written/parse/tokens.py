"""Tokens of normalised LaTeX (:func:`tokenize`): commands, letters, numbers, braces, operators, text;
and token-list helpers (rows ``\\``, cells ``&``, trailing punctuation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.written.parse.nodes import ParseError

# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Tok:
    kind: str  # 'num' 'letter' 'cmd' 'text' 'begin' 'end' or the punctuation itself
    value: str
    pos: int
    end: int


_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<text>\\text\s*\{)"
    r"|(?P<begin>\\begin\s*\{\s*(?P<bname>[A-Za-z*]+)\s*\})"
    r"|(?P<end>\\end\s*\{\s*(?P<ename>[A-Za-z*]+)\s*\})"
    r"|(?P<nl>\\\\)"
    r"|(?P<lset>\\\{)|(?P<rset>\\\})|(?P<norm>\\\|)"
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<letter>[A-Za-z])"
    r"|(?P<punct>[-+*/^_(){}\[\]|,=<>:;&'!.])"
)

RELATION_CMDS = {"neq": "!=", "leq": "<=", "geq": ">=", "in": "in", "notin": "notin", "leqslant": "<=",
                 "geqslant": ">=", "lt": "<", "gt": ">", "equiv": "=", "coloneqq": "=", "approx": "~"}
_FUNCTION_LETTERS = {"J", "f", "P", "L", "g"}
GREEK = {"alpha", "beta", "gamma", "theta", "lambda", "mu", "eta", "tau", "phi", "psi", "omega", "epsilon",
         "varepsilon", "xi", "pi", "rho", "nu", "kappa", "zeta", "chi", "Theta", "Phi", "Omega", "ell"}


def tokenize(text: str) -> list[Tok]:
    """Tokens of a normalised fragment; ``\\text{…}`` becomes one ``text`` token."""
    toks: list[Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m:
            raise ParseError(f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        if kind == "ws":
            pass
        elif kind == "text":
            start = m.end() - 1
            depth, j = 0, start
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            toks.append(Tok("text", text[start + 1 : j].strip(), i, j + 1))
            i = j + 1
            continue
        elif kind in ("begin", "bname"):
            name = m.group("bname")
            toks.append(Tok("begin", name, i, m.end()))
            if name == "array":  # skip the column specification
                arg = re.match(r"\s*\{[^{}]*\}", text[m.end() :])
                if arg:
                    i = m.end() + arg.end()
                    continue
        elif kind in ("end", "ename"):
            toks.append(Tok("end", m.group("ename"), i, m.end()))
        elif kind == "nl":
            toks.append(Tok("nl", "\\\\", i, m.end()))
        elif kind == "lset":
            toks.append(Tok("lset", "\\{", i, m.end()))
        elif kind == "rset":
            toks.append(Tok("rset", "\\}", i, m.end()))
        elif kind == "norm":
            toks.append(Tok("norm", "\\|", i, m.end()))
        elif kind == "cmd":
            toks.append(Tok("cmd", m.group(0)[1:], i, m.end()))
        elif kind == "num":
            toks.append(Tok("num", m.group(0), i, m.end()))
        elif kind == "letter":
            toks.append(Tok("letter", m.group(0), i, m.end()))
        else:
            toks.append(Tok(m.group(0), m.group(0), i, m.end()))
        i = m.end()
    return toks



def _split_rows(toks: list[Tok]) -> list[list[Tok]]:
    rows: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if t.kind == "nl" and depth == 0:
            rows.append([])
        else:
            rows[-1].append(t)
    return rows


def _split_cells(row: list[Tok]) -> list[list[Tok]]:
    cells: list[list[Tok]] = [[]]
    depth = 0
    for t in row:
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if t.kind == "&" and depth == 0:
            cells.append([])
        else:
            cells[-1].append(t)
    return [c for c in cells if c]


def _strip_punct(toks: list[Tok]) -> list[Tok]:
    while toks and toks[-1].kind in (".", ",", ";"):
        toks = toks[:-1]
    while toks and toks[0].kind in (",", ";", ":"):
        toks = toks[1:]
    return toks
