"""The disk cache of the reference's outcomes, keyed by the call, its input arrays and every source they depend on.

One entry per call (``<key>.json`` metadata, ``<key>.npz`` arrays), so any subset of a job hits
the cache.  The key (:func:`call_key`) hashes the call, its input arrays and
:func:`sources_digest`: the grader version, the reference package and the worker's sources (in
a self-check kit, the digest stored when the kit was built).  Entries are written atomically
(:func:`store`), only for calls that returned.  The cache holds expected values of hidden tests:
keep it where student code cannot read it (the sandbox never mounts it; Gradescope's run makes it
unreadable to the sandbox uid).

Importing this module does not import numpy (the Gradescope watchdog process reads
:func:`cache_root` and stays small).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.course_secrets import GRADER_DIR, INSTALL_ROOT, REFERENCE_DIR, cache_root  # noqa: F401 - re-exported

from . import kit_store

if TYPE_CHECKING:
    import numpy as np

    from grader.sandbox.jobs import CallOutcome

REPO_ROOT = INSTALL_ROOT
WORKER_DIR = GRADER_DIR / "worker"


def cache_dir() -> Path:
    """The folder of the reference's cached outcomes."""
    return cache_root() / "expected"


def sources_digest() -> bytes:
    """Hash of everything an expected value depends on besides the call itself (a kit stores it)."""
    manifest = kit_store.manifest()
    if manifest is not None:
        return bytes.fromhex(manifest.sources_digest)
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(REFERENCE_DIR.rglob("*.py")) + sorted(WORKER_DIR.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.digest()



def call_key(call: dict[str, Any], arrays: dict[str, np.ndarray], sources: bytes) -> str:
    import numpy as np  # here, not at import: run-autograder reads cache_root() without numpy

    digest = hashlib.sha256(sources)
    digest.update(json.dumps(call, sort_keys=True).encode())
    text = json.dumps(call)
    for key in sorted(k for k in arrays if json.dumps(k) in text):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()[:40]



def store(folder: Path, key: str, outcome: CallOutcome) -> None:
    """Write one reference outcome atomically (never an incomplete one)."""
    if outcome.meta is None or outcome.meta.get("status") != "ok":
        return
    import numpy as np

    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
        if outcome.arrays:
            np.savez(tmp / f"{key}.npz", **outcome.arrays)
            (tmp / f"{key}.npz").replace(folder / f"{key}.npz")
        (tmp / f"{key}.json").write_text(json.dumps(outcome.meta, default=str), encoding="utf-8")
        (tmp / f"{key}.json").replace(folder / f"{key}.json")
        shutil.rmtree(tmp, ignore_errors=True)

