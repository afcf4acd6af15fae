"""Tree building: normalised LaTeX → a small typed AST (no algebra, no reordering).

The parser is a hand-written recursive-descent parser over the canonical
spelling produced by :func:`grader.written.normalize.normalize_latex`.  It
builds a tree that keeps what off-the-shelf LaTeX→sympy converters lose:
the order of (non-commuting) factors, transposes, the case of letters
(``U`` ≠ ``u``), σ as a function, sums with their index conditions, Iverson
brackets, ``cases`` and matrices with ellipses.  It never simplifies; the
meaning of symbols is decided later by :mod:`grader.written.typed_eval`.

Anything the grammar does not know raises :class:`ParseError` (the checker
then routes the part to a human).

Entry points: :func:`split_equations` (display math → equations),
:func:`parse_equation` (one equation → :class:`Equation` with its ``=`` chain
and an optional condition) and :func:`parse_expression`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from grader.written.normalize import normalize_latex


class ParseError(ValueError):
    """The fragment is outside the grammar (message says where and why)."""


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Sym:
    """A symbol with an optional subscript: ``u_o`` is ``Sym('u', Sym('o'))``; ``ŷ`` is ``Sym('yhat')``."""

    name: str
    sub: Optional[Node] = None


@dataclass(frozen=True)
class Ones:
    """The all-ones vector ``𝟏`` (length taken from its context)."""


@dataclass(frozen=True)
class Zero:
    """A literal zero (scalar ``0`` or bold ``𝟎``): equal to a zero of any shape."""


@dataclass(frozen=True)
class Dots:
    """An ellipsis (``\\ldots``, ``\\cdots`` …) inside a matrix or list."""


@dataclass(frozen=True)
class Text:
    """Text (``\\text{…}``): loss names in subscripts, 'otherwise' in conditions."""

    text: str


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Add:
    """``left + right`` (subtraction is ``Add(a, Neg(b))``)."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Mul:
    """Product in written order: juxtaposition, ``\\cdot``, ``\\times`` or ``*``."""

    left: Node
    right: Node


@dataclass(frozen=True)
class CDot:
    """``a \\cdot b``: a product, or the dot product when both sides are vectors of one shape."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Had:
    """Element-wise product (``\\circ``, ``\\odot``)."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Div:
    num: Node
    den: Node


@dataclass(frozen=True)
class Pow:
    base: Node
    exponent: Node


@dataclass(frozen=True)
class T:
    """Transpose."""

    arg: Node


@dataclass(frozen=True)
class Call:
    """Known function: ``sigma``, ``dsigma`` (σ'), ``exp``, ``log``, ``max``, ``min``, ``abs``."""

    fn: str
    args: tuple


@dataclass(frozen=True)
class FnApp:
    """A named function applied to arguments: ``J_{neg-sample}(v_c, o, U)``, ``f(x)``, ``P(O=o|C=c)``."""

    head: Sym
    args: tuple


@dataclass(frozen=True)
class Sum:
    """``\\sum_{sub}^{sup} body``; ``sub`` holds the items of the subscript (index, bounds, conditions)."""

    sub: tuple
    sup: Optional[Node]
    body: Node


@dataclass(frozen=True)
class Rel:
    """A relation ``left op right``; op ∈ {'=', '!=', '<', '>', '<=', '>=', 'in', 'notin'}."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Iverson:
    """``[cond]``, ``𝟙[cond]``, ``𝟙_{cond}``, ``δ_{wo}``: 1 when ``cond`` holds, else 0."""

    cond: Node


@dataclass(frozen=True)
class Cases:
    """``\\begin{cases}``: pieces ``(value, condition)``; condition ``None`` = otherwise."""

    pieces: tuple


@dataclass(frozen=True)
class Matrix:
    """Rows of entries (entries side by side are concatenated horizontally)."""

    rows: tuple


@dataclass(frozen=True)
class SetLit:
    items: tuple


@dataclass(frozen=True)
class SetBuilder:
    """``\\{k : w_k = w_s\\}``: the values of ``var`` satisfying ``conds`` (its domain is decided by the evaluator)."""

    var: Node
    conds: tuple


@dataclass(frozen=True)
class Deriv:
    """A derivative ``∂fn/∂wrt``; ``fn`` is None for an operator ``∂/∂x`` with nothing after it."""

    fn: Optional[Node]
    wrt: Node


Node = Union[
    Num, Sym, Ones, Zero, Dots, Text, Neg, Add, Mul, CDot, Had, Div, Pow, T, Call, FnApp, Sum, Rel, And,
    Iverson, Cases, Matrix, SetLit, SetBuilder, Deriv,
]


def walk(node: object):
    """All AST nodes below and including ``node`` (pre-order)."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
        return
    if not dataclasses.is_dataclass(node):
        return
    yield node
    for f in dataclasses.fields(node):
        yield from walk(getattr(node, f.name))


def transform(node: object, fn: Callable[[object], object | None]) -> object:
    """Bottom-up rewrite: ``fn(n)`` returns a replacement or None to keep ``n``."""
    if isinstance(node, tuple):
        return tuple(transform(item, fn) for item in node)
    if not dataclasses.is_dataclass(node):
        return node
    changes = {f.name: transform(getattr(node, f.name), fn) for f in dataclasses.fields(node)}
    rebuilt = dataclasses.replace(node, **changes) if changes else node
    out = fn(rebuilt)
    return rebuilt if out is None else out


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


# --------------------------------------------------------------------------- parser

