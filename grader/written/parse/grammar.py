"""The recursive-descent parser (:class:`Parser`): tokens → :mod:`nodes` tree.

One cohesive grammar that reads top to bottom (sums, products, factors, primaries, groups, matrices,
cases); splitting it would scatter the precedence levels, so it stays one module over 400 lines.
Case conditions (:func:`parse_condition`) are here too: ``cases`` rows hold conditions and conditions
hold expressions, so the two are one grammar.  Anything outside the grammar raises :class:`~grader.written.parse.nodes.ParseError`.
"""

from __future__ import annotations

import re
from typing import Optional

from grader.written.normalize import normalize_latex
from grader.written.parse.conditions import _COND_WORDS, _OTHERWISE, _is_range, split_trailing_condition
from grader.written.parse.nodes import (
    Add,
    And,
    Call,
    Cases,
    CDot,
    Deriv,
    Div,
    Dots,
    FnApp,
    Had,
    Iverson,
    Matrix,
    Mul,
    Neg,
    Node,
    Num,
    Ones,
    ParseError,
    Pow,
    Rel,
    SetBuilder,
    SetLit,
    Sum,
    Sym,
    T,
    Text,
    Zero,
)
from grader.written.parse.tokens import (
    _FUNCTION_LETTERS,
    GREEK,
    RELATION_CMDS,
    Tok,
    _split_cells,
    _split_rows,
    _strip_punct,
    tokenize,
)

# --------------------------------------------------------------------------- parser

_OPEN = {"(": ")", "[": "]", "{": "}", "lset": "rset"}
_FACTOR_CMDS = {
    "frac", "sum", "sigma", "exp", "log", "max", "min", "partial", "nabla", "delta", "yhat", "HAT", "ONE",
    "ZERO", "ldots", "infty", "sqrt",
} | GREEK


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
