"""Static vetting of one source file: decoding, syntax, required functions and signatures, never executing it.

:func:`vet_source` reads a file the way Python would (UTF-8, ``ast.parse``), checks that each
function of :data:`REQUIRED_FUNCTIONS` is defined at the top level with the starter's signature,
and flags constructs a word2vec solution does not need (:func:`suspicious_constructs`: process or
network control, monkeypatching, paths outside the submission) for the staff.  Every problem is a
:class:`~grader.results.SandboxEvent` whose message names the file and the fix.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.results import SandboxEvent

REQUIRED_FUNCTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "word2vec.py": {
        "sigmoid": ("x",),
        "naiveSoftmaxLossAndGradient": ("centerWordVec", "outsideWordIdx", "outsideVectors", "dataset"),
        "negSamplingLossAndGradient": ("centerWordVec", "outsideWordIdx", "outsideVectors", "dataset", "K"),
        "skipgram": ("currentCenterWord", "windowSize", "outsideWords", "word2Ind", "centerWordVectors",
                     "outsideVectors", "dataset", "word2vecLossAndGradient"),
    },
    "sgd.py": {
        "sgd": ("f", "x0", "step", "iterations", "postprocessing", "useSaved", "PRINT_EVERY"),
    },
}
MAX_SOURCE_BYTES = 2 * 1024 * 1024
_AST_LOCK = threading.Lock()  # CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth
# mismatch" under concurrent parsing); batch mode grades in threads


@dataclass
class StaticReport:
    """What static vetting learned about one source file."""

    source: Optional[str] = None  # decoded text, None if unusable
    usable: bool = False
    available_functions: set[str] = field(default_factory=set)
    utils_prefixes: list[str] = field(default_factory=list)



def vet_source(path: Path, rel: str, problems: list[SandboxEvent]) -> StaticReport:
    """Decode, parse and inspect one file; append problems; never executes it."""
    report = StaticReport()
    raw = path.read_bytes()
    if len(raw) > MAX_SOURCE_BYTES:
        problems.append(SandboxEvent("import_error", f"{rel} is {len(raw) // 1024} KB, too large to grade.",
                                     "Submit only your source code (no data or outputs pasted into it)."))
        return report
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(SandboxEvent(
            "syntax_error", f"{rel} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}).",
            "Python 3 reads source files as UTF-8. Re-save the file with UTF-8 encoding in your editor "
            "(or remove the non-ASCII characters, often in comments) and resubmit."))
        return report
    try:
        with _AST_LOCK:
            tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        problems.append(SandboxEvent(
            "syntax_error", f"{rel} has a syntax error on line {exc.lineno}: {exc.msg}.",
            (f"Line {exc.lineno}: {(exc.text or '').strip()[:200]}\n" if exc.text else "")
            + f"Run `python {Path(rel).name}` locally to see the error, fix it and resubmit."))
        return report
    report.source = text
    report.usable = True
    report.utils_prefixes = _utils_prefixes(tree)
    _check_functions(tree, path.name, rel, report, problems)
    findings = suspicious_constructs(tree)
    if findings:
        problems.append(SandboxEvent(
            "suspicious", f"{rel} uses constructs a word2vec solution does not need ({len(findings)} found).",
            "\n".join(findings[:12]) + "\nThey were flagged for the course staff; they cannot change any result."))
    return report


def _check_functions(tree: ast.Module, name: str, rel: str, report: StaticReport,
                     problems: list[SandboxEvent]) -> None:
    defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    for function, params in REQUIRED_FUNCTIONS.get(name, {}).items():
        node = defined.get(function)
        if node is None:
            if function in assigned:
                report.available_functions.add(function)  # e.g. sigmoid = scipy.special.expit
                continue
            problems.append(SandboxEvent("missing_function", f"{rel} defines no function {function}.",
                                         f"Define {function}({', '.join(params)}) at the top level of {rel}.",
                                         function=function))
            continue
        problem = _signature_problem(node, params)
        if problem:
            problems.append(SandboxEvent("bad_signature", f"{rel}: {function} has the wrong signature: {problem}.",
                                         f"Keep the starter's signature: def {function}({', '.join(params)}).",
                                         function=function))
            continue
        report.available_functions.add(function)


def _signature_problem(node: ast.FunctionDef, expected: tuple[str, ...]) -> str:
    """Why the grader's positional call with the starter's arguments would not bind as intended ('' if fine)."""
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    keyword_ok = set(positional) | {a.arg for a in args.kwonlyargs}
    n = len(expected)
    if args.vararg is None and len(positional) < n:
        missing = [p for p in expected if p not in keyword_ok] or list(expected[len(positional):])
        return (f"it takes {len(positional)} positional parameter(s) ({', '.join(positional) or 'none'}); "
                f"missing {', '.join(missing)}")
    required = len(positional) - len(args.defaults)
    if required > n:
        return f"extra required parameter(s) {', '.join(positional[n:required])}"
    moved = [p for i, p in enumerate(expected) if p in positional and positional.index(p) != i]
    if moved:
        return f"parameter(s) {', '.join(moved)} are not in the starter's position (an extra parameter inserted?)"
    if "PRINT_EVERY" in expected and "PRINT_EVERY" not in keyword_ok and args.kwarg is None:
        return "the PRINT_EVERY parameter was renamed or removed"
    return ""


SUSPICIOUS_MODULES = {"socket", "subprocess", "ctypes", "multiprocessing", "signal", "shutil", "urllib", "requests",
                      "http", "pty", "resource", "threading", "importlib", "inspect", "gc"}
SUSPICIOUS_CALLS = {"os._exit", "os.fork", "os.system", "os.kill", "os.killpg", "os.setsid", "os.execv", "os.popen",
                    "os.walk", "os.listdir", "os.scandir", "exec", "eval", "compile", "__import__", "sys.exit",
                    "exit", "quit", "input", "breakpoint", "globals", "setattr"}
PATCHABLE = {"np", "numpy", "time", "sys", "os", "builtins", "random", "math", "json"}


def suspicious_constructs(tree: ast.Module) -> list[str]:
    """Lines that look like tampering: process/network control, monkeypatching, probing outside files.

    Only flagged for staff (an event of kind ``suspicious``); the sandbox is what makes them harmless.
    """
    found = []
    body = [n for n in tree.body if not _is_main_guard(n)]  # `if __name__ == "__main__":` is the student's own
    for node in (sub for top in body for sub in ast.walk(top)):
        line = getattr(node, "lineno", "?")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in SUSPICIOUS_MODULES:
                    found.append(f"line {line}: imports {name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in SUSPICIOUS_CALLS:
                found.append(f"line {line}: calls {name}()")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = _dotted(target)
                if "." in name and name.split(".")[0] in PATCHABLE:
                    found.append(f"line {line}: replaces {name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(("/autograder", "/proc", "/etc", "../", "/home", "/root")):
                found.append(f"line {line}: refers to the path {node.value[:60]!r}")
    return found


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in ast.dump(node.test)


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _utils_prefixes(tree: ast.Module) -> list[str]:
    """Folder prefixes in imports like ``from a2.utils.utils import softmax`` → ["a2"]."""
    prefixes = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        for module in names:
            parts = module.split(".")
            if parts[0] != "utils" and "utils" in parts[1:]:
                prefixes.add(".".join(parts[: parts.index("utils", 1)]))
    return sorted(prefixes)