_OPEN = {"(": ")", "[": "]", "{": "}", "lset": "rset"}
_FACTOR_CMDS = {
    "frac", "sum", "sigma", "exp", "log", "max", "min", "partial", "nabla", "delta", "yhat", "HAT", "ONE",
    "ZERO", "ldots", "infty", "sqrt",
} | GREEK
_COND_WORDS = re.compile(r"^(?:if|for|when|whenever|provided|in case|in the case)\b", re.I)
_WHERE_WORDS = re.compile(r"^(?:where|with|since|because|as|note|here|and|which|i\.e\.|so|since)\b", re.I)
_OTHERWISE = re.compile(r"^(?:otherwise|else|o\.?\s*w\.?|elsewhere|all other(?: cases| words)?)$", re.I)


class Parser:
    """Recursive-descent parser over a token list (see module docstring for the grammar)."""

    def __init__(self, toks: list[Tok], source: str = ""):
        self.toks = [t for t in toks if not (t.kind == "cmd" and t.value in ("quad", "qquad"))]
        self.i = 0
        self.source = source

    # -- helpers
    def peek(self, k: int = 0) -> Optional[Tok]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, kind: str, value: Optional[str] = None, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == kind and (value is None or t.value == value)

    def next(self) -> Tok:
        t = self.peek()
        if t is None:
            raise ParseError("unexpected end of expression")
        self.i += 1
        return t

    def expect(self, kind: str, value: Optional[str] = None) -> Tok:
        t = self.peek()
        if t is None or t.kind != kind or (value is not None and t.value != value):
            found = "end" if t is None else repr(t.value)
            raise ParseError(f"expected {value or kind!r}, found {found}")
        return self.next()

    def done(self) -> bool:
        return self.i >= len(self.toks)

    # -- grammar
    def parse_full(self) -> Node:
        node = self.parse_expr()
        if not self.done():
            raise ParseError(f"cannot read {self.peek().value!r} here")
        return node

    def parse_expr(self) -> Node:
        if self.at("+"):
            self.next()
            node = self.parse_term()
        elif self.at("-"):
            self.next()
            node = Neg(self.parse_term())
        else:
            node = self.parse_term()
        while self.at("+") or self.at("-"):
            op = self.next().kind
            right = self.parse_term()
            node = Add(node, right if op == "+" else Neg(right))
        return node

    def starts_factor(self) -> bool:
        t = self.peek()
        if t is None:
            return False
        if t.kind in ("num", "letter", "(", "[", "{", "lset", "begin"):
            return not (t.kind == "begin" and t.value in ("aligned", "align", "split"))
        return t.kind == "cmd" and t.value in _FACTOR_CMDS

    def parse_term(self) -> Node:
        node = self.parse_factor()
        while True:
            if self.at("cmd", "cdot"):
                self.next()
                node = CDot(node, self.parse_factor())
            elif self.at("cmd", "times") or self.at("*"):
                self.next()
                node = Mul(node, self.parse_factor())
            elif self.at("cmd", "circ") or self.at("cmd", "odot"):
                self.next()
                node = Had(node, self.parse_factor())
            elif self.at("/"):
                self.next()
                node = Div(node, self.parse_factor())
            elif self.starts_factor():
                node = Mul(node, self.parse_factor())
            else:
                return node

    def parse_factor(self) -> Node:
        if self.at("-"):  # e.g. "\cdot -x" or "e^{-x}" already handled; allow unary minus in a factor
            self.next()
            return Neg(self.parse_factor())
        node = self.parse_primary()
        return self.parse_postfix(node)

    def parse_postfix(self, node: Node) -> Node:
        while True:
            if self.at("_"):
                self.next()
                sub = self.parse_script()
                if isinstance(node, Sym) and node.sub is None:
                    node = Sym(node.name, sub)
                elif isinstance(node, T) and isinstance(node.arg, Sym) and node.arg.sub is None:
                    node = T(Sym(node.arg.name, sub))
                elif isinstance(node, Num) and node.value == 1 and isinstance(sub, (Rel, And, Iverson)):
                    node = sub if isinstance(sub, Iverson) else Iverson(sub)  # 1_{w=o}: an indicator
                elif isinstance(node, Zero) and not isinstance(sub, (Rel, And, Iverson)):
                    pass  # 0_d, 𝟎_{|V|}: a zero vector (its size is not needed)
                else:
                    raise ParseError("subscript on a compound expression")
            elif self.at("^"):
                self.next()
                node = self.parse_superscript(node)
            elif self.at("'"):
                self.next()
                node = self.prime(node)
            elif self.at("(") and self.is_function_head(node):
                node = FnApp(node, self.parse_call_args())
            else:
                return node

    def is_function_head(self, node: Node) -> bool:
        return isinstance(node, Sym) and node.name in _FUNCTION_LETTERS

    def prime(self, node: Node) -> Node:
        if isinstance(node, Sym) and node.name in _FUNCTION_LETTERS and self.at("("):
            app = FnApp(node, self.parse_call_args())
            wrt = app.args[0] if len(app.args) == 1 else Sym("x")
            return Deriv(app, wrt)
        raise ParseError("prime (') on something that is not a function")

    def parse_call_args(self) -> tuple:
        self.expect("(")
        if self.peek() is not None and self.peek().kind == "letter" and self.peek().value == "O":
            start = self.i
            depth = 1
            while depth and not self.done():
                t = self.next()
                depth += t.kind == "("
                depth -= t.kind == ")"
            return (Text(" ".join(t.value for t in self.toks[start : self.i - 1])),)
        args = [self.parse_relation()]
        while self.at(","):
            self.next()
            args.append(self.parse_relation())
        self.expect(")")
        return tuple(args)

    def parse_script(self) -> Node:
        """A subscript: a braced group (expression or list) or a single token."""
        if self.at("{"):
            self.next()
            if self.at("cmd", "substack"):
                raise ParseError("\\substack outside a sum")
            if self.at("}"):
                self.next()
                return Text("")
            items = self.parse_items("}")
            return items[0] if len(items) == 1 else SetLit(tuple(items))
        t = self.next()
        if t.kind == "letter":
            return Sym(t.value)
        if t.kind == "num":
            return Num(float(t.value[0]))
        if t.kind == "text":
            return Text(t.value)
        if t.kind == "cmd" and t.value in GREEK:
            return Sym(t.value)
        raise ParseError(f"cannot read subscript {t.value!r}")

    def parse_items(self, closer: str) -> list[Node]:
        """Comma-separated relations or expressions up to ``closer`` (consumed)."""
        items = [self.parse_relation()]
        while self.at(",") or self.at(":"):
            self.next()
            items.append(self.parse_relation())
        self.expect(closer)
        return items

    def parse_superscript(self, base: Node) -> Node:
        if self.at("{"):
            self.next()
            if self.at("cmd", "top"):
                self.next()
                self.expect("}")
                return T(base)
            if self.at("'"):
                self.next()
                self.expect("}")
                return self.prime(base)
            expo = self.parse_expr()
            self.expect("}")
            return Pow(base, expo)
        t = self.next()
        if t.kind == "num":
            return Pow(base, Num(float(t.value[0])))
        if t.kind == "letter":
            return Pow(base, Sym(t.value))
        raise ParseError(f"cannot read superscript {t.value!r}")

    def parse_relation(self) -> Node:
        """``expr (relop expr)*``; a chain ``a ≤ j ≤ b`` becomes ``And``."""
        left = self.parse_expr()
        rels = []
        while True:
            op = self.relop()
            if op is None:
                break
            right = self.parse_expr()
            rels.append(Rel(op, left, right))
            left = right
        if not rels:
            return left
        return rels[0] if len(rels) == 1 else And(tuple(rels))

    def relop(self) -> Optional[str]:
        t = self.peek()
        if t is None:
            return None
        if t.kind in ("=", "<", ">"):
            self.next()
            if t.kind in "<>" and self.at("="):
                self.next()
                return t.kind + "="
            return t.kind
        if t.kind == "!" and self.at("=", k=1):
            self.next()
            self.next()
            return "!="
        if t.kind == "cmd" and t.value in RELATION_CMDS:
            self.next()
            return RELATION_CMDS[t.value]
        return None

    def parse_group(self, opener: str) -> Node:
        closer = _OPEN[opener]
        self.expect(opener)
        items = [self.parse_relation()]
        if opener == "lset" and (self.at(":") or self.at("|")):  # set-builder {k : w_k = w_s}
            self.next()
            conds = [self.parse_relation()]
            while self.at(",") or self.at("cmd", "land") or self.at("cmd", "wedge"):
                self.next()
                conds.append(self.parse_relation())
            self.expect(closer)
            return SetBuilder(items[0], tuple(conds))
        rows = [items]
        while self.at(",") or self.at(";"):
            if self.next().kind == ";":
                rows.append([])
            rows[-1].append(self.parse_relation())
        self.expect(closer)
        if len(rows) == 1 and len(items) == 1:
            inner = items[0]
            if isinstance(inner, (Rel, And)):
                return Iverson(inner) if opener in ("[", "lset") else inner
            return inner
        if opener == "lset":
            return SetLit(tuple(items))
        if opener == "[":
            return Matrix(tuple(tuple(r) for r in rows))
        raise ParseError("comma-separated list in parentheses")

    def parse_primary(self) -> Node:
        t = self.peek()
        if t is None:
            raise ParseError("expression ends too early")
        if t.kind == "num":
            self.next()
            value = float(t.value)
            return Zero() if value == 0 else Num(value)
        if t.kind == "letter":
            self.next()
            return Sym(t.value)
        if t.kind == "{":
            self.next()
            node = self.parse_relation()
            self.expect("}")
            return node
        if t.kind in ("(", "[", "lset"):
            return self.parse_group(t.kind)
        if t.kind == "|":
            self.next()
            node = self.parse_expr()
            self.expect("|")
            return Call("abs", (node,))
        if t.kind == "text":
            self.next()
            return Text(t.value)
        if t.kind == "begin":
            return self.parse_environment()
        if t.kind == "cmd":
            return self.parse_command()
        raise ParseError(f"unexpected {t.value!r}")

    # -- commands
    def parse_command(self) -> Node:
        name = self.next().value
        handler = getattr(self, f"cmd_{name}", None)
        if handler is not None:
            return handler()
        if name in GREEK:
            return Sym(name)
        raise ParseError(f"unknown command \\{name}")

    def cmd_ldots(self) -> Node:
        return Dots()

    def cmd_yhat(self) -> Node:
        return Sym("yhat")

    def cmd_HAT(self) -> Node:
        self.expect("{")
        parts = []
        while not self.at("}"):
            parts.append(self.next().value)
        self.expect("}")
        return Sym("hat:" + "".join(parts))

    def cmd_ZERO(self) -> Node:
        return Zero()

    def cmd_infty(self) -> Node:
        return Sym("infty")

    def cmd_ONE(self) -> Node:
        if self.at("_"):
            self.next()
            sub = self.parse_script()
            if isinstance(sub, (Rel, And)):
                return Iverson(sub)
            if isinstance(sub, Iverson):
                return sub
            raise ParseError("𝟙 with a subscript that is not a condition")
        if self.at("[") or self.at("lset") or self.at("("):
            save = self.i
            group = self.parse_group(self.peek().kind)
            if isinstance(group, Iverson):
                return group
            if isinstance(group, (Rel, And)):
                return Iverson(group)
            self.i = save
        return Ones()

    def cmd_delta(self) -> Node:
        if not self.at("_"):
            return Sym("delta")
        self.next()
        sub = self.parse_script()
        if isinstance(sub, Mul) and isinstance(sub.left, Sym) and isinstance(sub.right, Sym):
            return Iverson(Rel("=", sub.left, sub.right))
        if isinstance(sub, SetLit) and len(sub.items) == 2:
            return Iverson(Rel("=", sub.items[0], sub.items[1]))
        raise ParseError("cannot read Kronecker delta subscript")

    def function_argument(self) -> Node:
        if self.at("("):
            self.next()
            node = self.parse_expr()
            self.expect(")")
            return node
        if self.at("{"):
            self.next()
            node = self.parse_expr()
            self.expect("}")
            return node
        if self.at("["):
            self.next()
            node = self.parse_expr()
            self.expect("]")
            return node
        return self.parse_factor()

    def cmd_sigma(self) -> Node:
        fn = "sigma"
        if self.at("'"):
            self.next()
            fn = "dsigma"
        power = None
        if fn == "sigma" and self.at("^") and (self.at("num", k=1) or self.at("{", k=1) and self.at("num", k=2)
                                               and self.at("}", k=3)):
            self.next()  # σ^2(x) = σ(x)^2
            if self.at("{"):
                self.next()
                power = Num(float(self.next().value))
                self.next()
            else:
                power = Num(float(self.next().value[0]))
        if not (self.at("(") or self.at("{") or self.at("[")):
            raise ParseError("σ without an argument")
        call = Call(fn, (self.function_argument(),))
        return Pow(call, power) if power is not None else call

    def cmd_exp(self) -> Node:
        return Call("exp", (self.function_argument(),))

    def cmd_log(self) -> Node:
        return Call("log", (self.function_argument(),))

    def cmd_sqrt(self) -> Node:
        return Pow(self.function_argument(), Num(0.5))

    def cmd_max(self) -> Node:
        return self._minmax("max")

    def cmd_min(self) -> Node:
        return self._minmax("min")

    def _minmax(self, fn: str) -> Node:
        self.expect("(") if self.at("(") else self.expect("{")
        args = [self.parse_expr()]
        while self.at(","):
            self.next()
            args.append(self.parse_expr())
        self.next()
        return Call(fn, tuple(args))

    def cmd_frac(self) -> Node:
        num = self.braced_tokens()
        den = self.braced_tokens()
        deriv = _derivative_from_frac(num, den)
        if deriv is not None:
            wrt, fn_toks = deriv
            if len(fn_toks) == 1 and fn_toks[0].kind == "cmd" and fn_toks[0].value == "sigma" \
                    and isinstance(wrt, Sym) and wrt.sub is None:
                return Deriv(Call("sigma", (wrt,)), wrt)  # dσ/dx
            if fn_toks:
                fn = Parser(fn_toks).parse_full()
                if isinstance(fn, Sym) and fn.name == "J" and self.at("("):  # ∂J/∂U (v_c, w_{t+j}, U)
                    fn = FnApp(fn, self.parse_call_args())
                return Deriv(fn, wrt)
            if self.starts_factor():
                return Deriv(self.parse_term(), wrt)
            return Deriv(None, wrt)
        return Div(Parser(num).parse_full(), Parser(den).parse_full())

    def braced_tokens(self) -> list[Tok]:
        if not self.at("{"):
            t = self.next()
            return [t]
        self.next()
        start, depth = self.i, 1
        while True:
            t = self.next()
            if t.kind == "{":
                depth += 1
            elif t.kind == "}":
                depth -= 1
                if depth == 0:
                    return self.toks[start : self.i - 1]

    def cmd_partial(self) -> Node:
        if self.at("_"):
            self.next()
            wrt = self.parse_script()
            return Deriv(self.parse_factor(), wrt)
        fn = self.parse_factor()
        if self.at("/") and self.at("cmd", "partial", k=1):
            self.next()
            self.next()
            wrt = self.parse_factor()
            return Deriv(fn, wrt)
        raise ParseError("∂ outside a derivative")

    def cmd_nabla(self) -> Node:
        if not self.at("_"):
            raise ParseError("∇ without a subscript")
        self.next()
        wrt = self.parse_script()
        if self.starts_factor():
            return Deriv(self.parse_factor(), wrt)
        return Deriv(None, wrt)

    def cmd_sum(self) -> Node:
        sub: tuple = ()
        sup = None
        for _ in range(2):
            if self.at("_"):
                self.next()
                sub = self.sum_subscript()
            elif self.at("^"):
                self.next()
                sup = self.parse_script()
        body = self.parse_term()
        return Sum(sub, sup, body)

    def sum_subscript(self) -> tuple:
        if not self.at("{"):
            return (self.parse_script(),)
        self.next()
        if self.at("cmd", "substack"):
            self.next()
            self.expect("{")
            items = [self.parse_relation()]
            while self.at("nl") or self.at(",") or self.at(":"):
                self.next()
                items.append(self.parse_relation())
            self.expect("}")
            self.expect("}")
            return tuple(items)
        items = [self.parse_relation()]
        while self.at(",") or self.at(":") or self.at("|") or self.at("nl"):
            self.next()
            items.append(self.parse_relation())
        self.expect("}")
        return tuple(items)

    # -- environments
    def parse_environment(self) -> Node:
        name = self.next().value
        body: list[Tok] = []
        depth = 1
        while True:
            t = self.next()
            if t.kind == "begin":
                depth += 1
            elif t.kind == "end":
                depth -= 1
                if depth == 0:
                    break
            body.append(t)
        rows = _split_rows(body)
        if name in ("cases", "dcases", "rcases", "cases*"):
            return Cases(tuple(_case_piece(r, self.source) for r in rows if r))
        if name.rstrip("*") in ("bmatrix", "pmatrix", "matrix", "array", "Bmatrix", "smallmatrix"):
            return Matrix(tuple(tuple(Parser(cell).parse_full() for cell in _split_cells(r)) for r in rows if r))
        if name.rstrip("*") in ("aligned", "gathered", "split"):
            raise ParseError(f"nested {name} environment")
        raise ParseError(f"unknown environment {name}")


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


