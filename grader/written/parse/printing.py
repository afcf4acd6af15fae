"""Plain-text rendering of a tree for reports (:func:`to_text`: ``∂J/∂v_c``, ``ŷ``, ``σ(x)``).
"""

from __future__ import annotations

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
    Num,
    Ones,
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
