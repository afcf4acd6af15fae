"""LaTeX normalisation: many spellings of the same notation → one canonical spelling.

Students write the same object in many ways (``\\boldsymbol{u}_o^\\top``,
``\\mathbf{u_o}^T``, ``u_o^{T}``, ``uᵀ_o`` …).  :func:`normalize_latex` rewrites a
math fragment so that the tokenizer in :mod:`grader.written.parse` only has to
know one spelling per concept:

* font wrappers (``\\boldsymbol``, ``\\mathbf``, ``\\bm``, ``\\vec`` …) are removed,
  except that a bold/blackboard ``1`` becomes ``\\ONE`` (ones vector or
  indicator, decided by the parser) and a bold ``0`` becomes ``\\ZERO``;
* every transpose spelling becomes ``^{\\top}``; ``^\\prime`` becomes ``'``;
* ``\\hat{y}`` (in any nesting with bold) becomes ``\\yhat``;
* ``e^{…}`` becomes ``\\exp{…}``; ``\\ln`` becomes ``\\log``; ``\\dfrac`` → ``\\frac``;
* sizing and spacing commands (``\\left``, ``\\big``, ``\\,``, ``\\quad`` …),
  ``\\tag``/``\\label``/``\\nonumber`` and ``\\displaystyle`` are removed;
* common Unicode symbols (σ, ŷ, ∂, Σ, ᵀ, −, ≠ …) become their LaTeX commands.

:func:`render_text` turns LaTeX into readable plain text for reports.
"""

from __future__ import annotations

import re

UNICODE = {
    "−": "-", "–": "-", "·": r" \cdot ", "∘": r" \circ ", "⊙": r" \odot ", "σ": r"\sigma ",
    "ŷ": r"\hat{y}", "ᵀ": r"^{\top}", "⊤": r"\top ", "∂": r"\partial ", "∑": r"\sum ", "Σ": r"\sum ",
    "≠": r"\neq ", "≤": r"\leq ", "≥": r"\geq ", "α": r"\alpha ", "∈": r"\in ", "…": r"\ldots ",
    "×": r"\times ", "∇": r"\nabla ", "′": "'", "\u00a0": " ", "\u2009": " ", "\u200b": "",
}

_FONT_WRAPPERS = (
    "boldsymbol", "mathbf", "bm", "pmb", "mathbfit", "mathit", "vec", "bold", "mathbold", "symbf",
    "mathsf", "textbf", "mathnormal", "boldmath",
)
_ONE_WRAPPERS = _FONT_WRAPPERS + ("mathbb", "mathds", "mathbbm", "mathbbmss", "mathrm")
_REMOVE_WITH_ARG = ("tag", "tag*", "label", "hspace", "vspace", "phantom", "hphantom", "vphantom")
_REMOVE = (
    "left.", "right.", "displaystyle", "textstyle", "nonumber", "notag", "limits", "nolimits",
    "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr", "bigm", "Bigm",
    "big", "Big", "bigg", "Bigg", "left", "right", "middle",
)