def _case_piece(row: list[Tok], source: str) -> tuple:
    cells = _split_cells(row)
    if len(cells) == 1:
        value_toks, cond_toks = split_trailing_condition(cells[0])
    else:
        value_toks, cond_toks = cells[0], [t for c in cells[1:] for t in c]
    value = Parser(_strip_punct(value_toks)).parse_full()
    return value, parse_condition(cond_toks)


def _derivative_from_frac(num: list[Tok], den: list[Tok]) -> Optional[tuple[Node, list[Tok]]]:
    """``(wrt, numerator_function_tokens)`` when ``\\frac{num}{den}`` is ∂f/∂x or df/dx."""
    if not den:
        return None
    first = den[0]
    is_partial = first.kind == "cmd" and first.value == "partial"
    is_d = first.kind == "letter" and first.value == "d" and len(den) >= 2
    if not (is_partial or is_d):
        return None
    if not num or not (num[0].kind == "cmd" and num[0].value == "partial"
                       or num[0].kind == "letter" and num[0].value == "d"):
        return None
    if is_d and len(num) > 1 and not (num[0].kind == "letter" and num[0].value == "d"):
        return None
    wrt = Parser(den[1:]).parse_full()
    if isinstance(wrt, Pow):  # ∂^2 … : not in this assignment
        raise ParseError("higher-order derivative")
    return wrt, num[1:]


