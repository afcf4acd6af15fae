"""Loading an answer sheet: LaTeX sources reduced to Markdown-like text (sections → headings,
``enumerate`` items → ``(a)``/``(i)`` labels), and the student's own macros expanded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

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
