"""Stage 1 — discover: find ``word2vec.py`` / ``sgd.py`` in a folder or .zip and vet them statically.

Nothing here executes student code.  Problems (missing file, notebook
instead of .py, non-UTF-8 bytes, syntax error, missing function, wrong
signature) become :class:`~grader.results.SandboxEvent` objects with a
message that names the file and the fix; the rest of the submission is
still graded.
"""

from __future__ import annotations

import ast
import shutil
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

from grader.results import SandboxEvent, SubmissionFiles

REQUIRED_FILES = ("word2vec.py", "sgd.py")
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
JUNK_PARTS = ("__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git")
MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_ZIP_TOTAL = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 5000
_AST_LOCK = threading.Lock()  # CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth
# mismatch" under concurrent parsing); batch mode grades in threads


class DiscoveryError(Exception):
    """The path cannot be read as a submission at all (not a folder/zip, corrupt zip)."""


@dataclass
class StaticReport:
    """What static vetting learned about one source file."""

    source: Optional[str] = None  # decoded text, None if unusable
    usable: bool = False
    available_functions: set[str] = field(default_factory=set)
    utils_prefixes: list[str] = field(default_factory=list)


@dataclass
class Discovery:
    """Result of discovery: where the files are, what is usable, and the problems found."""

    files: SubmissionFiles
    root: Path  # folder holding the extracted submission
    paths: dict[str, Path]  # "word2vec.py" -> absolute path of the file used
    reports: dict[str, StaticReport]
    _tmp: Optional[tempfile.TemporaryDirectory] = None

    def usable_functions(self) -> set[str]:
        names: set[str] = set()
        for report in self.reports.values():
            names |= report.available_functions
        return names

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def discover(path: Path) -> Discovery:
    """Locate and vet the submission at ``path`` (a folder or a .zip)."""
    path = Path(path)
    tmp = None
    if path.is_file() and zipfile.is_zipfile(path):
        tmp = tempfile.TemporaryDirectory(prefix="w2v-zip-")
        root = Path(tmp.name)
        _safe_extract(path, root)
    elif path.is_dir():
        root = path
        inner = _lone_zip(path)
        if inner is not None:
            tmp = tempfile.TemporaryDirectory(prefix="w2v-zip-")
            root = Path(tmp.name)
            _safe_extract(inner, root)
    elif path.exists():
        raise DiscoveryError(f"{path} is neither a folder nor a .zip archive")
    else:
        raise DiscoveryError(f"{path} does not exist")
    files = SubmissionFiles(root=str(path))
    if path.is_dir() and tmp is not None:
        files.notes.append(f"No .py files were found next to {inner.name}; the files inside that zip were graded.")
    paths: dict[str, Path] = {}
    reports: dict[str, StaticReport] = {}
    for name in REQUIRED_FILES:
        found = _find(root, name, files)
        if found is None:
            files.problems.append(_missing_event(root, name))
            reports[name] = StaticReport()
            continue
        paths[name] = found
        rel = found.relative_to(root).as_posix()
        setattr(files, name.removesuffix(".py"), rel)
        reports[name] = vet_source(found, rel, files.problems)
    w2v = paths.get("word2vec.py")
    if w2v is not None and (w2v.parent / "utils").is_dir():
        files.notes.append("Your own utils/ folder was ignored; the grader provides the assignment's utils package.")
    return Discovery(files=files, root=root, paths=paths, reports=reports, _tmp=tmp)


def _lone_zip(folder: Path) -> Optional[Path]:
    """The single .zip of a folder that holds no Python files (a zipped submission uploaded as is)."""
    visible = [p for p in folder.rglob("*") if p.is_file() and not _is_junk(p, folder)]
    zips = [p for p in visible if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p)]
    if len(zips) == 1 and not any(p.suffix == ".py" for p in visible):
        return zips[0]
    return None


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract a zip without zip-slip, links, or unbounded size."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise DiscoveryError(f"{archive.name}: more than {MAX_ZIP_MEMBERS} files in the zip")
            if sum(m.file_size for m in members) > MAX_ZIP_TOTAL:
                raise DiscoveryError(f"{archive.name}: uncompressed size is over {MAX_ZIP_TOTAL // 2**20} MB")
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or not name.parts:
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                target = dest.joinpath(*name.parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise DiscoveryError(f"{archive.name} is not a readable zip archive: {exc}") from exc


def _is_junk(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(part in JUNK_PARTS or part.startswith("._") for part in rel.parts)


def _find(root: Path, name: str, files: SubmissionFiles) -> Optional[Path]:
    """The shallowest regular file called ``name`` (exact case) outside junk folders."""
    candidates = sorted(
        (p for p in root.rglob(name) if p.is_file() and not p.is_symlink() and not _is_junk(p, root)),
        key=lambda p: (len(p.relative_to(root).parts), p.as_posix()),
    )
    if not candidates:
        return None
    if len(candidates) > 1:
        others = ", ".join(c.relative_to(root).as_posix() for c in candidates[1:4])
        files.notes.append(f"Several {name} files were found; graded {candidates[0].relative_to(root).as_posix()} "
                           f"(also present: {others}).")
    return candidates[0]


def _missing_event(root: Path, name: str) -> SandboxEvent:
    stem = name.removesuffix(".py")
    visible = [p for p in root.rglob("*") if p.is_file() and not _is_junk(p, root)]
    notebooks = [p for p in visible if p.name.lower() == f"{stem.lower()}.ipynb"]
    wrong_case = [p for p in visible if p.name.lower() == name.lower() and p.name != name]
    if notebooks:
        nb = notebooks[0].relative_to(root).as_posix()
        return SandboxEvent("missing_file", f"{name} is missing: you submitted the notebook {nb} instead.",
                            f"Export it as a Python file (File → Download as → Python .py, or "
                            f"`jupyter nbconvert --to script {notebooks[0].name}`), name it {name} and resubmit.")
    if wrong_case:
        got = wrong_case[0].relative_to(root).as_posix()
        return SandboxEvent("missing_file", f"{name} is missing: found {got}, whose name differs in letter case.",
                            f"Rename it to exactly {name} (file names are case-sensitive on the grading machine).")
    listing = ", ".join(sorted(p.relative_to(root).as_posix() for p in visible)[:12]) or "no files"
    return SandboxEvent("missing_file", f"{name} was not found in your submission.",
                        f"Submission contents: {listing}. Include {name} (run collect_submission.sh).")


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