def _strip_punct(toks: list[Tok]) -> list[Tok]:
    while toks and toks[-1].kind in (".", ",", ";"):
        toks = toks[:-1]
    while toks and toks[0].kind in (",", ";", ":"):
        toks = toks[1:]
    return toks


# --------------------------------------------------------------------------- conditions


def _is_cond_text(t: Tok) -> bool:
    return t.kind == "text" and bool(_COND_WORDS.match(t.value.strip()) or _is_otherwise(t))


def _is_otherwise(t: Tok) -> bool:
    return t.kind == "text" and bool(_OTHERWISE.match(t.value.strip(" .,:")))


def _drop_where_clause(toks: list[Tok]) -> list[Tok]:
    """Drop a trailing explanatory clause: ``…, \\text{where } U ∈ ℝ^{d×V}``."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and k > 0 and t.kind == "text" and _WHERE_WORDS.match(t.value.strip()):
            return _strip_punct(toks[:k])
    return toks


_SHAPE_LETTERS = {"d", "V", "K", "N", "n", "m"}


def _drop_annotations(toks: list[Tok]) -> list[Tok]:
    """Drop a trailing type annotation: ``… \\in \\mathbb{R}^{d×|V|}`` or ``… \\quad (d × 1)``."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and k > 0 and t.kind == "cmd" and t.value == "in" and k + 1 < len(toks):
            nxt = toks[k + 1]
            if (nxt.kind == "cmd" and nxt.value == "mathbb") or (nxt.kind == "letter" and nxt.value == "R"):
                return _strip_punct(toks[:k])
    if len(toks) > 2 and toks[-1].kind == ")":
        start = _matching_open(toks, len(toks) - 1)
        inner = toks[start + 1 : -1]
        if start > 0 and any(t.kind == "cmd" and t.value == "times" for t in inner) and all(
            t.kind in ("num", "|") or (t.kind == "cmd" and t.value == "times")
            or (t.kind == "letter" and t.value in _SHAPE_LETTERS) for t in inner
        ):
            head = toks[:start]
            while head and head[-1].kind == "cmd" and head[-1].value in ("quad", "qquad"):
                head = head[:-1]
            return _strip_punct(head)
    return toks


