"""Known NumPy-version incompatibilities, recognised in the exception a student's call raised.

Code that was right in the course environment of its year can raise under a newer NumPy: an alias
removed in NumPy 1.24 (``np.float``) or 2.0 (``np.float_``, ``np.NaN``, ``np.product``...), or
``float()`` of an array with one element but one or more dimensions (deprecated in 1.25, an error
from 2.x).  :func:`explain` turns such an exception into one sentence that says exactly that, with
the version the grader runs and what to write instead.  Words only: nothing here changes a verdict.
"""

from __future__ import annotations

import re
from typing import Optional

import numpy as np

REMOVED_ALIASES = {
    # removed in NumPy 1.24 (deprecated since 1.20)
    "float": "float (or np.float64)", "int": "int (or np.int64)", "bool": "bool (or np.bool_)",
    "object": "object", "str": "str", "complex": "complex (or np.complex128)", "long": "int",
    "unicode": "str",
    # removed in NumPy 2.0
    "float_": "np.float64", "complex_": "np.complex128", "string_": "np.bytes_", "unicode_": "np.str_",
    "NaN": "np.nan", "NAN": "np.nan", "Inf": "np.inf", "Infinity": "np.inf", "infty": "np.inf",
    "PINF": "np.inf", "NINF": "-np.inf", "PZERO": "0.0", "NZERO": "-0.0", "asfarray": "np.asarray(x, dtype=float)",
    "product": "np.prod", "cumproduct": "np.cumprod", "sometrue": "np.any", "alltrue": "np.all",
    "round_": "np.round", "find_common_type": "np.result_type", "cast": "x.astype(...)",
    "mat": "np.asmatrix (or, better, plain arrays)", "row_stack": "np.vstack", "trapz": "np.trapezoid",
    "in1d": "np.isin", "msort": "np.sort(x, axis=0)", "issubclass_": "issubclass",
}
"""Attribute of ``np`` that no longer exists → what to write instead."""

_ATTRIBUTE = re.compile(r"module 'numpy' has no attribute '(\w+)'|`np\.(\w+)` was removed")
_SCALAR = re.compile(r"only (length-1|0-dimensional|size-1) arrays can be converted to Python scalars")


def explain(exc_type: Optional[str], message: Optional[str]) -> Optional[str]:
    """A sentence naming the NumPy incompatibility behind this exception, or None if it is not one."""
    text = str(message or "")
    match = _ATTRIBUTE.search(text)
    if exc_type == "AttributeError" and match:
        name = match.group(1) or match.group(2)
        if name in REMOVED_ALIASES:
            return (f"This is a NumPy version incompatibility: np.{name} no longer exists in NumPy "
                    f"{np.__version__} (which grades your code); it was removed in NumPy "
                    f"{'1.24' if name in _REMOVED_1_24 else '2'}. Write {REMOVED_ALIASES[name]} instead.")
    if exc_type == "TypeError" and _SCALAR.search(text):
        return ("This is a NumPy version incompatibility: float() or int() of an array that has dimensions "
                f"(for example shape (1,) or (1, 1)) is an error in NumPy {np.__version__}, which grades your "
                "code (older NumPy only warned). Take the element out first, e.g. float(x.item()) or x[0].")
    return None


_REMOVED_1_24 = frozenset({"float", "int", "bool", "object", "str", "complex", "long", "unicode"})


def with_explanation(exc_type: Optional[str], message: str) -> str:
    """``message`` followed by :func:`explain`'s sentence when there is one."""
    sentence = explain(exc_type, message)
    if not sentence:
        return message
    return f"{message}{'' if message.rstrip().endswith(('.', '!', '?')) else '.'} {sentence}"


def environment_mismatch(specifier: str) -> Optional[str]:
    """Why this environment's NumPy does not satisfy the rubric's ``[environment] numpy`` (None: it does).

    The sandboxed worker imports the grader's own NumPy installation, so this one check covers the
    student's code too.
    """
    if not specifier:
        return None
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    if Version(np.__version__) in SpecifierSet(specifier):
        return None
    return (f"the rubric grades with numpy {specifier}, but this environment has numpy {np.__version__}; "
            f"install it (pip install 'numpy{specifier}') or change the rubric's [environment] numpy")