def matching_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``text[start]`` (``-1`` when unbalanced).

    Escaped braces (``\\{``, ``\\}``) are not counted.
    """
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _argument(text: str, start: int) -> tuple[str, int] | None:
    """The macro argument beginning at ``start`` (after spaces): ``{…}``, ``\\cmd`` or one char.

    Returns ``(argument_without_braces, index_after_argument)``.
    """
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "{":
        end = matching_brace(text, i)
        if end < 0:
            return None
        return text[i + 1 : end], end + 1
    if text[i] == "\\":
        m = re.match(r"\\[A-Za-z]+", text[i:])
        if m:
            return m.group(0), i + len(m.group(0))
        return text[i : i + 2], i + 2
    return text[i], i + 1


def replace_macro(text: str, name: str, fn) -> str:
    """Replace every ``\\name{arg}`` (or ``\\name x``) by ``fn(arg)``."""
    pattern = re.compile(r"\\" + re.escape(name) + r"(?![A-Za-z])")
    out, pos = [], 0
    while True:
        m = pattern.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        arg = _argument(text, m.end())
        if arg is None:
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        out.append(text[pos : m.start()])
        out.append(fn(arg[0]))
        pos = arg[1]


def _unicode(text: str) -> str:
    for src, dst in UNICODE.items():
        text = text.replace(src, dst)
    return text


def _ones_and_zeros(text: str) -> str:
    for name in _ONE_WRAPPERS:
        text = re.sub(r"\\" + name + r"\s*\{\s*1\s*\}", r"\\ONE ", text)
        text = re.sub(r"\\" + name + r"\s*\{\s*I\s*\}", r"\\ONE ", text) if name.startswith("math") else text
        text = re.sub(r"\\" + name + r"\s*\{\s*0\s*\}", r"\\ZERO ", text)
    text = re.sub(r"\\mathbb\s*1(?![0-9])", r"\\ONE ", text)
    return text


def _transposes(text: str) -> str:
    top = r"^{\top}"
    text = re.sub(r"\^\s*\{\s*\\(?:mathsf|mathrm|text|mathit|rm|sf)\s*\{\s*T\s*\}\s*\}", lambda m: top, text)
    text = re.sub(r"\^\s*\\(?:mathsf|mathrm|text|rm|sf)\s*\{\s*T\s*\}", lambda m: top, text)
    text = re.sub(r"\^\s*\{\s*(?:T|\\top|\\intercal|\\mathsf\s*T|\\tau)\s*\}", lambda m: top, text)
    text = re.sub(r"\^\s*(?:\\top|\\intercal)(?![A-Za-z])", lambda m: top, text)
    # ``^T`` takes one token in LaTeX: ``u_o^Tv_c`` is ``u_o^{T} v_c``
    text = re.sub(r"\^\s*T", lambda m: top + " ", text)
    text = re.sub(r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime(?![A-Za-z])", "'", text)
    return text


def _strip_wrapper(arg: str) -> str:
    return " {" + arg + "} "


def _unbox(arg: str) -> str:
    """``\\boxed{…}``: a boxed equation (``\\boxed{∂J/∂v_c = …}``) keeps its ``=`` at the top level."""
    depth = 0
    for ch in arg:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "=" and depth == 0:
            return " " + arg + " "
    return _strip_wrapper(arg)


def _hats(text: str) -> str:
    def hat(arg: str) -> str:
        inner = arg.strip()
        for name in _FONT_WRAPPERS:
            inner = replace_macro(inner, name, lambda a: a)
        inner = inner.strip().strip("{}").strip()
        if inner == "y":
            return r" \yhat "
        if re.fullmatch(r"y\s*_\s*(\{[^{}]*\}|\w)", inner):
            return r" \yhat" + inner[1:] + " "
        return r" \HAT{" + inner + "} "

    for name in ("widehat", "hat"):
        text = replace_macro(text, name, hat)
    return text


def _text_commands(text: str) -> str:
    def as_text(arg: str) -> str:
        arg = arg.strip()
        if len(arg) == 1 and arg.isalpha():
            return " " + arg + " "
        return r" \text{" + arg + "} "

    for name in ("mathrm", "textrm", "operatorname", "textit", "textnormal", "mbox", "textsf", "texttt"):
        text = replace_macro(text, name, as_text)
    text = re.sub(r"\\text\s*\{\s*(sigmoid|sigma)\s*\}", r"\\sigma ", text)
    for _ in range(3):  # \text{neg} \text{-sample} → \text{neg-sample}
        text = re.sub(r"\\text\s*\{([^{}]*)\}\s*\\text\s*\{([^{}]*)\}", r"\\text{\1\2}", text)
    text = re.sub(r"\\text\s*\{\s*(exp|log|ln)\s*\}", lambda m: "\\" + m.group(1) + " ", text)
    return text


def _exponentials(text: str) -> str:
    text = re.sub(r"(?<![A-Za-z\\])e\s*\^", r"\\exp ", text)
    text = re.sub(r"\\ln(?![A-Za-z])", r"\\log", text)
    # bare function names written without a backslash in markdown
    text = re.sub(r"(?<![A-Za-z\\])(exp|log)\s*(?=\()", r"\\\1", text)
    return text


def _remove_noise(text: str) -> str:
    for name in ("intertext", "shortintertext"):  # prose between the rows of an align: a row break
        text = replace_macro(text, name, lambda a: r" \\ ")
    for name in _REMOVE_WITH_ARG:
        text = replace_macro(text, name, lambda a: " ")
    text = re.sub(r"\\(?:left|right)\s*\.", " ", text)
    for name in _REMOVE:
        text = re.sub(r"\\" + re.escape(name) + r"(?![A-Za-z])", " ", text)
    text = re.sub(r"(?<!\\)((?:\\\\)*)\\[,;:! ]", r"\1 ", text)
    text = text.replace("~", " ")
    text = re.sub(r"\\(?:dfrac|tfrac|cfrac)(?![A-Za-z])", r"\\frac", text)
    text = re.sub(r"\\(?:lvert|rvert|vert|mid)(?![A-Za-z])", "|", text)
    text = re.sub(r"\\(?:Vert|lVert|rVert)(?![A-Za-z])", r"\\|", text)
    text = re.sub(r"\\(?:ne)(?![A-Za-z])", r"\\neq", text)
    text = re.sub(r"\\(?:le)(?![A-Za-z])", r"\\leq", text)
    text = re.sub(r"\\(?:ge)(?![A-Za-z])", r"\\geq", text)
    text = re.sub(r"\\(?:lbrack)(?![A-Za-z])", "[", text)
    text = re.sub(r"\\(?:rbrack)(?![A-Za-z])", "]", text)
    text = re.sub(r"\\(?:lbrace)(?![A-Za-z])", r"\\{", text)
    text = re.sub(r"\\(?:rbrace)(?![A-Za-z])", r"\\}", text)
    text = re.sub(r"\\(?:dots|dotsc|dotsb|cdots|ldots|vdots|ddots)(?![A-Za-z])|\.\.\.", r" \\ldots ", text)
    return text


_VOCAB_SIZE = re.compile(
    r"\|\s*(?:\\(?:text|mathrm|textrm|mathit|operatorname|mathcal|mathbb)\s*\{\s*(?:Vocab(?:ulary)?|V)\s*\}"
    r"|Vocab(?:ulary)?)\s*\|"
)


def _vocabulary(text: str) -> str:
    """``|\\text{Vocab}|``, ``|Vocab|``, ``|\\mathcal{V}|`` → ``|V|``; ``\\mathcal{V}`` → ``V``."""
    text = _VOCAB_SIZE.sub("|V|", text)
    return re.sub(r"\\mathcal\s*\{\s*V\s*\}|\\mathcal\s+V(?![A-Za-z])", " V ", text)


_BRACE_CASES = re.compile(
    r"\\left\s*\\\{\s*\\begin\{(?P<env>array|matrix|aligned)\}(?:\s*\{[^{}]*\})?(?P<body>.*?)"
    r"\\end\{(?P=env)\}\s*\\right\s*\.",
    re.S,
)


def _brace_cases(text: str) -> str:
    """``\\left\\{ \\begin{array}{ll} … \\end{array} \\right.`` is a ``cases`` environment."""
    return _BRACE_CASES.sub(lambda m: r"\begin{cases}" + m.group("body") + r"\end{cases}", text)


def normalize_latex(latex: str) -> str:
    """Canonical spelling of one math fragment (see the module docstring)."""
    text = _unicode(latex)
    text = _brace_cases(text)
    text = _vocabulary(text)
    for name in ("boxed", "fbox", "bbox", "colorbox"):
        text = replace_macro(text, name, _unbox)
    text = re.sub(r"\\(?:color|textcolor)\s*\{[^{}]*\}", " ", text)
    text = _remove_noise(text)
    text = _ones_and_zeros(text)
    text = _transposes(text)
    text = _hats(text)
    for name in _FONT_WRAPPERS:
        text = replace_macro(text, name, _strip_wrapper)
    text = _transposes(text)
    text = _text_commands(text)
    text = _exponentials(text)
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- plain-text rendering

_RENDER = [
    (r"\\yhat", "ŷ"), (r"\\hat\s*\{\s*y\s*\}", "ŷ"), (r"\\ONE", "𝟏"), (r"\\ZERO", "0"),
    (r"\^\{\\top\}", "ᵀ"), (r"\\sigma", "σ"), (r"\\partial", "∂"), (r"\\sum", "Σ"), (r"\\neq", "≠"),
    (r"\\leq", "≤"), (r"\\geq", "≥"), (r"\\alpha", "α"), (r"\\in", "∈"), (r"\\ldots", "…"), (r"\\cdot", "·"),
    (r"\\circ", "∘"), (r"\\odot", "⊙"), (r"\\times", "×"), (r"\\nabla", "∇"), (r"\\exp", "exp"),
    (r"\\log", "log"), (r"\\max", "max"), (r"\\delta", "δ"), (r"\\infty", "∞"), (r"\\to", "→"),
    (r"\\notin", "∉"), (r"\\forall", "∀"), (r"\\mathbb\{R\}", "ℝ"), (r"\\\{", "{"), (r"\\\}", "}"),
]


def render_text(latex: str) -> str:
    """Readable plain-text rendering of a LaTeX fragment (for reports; lossy, never parsed)."""
    text = normalize_latex(latex)
    text = replace_macro(text, "text", lambda a: a)
    text = replace_macro(text, "HAT", lambda a: a + "\u0302")
    for _ in range(3):
        text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = replace_macro(text, "substack", lambda a: a.replace("\\\\", ", "))
    for pattern, repl in _RENDER:
        text = re.sub(pattern + r"(?![A-Za-z])", repl, text)
    text = re.sub(r"\\begin\{[a-z*]+\}|\\end\{[a-z*]+\}", " ", text)
    text = text.replace("\\\\", "; ").replace("&", " ")
    text = re.sub(r"_\{([^{}]*)\}", r"_\1", text)
    text = re.sub(r"\^\{([^{}]*)\}", r"^\1", text)
    text = re.sub(r"(?<!\\)[{}]", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*([_^ᵀ])\s*", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    text = re.sub(r"\s+([)\],])", r"\1", text)
    return text