_RANGE = re.compile(
    r"^(?:\\forall)?[a-z](?:=1,?(?:(?:\\[lc]?dots|\.{2,3}|…),?)?(?:K|\|V\|)"
    r"|\\in(?:\[|\\\{)1,?(?:\\ldots,?)?(?:K|\|V\|)(?:\]|\\\})|\\in\[K\]|\\in(?:V|\\text\{Vocab\}))$"
    r"|^1(?:\\leq?|<=)[a-z](?:\\leq?|<=)K$"
)


def _is_range(text: str) -> bool:
    """``k = 1, …, K``, ``s ∈ [1, K]``, ``w ∈ V``: the range of an index, not a case condition."""
    return bool(_RANGE.match(re.sub(r"\s+|\\q?quad", "", text)))


def _short_condition(rest: list[Tok]) -> bool:
    """A plausible case condition: short, with a relation, no second equation."""
    body = [t for t in rest if t.kind not in ("text", "cmd") or t.value not in ("quad", "qquad")]
    return 0 < len(body) <= 12 and _has_relation(rest)


def split_trailing_condition(toks: list[Tok]) -> tuple[list[Tok], list[Tok]]:
    """Split ``expr, \\text{if } w = o`` / ``expr \\quad (w ≠ o)`` into value and condition tokens."""
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth != 0 or k == 0:
            continue
        if _is_cond_text(t) and _short_condition(toks[k:]) or _is_otherwise(t):
            return toks[:k], toks[k:]
        is_sep = t.kind in (",", ";") or (t.kind == "cmd" and t.value in ("quad", "qquad"))
        if is_sep and _short_condition(toks[k + 1 :]):
            return toks[:k], toks[k + 1 :]
    if toks and toks[-1].kind == ")":
        start = _matching_open(toks, len(toks) - 1)
        if start > 0 and _has_relation(toks[start + 1 : -1], top_only=True):
            return toks[:start], toks[start + 1 : -1]
    return toks, []


