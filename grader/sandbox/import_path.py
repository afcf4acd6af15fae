"""The worker's import path: the student's folder, the course ``utils``, the standard library and the
installed third-party packages -- never the grader's own packages or the reference solution.

The worker's interpreter starts with ``-I -S`` (no ``site``: no site-packages, no ``.pth`` files,
no editable-install finders), then gets exactly ``[workdir, <stdlib>, student_site_dir()]``.
:func:`student_site_dir` is a folder of symbolic links to every entry of this interpreter's
site-packages except the grader's and the reference's packages, their distribution metadata,
``.pth`` files and editable-install hooks; it is built once per machine and content (a digest of
the site-packages listings names it) and bind-mounted read-only into every run.  So ``import
reference`` fails in every mode, with or without a mount namespace.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import sys
import tempfile
from pathlib import Path

EXCLUDED_NAMES = frozenset({"grader", "reference", "__pycache__", "_distutils_hack"})
"""Top-level site-packages entries a worker never gets (the grader's own and the reference)."""
EXCLUDED_PREFIXES = ("w2v_grader", "w2v-grader", "__editable__", "_virtualenv")
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.append(sys.argv[2]); "
             "from w2v_worker.runner import main; sys.exit(main(sys.argv))")
"""``python -I -S -B -c BOOTSTRAP <workdir> <student site dir>`` starts a worker."""


def site_packages_dirs() -> list[Path]:
    """This interpreter's site-packages folders (venv first) and the folders their ``.pth`` files add, as
    ``site`` would (never an editable install's hook)."""
    dirs = [Path(p).resolve() for p in site.getsitepackages() if Path(p).is_dir()]
    for folder in list(dirs):
        for pth in sorted(folder.glob("*.pth")):
            if pth.name.startswith(EXCLUDED_PREFIXES):
                continue
            try:
                lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    extra = (folder / line).resolve()
                    if extra.is_dir() and extra not in dirs:
                        dirs.append(extra)
    return list(dict.fromkeys(dirs))


def _wanted(name: str) -> bool:
    return not (name in EXCLUDED_NAMES or name.startswith(EXCLUDED_PREFIXES) or name.endswith(".pth"))


def _entries() -> dict[str, Path]:
    """Top-level importable entries of every site folder, first folder first, minus the excluded ones."""
    entries: dict[str, Path] = {}
    for folder in site_packages_dirs():
        for name in sorted(os.listdir(folder)):
            if _wanted(name) and name not in entries:
                entries[name] = folder / name
    return entries


def student_site_dir() -> Path:
    """The folder of links the worker imports third-party packages from (created if missing)."""
    entries = _entries()
    digest = hashlib.sha256(sys.executable.encode())
    for name, target in sorted(entries.items()):
        digest.update(f"{name}\0{target.resolve()}\0".encode())
    home = Path(tempfile.gettempdir()) / f"w2v-site-{digest.hexdigest()[:16]}"
    if home.is_dir():
        return home
    staging = Path(tempfile.mkdtemp(prefix=".w2v-site-", dir=home.parent))
    for name, target in entries.items():
        os.symlink(target.resolve(), staging / name)  # the real place: the sandbox shows it, not the links
    os.chmod(staging, 0o755)
    try:
        os.rename(staging, home)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return home


def outside_targets() -> list[Path]:
    """Where site-packages entries that are links really live, when that is outside the interpreter's prefixes
    (a venv whose packages are linked in from another environment): the sandbox must show those too."""
    prefixes = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}]
    out: list[Path] = []
    for entry in _entries().values():
        target = entry.resolve()
        if target.exists() and not any(target == p or p in target.parents for p in prefixes) and target not in out:
            out.append(target)
    return out


def worker_argv(workdir: Path) -> list[str]:
    """The command line that starts a worker in ``workdir``."""
    return [sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP, str(workdir), str(student_site_dir())]
