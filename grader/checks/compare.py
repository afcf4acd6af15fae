"""Stage 3a — check values: compare one call's outputs with the reference's, strictly.

Rules: shapes must match exactly (no broadcasting ever lets a wrong shape
pass); a loss may be a Python float, a numpy scalar or a 0-d/size-1 array
(noted); float32 outputs are compared at float32 tolerance (noted);
NaN/inf where the reference is finite fails; an input mutated in place
fails.  Mismatches come with the first bad index, the max error, a small
error matrix for heat maps, and a diagnosis of the usual pattern (sign
flipped, transposed, duplicates overwritten...).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from grader.results import ArraySummary, CaseResult
from grader.rubric import Tolerances
from grader.sandbox.jobs import CallOutcome

from .numpy_compat import with_explanation

PREVIEW_ELEMENTS = 60
HEATMAP_MAX = 40


def summarize(value: Any, info: Optional[dict[str, Any]] = None) -> ArraySummary:
    """A small, JSON-able picture of a value for reports."""
    if value is None:
        kind = (info or {}).get("type", "NoneType")
        return ArraySummary(shape=None, dtype=str(kind), preview=(info or {}).get("repr", "None"))
    arr = np.asarray(value)
    flat = arr.reshape(-1)
    truncated = flat.size > PREVIEW_ELEMENTS
    if arr.ndim == 0:
        preview: Any = _clean(arr.item())
    elif not truncated:
        preview = _clean(arr.tolist())
    else:
        preview = _clean(flat[:PREVIEW_ELEMENTS].tolist())
    dtype = (info or {}).get("type") if (info or {}).get("kind") == "python_scalar" else str(arr.dtype)
    return ArraySummary(shape=list(arr.shape), dtype=str(dtype), preview=preview, truncated=truncated)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.8g}")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def compare_call(case_id: str, description: str, expected: CallOutcome, got: CallOutcome,
                 output_names: tuple[str, ...], tol: Tolerances, reproducer: str = "",
                 argument_names: Optional[list[str]] = None) -> CaseResult:
    """Compare every output of one call; the first failing output decides the message."""
    result = CaseResult(case_id=case_id, description=description, passed=False, reproducer=reproducer)
    if got.event is not None and not got.finished:
        result.message = got.event.message
        return result
    if got.raised:
        exc = got.raised
        result.message = with_explanation(exc.get("type"),
                                          f"Your function raised {exc.get('type')}: {exc.get('message')}")
        result.notes.append(exc.get("traceback", ""))
        return result
    if expected.meta is None or expected.raised:
        result.message = "Internal error: the reference failed on this case."
        return result
    meta = got.meta or {}
    mutated = meta.get("mutated") or []
    items = _items(meta, got.arrays)
    expected_items = _items(expected.meta, expected.arrays)
    if len(expected_items) > 1 and (meta.get("result_kind") != "tuple" or len(items) != len(expected_items)):
        shape = f"a tuple of {len(items)} values" if meta.get("result_kind") == "tuple" else \
            f"a single {items[0][0].get('type') if items else 'value'}"
        result.message = (f"Expected a tuple ({', '.join(output_names)}) but your function returned {shape}.")
        return result
    result.returned = True
    result.mutated_inputs = [argument_names[i] if argument_names and i < len(argument_names) else
                             f"argument {i + 1}" for i in mutated]
    for name, (exp_info, exp_value), (got_info, got_value) in zip(output_names, expected_items, items):
        first = not result.wrong_outputs
        scratch = result if first else CaseResult(case_id, description, passed=False)
        problem = _compare_output(name, exp_info, exp_value, got_info, got_value, tol, scratch)
        if not problem:
            continue
        result.wrong_outputs.append(name)
        result.overflow = result.overflow or scratch.overflow
        if first:  # the first failing output decides the message and the details shown
            result.output_name = name
            result.message = problem
            result.expected = summarize(exp_value, exp_info)
            result.got = summarize(got_value, got_info)
    if result.wrong_outputs:
        return result
    if mutated:
        result.message = (f"Your function modified its input {', '.join(result.mutated_inputs)} in place. Callers "
                          "(and the training loop) reuse these arrays: work on copies instead (e.g. x = x.copy()).")
        return result
    result.passed = True
    return result


def _items(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[tuple[dict[str, Any], Any]]:
    out = []
    for info in meta.get("items", []):
        out.append((info, arrays.get(info.get("key"))))
    return out


def _compare_output(name: str, exp_info: dict, exp: Any, got_info: dict, got: Any, tol: Tolerances,
                    result: CaseResult) -> str:
    """Return an explanation when ``got`` is not acceptable for ``exp``; add notes for accepted quirks."""
    if got is None:
        return f"`{name}` is {got_info.get('repr', got_info.get('type'))}, not a number or an array."
    exp_arr = np.asarray(exp, dtype=np.float64)
    got_arr = np.asarray(got)
    is_loss = name == "loss" or exp_arr.ndim == 0
    if is_loss and exp_arr.ndim == 0:
        if got_arr.size != 1:
            return f"`{name}` should be a scalar but has shape {tuple(got_arr.shape)}."
        if got_arr.ndim > 0:
            result.notes.append(f"`{name}` was returned as an array of shape {tuple(got_arr.shape)}; "
                                "a Python float is expected (accepted).")
        got_arr = got_arr.reshape(())
    elif tuple(got_arr.shape) != tuple(exp_arr.shape):
        hint = ""
        if tuple(got_arr.shape) == tuple(exp_arr.shape[::-1]) and exp_arr.ndim == 2:
            hint = " It looks transposed: outsideVectors and its gradient have one word per ROW (V, d)."
        return (f"`{name}` has shape {tuple(got_arr.shape)} but must have shape {tuple(exp_arr.shape)}.{hint}")
    rtol, atol = tol.rtol, tol.atol
    if got_arr.dtype == np.float32:
        rtol, atol = tol.float32_rtol, tol.float32_atol
        note = f"`{name}` is float32; compared at float32 precision (float64 is expected)."
        if note not in result.notes:
            result.notes.append(note)
    if got_arr.dtype.kind not in "biuf":
        return f"`{name}` has dtype {got_arr.dtype}, not a real number type."
    got64 = got_arr.astype(np.float64)
    bad_nonfinite = ~np.isfinite(got64) & np.isfinite(exp_arr)
    if bad_nonfinite.any():
        index = _first_index(bad_nonfinite)
        result.first_mismatch = index
        result.overflow = True
        kind = "nan" if np.isnan(got64[tuple(index)] if index else got64) else "inf"
        return (f"`{name}` contains {kind} at index {index} where the correct value is "
                f"{float(exp_arr[tuple(index)] if index else exp_arr):.6g} (numerical overflow?).")
    error = np.abs(got64 - exp_arr)
    violation = error > atol + rtol * np.abs(exp_arr)
    if not violation.any():
        return ""
    index = _first_index(violation)
    result.first_mismatch = index
    result.max_abs_error = float(np.nanmax(error))
    if exp_arr.ndim == 2:
        result.error_matrix = _downsample(error)
    at = f" at index {tuple(index)}" if index else ""
    got_v = float(got64[tuple(index)]) if index else float(got64)
    exp_v = float(exp_arr[tuple(index)]) if index else float(exp_arr)
    return (f"`{name}` is wrong{at}: expected {exp_v:.8g}, got {got_v:.8g} "
            f"(max abs error {result.max_abs_error:.3g}).{diagnose(exp_arr, got64)}")


def _first_index(mask: np.ndarray) -> list[int]:
    if mask.ndim == 0:
        return []
    return [int(i) for i in np.argwhere(mask)[0]]


def _downsample(error: np.ndarray) -> list[list[float]]:
    rows, cols = error.shape
    r_step = max(1, -(-rows // HEATMAP_MAX))
    c_step = max(1, -(-cols // HEATMAP_MAX))
    small = np.zeros((-(-rows // r_step), -(-cols // c_step)))
    for i in range(small.shape[0]):
        for j in range(small.shape[1]):
            block = error[i * r_step:(i + 1) * r_step, j * c_step:(j + 1) * c_step]
            small[i, j] = float(np.nanmax(block)) if block.size else 0.0
    return [[float(f"{v:.4g}") for v in row] for row in small]


def diagnose(expected: np.ndarray, got: np.ndarray) -> str:
    """Name the usual bug behind a mismatch, when the pattern is recognisable."""
    if expected.size == 0:
        return ""
    scale = max(1e-12, float(np.max(np.abs(expected))))
    if np.allclose(got, -expected, rtol=1e-5, atol=1e-8 * scale):
        return " The sign is flipped: check the direction of each term (loss is minimised, not maximised)."
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and np.allclose(got, expected.T, rtol=1e-5):
        return " It equals the transpose of the expected matrix."
    nonzero = np.abs(expected) > 1e-12
    if nonzero.any():
        ratios = got[nonzero] / expected[nonzero]
        if np.allclose(ratios, ratios[0], rtol=1e-6) and abs(ratios[0]) > 1e-12:
            return f" Every entry is {ratios[0]:.4g}× the expected value: a constant factor is off."
    if expected.ndim == 2:
        bad_rows = np.where(~np.isclose(got, expected, rtol=1e-5, atol=1e-7).all(axis=1))[0]
        if 0 < len(bad_rows) <= 3:
            return (f" Only row(s) {', '.join(map(str, bad_rows.tolist()))} differ: if those words occur "
                    "more than once (a repeated negative sample or outside word), their contributions must be "
                    "added up (+= or np.add.at), not overwritten.")
    return ""