def _matching_open(toks: list[Tok], close: int) -> int:
    depth = 0
    for k in range(close, -1, -1):
        if toks[k].kind == ")":
            depth += 1
        elif toks[k].kind == "(":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _has_relation(toks: list[Tok], top_only: bool = False) -> bool:
    depth = 0
    for t in toks:
        if t.kind in ("{", "(", "[", "lset"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset"):
            depth -= 1
        if top_only and depth:
            continue
        if t.kind in ("=", "<", ">") or (t.kind == "cmd" and t.value in RELATION_CMDS):
            return True
        if t.kind == "text" and (_OTHERWISE.match(t.value.strip(" .,:")) or re.search(r"[=<>]", t.value)):
            return True
    return False


_OTHERWISE_NODE = Text("otherwise")


def parse_condition(toks: list[Tok]) -> Optional[Node]:
    """A condition: ``None`` when empty; ``Text('otherwise')`` for otherwise/else; else a relation."""
    pieces: list[str] = []
    for t in toks:
        if t.kind == "text":
            words = _COND_WORDS.sub("", t.value.strip()).strip(" ,:")
            words = re.sub(r"^(?:if|for|when|where)\s+", "", words)
            if _OTHERWISE.match(words.strip(" .,:")):
                return _OTHERWISE_NODE
            if words:
                pieces.append(normalize_latex(words))
        else:
            pieces.append(t.value if t.kind not in ("cmd",) else "\\" + t.value)
            if t.kind == "begin":
                pieces[-1] = "\\begin{" + t.value + "}"
            elif t.kind == "end":
                pieces[-1] = "\\end{" + t.value + "}"
            elif t.kind == "text":
                pieces[-1] = ""
    text = " ".join(p for p in pieces if p).strip(" ,.:;")
    if not text or _is_range(text):
        return None
    if _OTHERWISE.match(text):
        return _OTHERWISE_NODE
    p = Parser(tokenize(text))
    items = [p.parse_relation()]
    while p.at(",") or p.at("cmd", "text"):
        p.next()
        items.append(p.parse_relation())
    if not p.done():
        raise ParseError(f"cannot read condition {text!r}")
    if any(not isinstance(i, (Rel, And)) for i in items):
        raise ParseError(f"condition without a relation: {text!r}")
    return items[0] if len(items) == 1 else And(tuple(items))


# --------------------------------------------------------------------------- equations


@dataclass
class Equation:
    """One equation: the ``=`` chain ``segments`` (normalised LaTeX) and an optional condition.

    ``nodes`` holds each segment's tree, or the :class:`ParseError` message for it.
    """

    latex: str
    segments: list[str]
    nodes: list[Union[Node, str]]
    condition: Optional[Node] = None
    condition_error: str = ""
    boxed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def lhs(self) -> Union[Node, str, None]:
        return self.nodes[0] if len(self.nodes) > 1 else None

    @property
    def final(self) -> Union[Node, str]:
        return self.nodes[-1]

    @property
    def final_latex(self) -> str:
        return self.segments[-1]


def _top_level_split(toks: list[Tok], kinds: set[str]) -> list[list[Tok]]:
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind in ("{", "(", "[", "lset", "begin"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset", "end"):
            depth -= 1
        if depth == 0 and (t.kind in kinds or (t.kind == "cmd" and t.value in kinds)):
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


_ALIGN_ENVS = ("aligned", "align", "align*", "split", "gathered", "gather", "gather*", "equation", "equation*",
               "eqnarray", "eqnarray*", "multline", "multline*", "alignat", "alignat*", "alignedat", "flalign")
_LEADING_OPS = ("=", "+", "-", "cdot", "times", "<", ">")


def split_equations(latex: str) -> list[str]:
    """Split one display-math block into equations (normalised LaTeX), joining continuation lines.

    Alignment ``&`` and environment wrappers are dropped; a line that starts
    with an operator (``=``, ``+``, ``\\cdot`` …) or that has no top-level
    ``=`` continues the previous line.
    """
    text = normalize_latex(latex)
    for env in _ALIGN_ENVS:
        text = re.sub(r"\\(?:begin|end)\s*\{" + re.escape(env) + r"\}(\{[^{}]*\})?", " ", text)
    toks = tokenize(text)
    lines = [_strip_punct(line) for line in _split_rows(toks)]
    equations: list[list[Tok]] = []
    for line in lines:
        line = [t for t in line if not (t.kind == "&" and not _inside_env(line, t))]
        if not line:
            continue
        first = line[0]
        continues = first.kind in _LEADING_OPS or (first.kind == "cmd" and first.value in _LEADING_OPS)
        has_eq = len(_top_level_split(line, {"="})) > 1
        if equations and (continues or not has_eq):
            equations[-1].extend(line)
        else:
            equations.append(list(line))
    return [_detokenize(text, eq) for eq in equations if eq]


def _inside_env(line: list[Tok], tok: Tok) -> bool:
    depth = 0
    for t in line:
        if t is tok:
            return depth > 0
        if t.kind == "begin":
            depth += 1
        elif t.kind == "end":
            depth -= 1
    return False


def _detokenize(text: str, toks: list[Tok]) -> str:
    return " ".join(text[t.pos : t.end] for t in toks)


def parse_expression(latex: str) -> Node:
    """Parse one expression (normalising first)."""
    return Parser(tokenize(normalize_latex(latex))).parse_full()


def parse_equation(latex: str, boxed: bool = False) -> Equation:
    """Parse ``lhs = … = rhs [, condition]``; segments that fail keep their error message."""
    text = normalize_latex(latex)
    toks = _strip_punct(tokenize(text))
    toks = _top_level_split(toks, {"Rightarrow", "implies", "therefore", "Longrightarrow", "iff"})[-1]
    toks = _drop_where_clause(toks)
    cond_toks: list[Tok] = []
    leading = _leading_condition(toks)
    if leading is not None:
        cond_toks, toks = leading
    else:
        toks, cond_toks = split_trailing_condition(toks)
    toks = [t for t in toks if not (t.kind == "cmd" and t.value in ("quad", "qquad"))]
    condition, cond_error = None, ""
    if cond_toks:
        try:
            condition = parse_condition(cond_toks)
        except ParseError as exc:
            cond_error = str(exc)
    segments = [_drop_annotations(_strip_punct(s)) for s in _top_level_split(toks, {"="})]
    segments = [s for s in segments if s]
    nodes: list[Union[Node, str]] = []
    for seg in segments:
        try:
            nodes.append(Parser(seg).parse_full())
        except ParseError as exc:
            nodes.append(str(exc))
        except (IndexError, RecursionError):
            nodes.append("could not read this expression")
    return Equation(latex, [_detokenize(text, s) for s in segments], nodes, condition, cond_error, boxed)


def _leading_condition(toks: list[Tok]) -> Optional[tuple[list[Tok], list[Tok]]]:
    """``\\text{for } w = o: …`` → (condition tokens, rest)."""
    if not toks or not _is_cond_text(toks[0]):
        return None
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in ("{", "(", "[", "lset"):
            depth += 1
        elif t.kind in ("}", ")", "]", "rset"):
            depth -= 1
        if depth == 0 and t.kind in (":", ","):
            return toks[:k], toks[k + 1 :]
    return None


# --------------------------------------------------------------------------- printing

_SYM_TEXT = {"yhat": "ŷ", "alpha": "α", "sigma": "σ", "infty": "∞"}


def to_text(node) -> str:
    """Readable plain text of a tree (Unicode, fully parenthesised where needed)."""
    return _Printer().show(node)


class _Printer:
    def show(self, n) -> str:
        method = getattr(self, "p_" + type(n).__name__, None)
        return method(n) if method else "?"

    def atom(self, n) -> str:
        text = self.show(n)
        simple = isinstance(n, (Sym, Num, Zero, Ones, Call, FnApp, Iverson, Matrix, T, Deriv))
        return text if simple else f"({text})"

    def p_Num(self, n: Num) -> str:
        return f"{n.value:g}"

    def p_Zero(self, n: Zero) -> str:
        return "0"

    def p_Ones(self, n: Ones) -> str:
        return "𝟏"

    def p_Dots(self, n: Dots) -> str:
        return "…"

    def p_Text(self, n: Text) -> str:
        return n.text

    def p_Sym(self, n: Sym) -> str:
        name = _SYM_TEXT.get(n.name, n.name)
        if n.name.startswith("hat:"):
            name = n.name[4:] + "\u0302"
        if n.sub is None:
            return name
        sub = self.show(n.sub)
        return f"{name}_{sub}" if len(sub) == 1 else f"{name}_{{{sub}}}"

    def p_Neg(self, n: Neg) -> str:
        return "−" + (self.show(n.arg) if not isinstance(n.arg, Add) else f"({self.show(n.arg)})")

    def p_Add(self, n: Add) -> str:
        if isinstance(n.right, Neg):
            return f"{self.show(n.left)} − {self.atom(n.right.arg) if isinstance(n.right.arg, Add) else self.show(n.right.arg)}"
        return f"{self.show(n.left)} + {self.show(n.right)}"

    def p_Mul(self, n: Mul) -> str:
        left = self.show(n.left) if isinstance(n.left, Mul) else self.atom(n.left)
        return f"{left} {self.atom(n.right)}"

    def p_CDot(self, n: CDot) -> str:
        return f"{self.atom(n.left)} · {self.atom(n.right)}"

    def p_Had(self, n: Had) -> str:
        return f"{self.atom(n.left)} ∘ {self.atom(n.right)}"

    def p_Div(self, n: Div) -> str:
        return f"{self.atom(n.num)} / {self.atom(n.den)}"

    def p_Pow(self, n: Pow) -> str:
        return f"{self.atom(n.base)}^{self.atom(n.exponent)}"

    def p_T(self, n: T) -> str:
        return f"{self.atom(n.arg)}ᵀ"

    def p_Call(self, n: Call) -> str:
        names = {"sigma": "σ", "dsigma": "σ′", "abs": "abs"}
        if n.fn == "abs":
            return f"|{self.show(n.args[0])}|"
        return f"{names.get(n.fn, n.fn)}({', '.join(self.show(a) for a in n.args)})"

    def p_FnApp(self, n: FnApp) -> str:
        return f"{self.show(n.head)}({', '.join(self.show(a) for a in n.args)})"

    def p_Sum(self, n: Sum) -> str:
        sub = ", ".join(self.show(s) for s in n.sub)
        sup = f"^{self.atom(n.sup)}" if n.sup is not None else ""
        return f"Σ_{{{sub}}}{sup} {self.atom(n.body) if isinstance(n.body, Add) else self.show(n.body)}"

    def p_Rel(self, n: Rel) -> str:
        ops = {"!=": "≠", "<=": "≤", ">=": "≥", "in": "∈", "notin": "∉"}
        return f"{self.show(n.left)} {ops.get(n.op, n.op)} {self.show(n.right)}"

    def p_And(self, n: And) -> str:
        return ", ".join(self.show(i) for i in n.items)

    def p_Iverson(self, n: Iverson) -> str:
        return f"[{self.show(n.cond)}]"

    def p_Cases(self, n: Cases) -> str:
        parts = [f"{self.show(v)} if {self.show(c) if c is not None else 'otherwise'}" for v, c in n.pieces]
        return "{" + "; ".join(parts) + "}"

    def p_Matrix(self, n: Matrix) -> str:
        return "[" + "; ".join(", ".join(self.show(c) for c in row) for row in n.rows) + "]"

    def p_SetLit(self, n: SetLit) -> str:
        return "{" + ", ".join(self.show(i) for i in n.items) + "}"

    def p_SetBuilder(self, n: SetBuilder) -> str:
        return "{" + self.show(n.var) + " : " + ", ".join(self.show(c) for c in n.conds) + "}"

    def p_Deriv(self, n: Deriv) -> str:
        fn = self.show(n.fn) if n.fn is not None else ""
        return f"∂{fn}/∂{self.show(n.wrt)}"


# --------------------------------------------------------------------------- several results in one fragment

_OPENERS = ("{", "(", "[", "lset", "begin")
_CLOSERS = ("}", ")", "]", "rset", "end")
_GAP_CMDS = frozenset({"quad", "qquad", "text", "and", ",", ";", "!", " ", "hspace"})


def _starts_derivative(toks: list[Tok], i: int) -> bool:
    """``toks[i:]`` starts with a derivative: ``\\frac{\\partial …}{…}``, ``\\frac{d…}``, ``\\partial``, ``\\nabla``."""
    if i >= len(toks):
        return False
    t = toks[i]
    if t.kind == "cmd" and t.value in ("partial", "nabla"):
        return True
    if t.kind == "cmd" and t.value in ("frac", "dfrac", "tfrac") and i + 2 < len(toks) and toks[i + 1].kind == "{":
        nxt = toks[i + 2]
        return (nxt.kind == "cmd" and nxt.value == "partial") or (nxt.kind == "letter" and nxt.value == "d")
    return False


def _is_gap(t: Tok) -> bool:
    """Separators between results side by side: ``,``, ``;``, spacing commands, ``\\text{and}``."""
    return (t.kind in (",", ";") or t.kind == "cmd" and t.value in _GAP_CMDS
            or t.kind == "text" and t.value.strip().strip(",;").strip() in ("", "and"))


def _depth0_commas(toks: list[Tok]) -> list[list[Tok]]:
    items: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if t.kind == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(t)
    return items


def _unwrap_parens(toks: list[Tok]) -> Optional[list[Tok]]:
    """The inside of ``( … )`` when the parentheses enclose the whole token list, else None."""
    if len(toks) < 2 or toks[0].kind != "(" or toks[-1].kind != ")":
        return None
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if depth == 0 and k < len(toks) - 1:
            return None
    return toks[1:-1]


def split_results(latex: str) -> list[str]:
    """Split a fragment holding several results into one equation each (normalised LaTeX).

    Two forms are recognised, both only when every piece is an equation with a derivative on the left:
    equations side by side (``∂J/∂u_o = A, \\qquad ∂J/∂v_c = B``) and a tuple of derivatives equal to a
    tuple of the same length (``(∂J/∂v_c, ∂J/∂u_o) = (A, B)``, also with ``\\left( … \\right)``).
    Anything else is returned unchanged as one piece.
    """
    text = normalize_latex(latex)
    try:
        toks = [t for t in tokenize(text) if t.kind != "nl"]
    except Exception:
        return [latex]
    sides = _top_level_split(toks, {"="})
    if len(sides) == 2:
        left, right = _unwrap_parens(sides[0]), _unwrap_parens(_strip_punct(sides[1]))
        if left is not None and right is not None:
            lhs, rhs = _depth0_commas(left), _depth0_commas(right)
            if len(lhs) == len(rhs) >= 2 and all(item and _starts_derivative(item, 0) for item in lhs):
                return [f"{_detokenize(text, a)} = {_detokenize(text, b)}" for a, b in zip(lhs, rhs)]
    cuts: list[tuple[int, int]] = []  # (end of a piece, start of the next)
    depth = 0
    for k, t in enumerate(toks):
        if t.kind in _OPENERS:
            depth += 1
        elif t.kind in _CLOSERS:
            depth -= 1
        if depth != 0 or not _is_gap(t) or t.kind == "cmd" and t.value not in ("quad", "qquad"):
            continue
        j = k
        while j < len(toks) and _is_gap(toks[j]):
            j += 1
        if _starts_derivative(toks, j) and (not cuts or cuts[-1][1] <= k):
            cuts.append((k, j))
    if not cuts:
        return [latex]
    pieces, start = [], 0
    for end, nxt in cuts:
        pieces.append(toks[start:end])
        start = nxt
    pieces.append(toks[start:])
    if not all(len(_top_level_split(p, {"="})) > 1 and _starts_derivative(p, 0) for p in pieces):
        return [latex]
    return [_detokenize(text, p) for p in pieces]
