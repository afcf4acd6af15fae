"""The disk cache of mutant outcomes, like the expected values' (:mod:`grader.expected.cache`).

Used for sgd's mutants only (see :class:`grader.diagnose.MutantOutcomes`). One entry per (function, calls),
holding every mutant outcome computed so far: ``<key>.json`` (exceptions, modified arguments,
printed text, which outputs are not numbers) and ``<key>.npz`` (numeric outputs).  The key hashes
the catalogue's and mutants' sources, the worker support code they call, the calls and their
input arrays, so a new catalogue, rubric or input never reads a stale entry.  It lives in
``$W2V_CACHE_DIR/diagnosis`` beside the expected values: never mounted in a sandbox (mutant
outputs equal the reference's wherever a mistake does not matter).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from grader.course_secrets import GRADER_DIR, cache_root

from .run import Observed

SEP = "\x1f"


def cache_dir() -> Path:
    return cache_root() / "diagnosis"


@functools.lru_cache(maxsize=1)
def sources_digest() -> bytes:
    """Hash of the code a mutant outcome depends on."""
    digest = hashlib.sha256(b"diagnosis-v1")
    for path in sorted((GRADER_DIR / "diagnose").glob("*.py")) + [GRADER_DIR / "worker" / "support.py"]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.digest()


def key_for(function: str, flag_sets: list[frozenset[str]], calls: list[dict[str, Any]],
            arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(sources_digest())
    digest.update(function.encode())
    digest.update(json.dumps([sorted(f) for f in flag_sets]).encode())
    digest.update(json.dumps(calls, sort_keys=True).encode())
    text = json.dumps(calls)
    for name in sorted(k for k in arrays if json.dumps(k) in text):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:40]


def load(key: str, folder: Optional[Path] = None) -> Optional[dict[tuple[str, str], Observed]]:
    """The cached outcomes (flag-set label, call id) -> Observed, or None (missing or unreadable)."""
    folder = folder or cache_dir()
    try:
        meta = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        npz = folder / f"{key}.npz"
        stored = dict(np.load(npz, allow_pickle=False)) if npz.exists() else {}
    except (OSError, ValueError):
        return None
    out: dict[tuple[str, str], Observed] = {}
    for entry in meta:
        label, call_id = entry["label"], entry["call"]
        outputs: dict[str, Any] = dict(entry.get("strings", {}))
        outputs.update({n: None for n in entry.get("none", [])})
        for name in entry.get("arrays", []):
            outputs[name] = stored.get(SEP.join((label, call_id, name)))
        out[(label, call_id)] = Observed(outputs, raised=entry.get("raised", ""),
                                         mutated=tuple(entry.get("mutated", ())))
    return out


def store(key: str, outcomes: dict[tuple[str, str], Observed], folder: Optional[Path] = None) -> None:
    """Write the outcomes atomically (a failure to write is not an error: the cache is an optimisation)."""
    folder = folder or cache_dir()
    meta, stored = [], {}
    for (label, call_id), observed in outcomes.items():
        entry: dict[str, Any] = {"label": label, "call": call_id, "raised": observed.raised,
                                 "mutated": list(observed.mutated), "strings": {}, "none": [], "arrays": []}
        for name, value in observed.outputs.items():
            if isinstance(value, str):
                entry["strings"][name] = value
            elif value is None:
                entry["none"].append(name)
            else:
                entry["arrays"].append(name)
                stored[SEP.join((label, call_id, name))] = np.asarray(value)
        meta.append(entry)
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
        try:
            np.savez(tmp / f"{key}.npz", **stored)
            (tmp / f"{key}.npz").replace(folder / f"{key}.npz")
            (tmp / f"{key}.json").write_text(json.dumps(meta), encoding="utf-8")
            (tmp / f"{key}.json").replace(folder / f"{key}.json")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
