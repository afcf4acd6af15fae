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
    elif path.exists():
        raise DiscoveryError(f"{path} is neither a folder nor a .zip archive")
    else:
        raise DiscoveryError(f"{path} does not exist")
    files = SubmissionFiles(root=str(path))
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
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg is not None:
        return ""
    missing = [p for p in expected if p not in positional and p not in [a.arg for a in args.kwonlyargs]]
    if missing:
        return f"missing parameter(s) {', '.join(missing)} (it has: {', '.join(positional) or 'none'})"
    required = len(positional) - len(args.defaults)
    if required > len(expected):
        extra = positional[len(expected):required]
        return f"extra required parameter(s) {', '.join(extra)}"
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
            if "utils" in parts[1:]:
                prefixes.add(".".join(parts[: parts.index("utils", 1)]))
    return sorted(prefixes)
