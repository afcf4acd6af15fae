"""Where the grader's secrets live: the paths no sandboxed worker may ever read.

* the grader's own package (its sources: the rubric, the test inputs, the checks);
* the reference solution package;
* the grader's disk cache (``$W2V_CACHE_DIR``, else ``~/.cache/w2v-grader``): expected values of
  hidden tests and the speed check's reference series;
* the checkout the grader runs from, when it runs from one, and the course folder beside it
  (``../shared``: the reference training runs);
* on Gradescope, ``/autograder/source`` (the autograder itself) and ``/autograder/results``.

The sandbox's mount namespace masks every one of them (:func:`protected_paths`); without it a
run is "weak" unless their permission bits are closed to other users
(:func:`grader.sandbox.integrity`).  Importing this module imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path

GRADER_DIR = Path(__file__).resolve().parent
INSTALL_ROOT = GRADER_DIR.parent
"""The folder that holds the ``grader`` and ``reference`` packages: a checkout, or site-packages."""
REFERENCE_DIR = INSTALL_ROOT / "reference"
GRADESCOPE_PATHS = (Path("/autograder/source"), Path("/autograder/results"))


def cache_root() -> Path:
    """``$W2V_CACHE_DIR``, else ``~/.cache/w2v-grader``: everything the grader caches on disk."""
    return Path(os.environ.get("W2V_CACHE_DIR") or Path.home() / ".cache" / "w2v-grader")


def is_checkout(folder: Path = INSTALL_ROOT) -> bool:
    """Is ``folder`` a source checkout of the grader (rather than site-packages)?"""
    return (folder / "pyproject.toml").is_file() and (folder / "grader").is_dir()


def protected_paths() -> list[Path]:
    """Every existing secret path (see the module docstring), resolved."""
    candidates = [GRADER_DIR, REFERENCE_DIR, cache_root(), *GRADESCOPE_PATHS]
    if is_checkout():
        candidates += [INSTALL_ROOT, INSTALL_ROOT.parent / "shared"]
    out = []
    for path in candidates:
        resolved = path.resolve()
        if resolved.exists() and resolved not in out:
            out.append(resolved)
    return out


SECRET_ENV = "W2V_COURSE_SECRET"
"""Hex string: the course's secret (set by Gradescope's run from the autograder zip; else a file)."""


def course_secret() -> bytes:
    """A secret that makes the grader's random choices unpredictable to students (gradient-check points,
    speed seeds): ``$W2V_COURSE_SECRET``, else ``<cache root>/course_secret``, created once (mode 600).

    Regrading on the same installation uses the same secret, so the same submission gets the same
    points and the same verdicts; another installation (another secret) draws other points.
    """
    text = os.environ.get(SECRET_ENV, "").strip()
    if text:
        return bytes.fromhex(text) if all(c in "0123456789abcdefABCDEF" for c in text) else text.encode()
    path = cache_root() / "course_secret"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    secret = os.urandom(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret.hex())
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    except OSError:
        pass  # read-only home: a secret for this process only
    return secret


def derived_seed(*parts: object) -> int:
    """A 63-bit seed from the course secret and ``parts`` (e.g. the submission's digest and a purpose)."""
    import hashlib

    digest = hashlib.sha256(course_secret())
    for part in parts:
        digest.update(b"\0" + (part if isinstance(part, bytes) else str(part).encode()))
    return int.from_bytes(digest.digest()[:8], "little") >> 1
