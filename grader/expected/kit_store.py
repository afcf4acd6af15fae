"""What a student self-check kit ships instead of the reference solution (read here, built by ``build-kit``).

A kit is the grader package with the reference solution left out and
``grader/kit_data/`` added (see :mod:`grader.kit.build`):

* ``manifest.json``: the digest that keys the expected values, the rubric's
  hash, and per timed call the reference/calibration CPU ratio and the
  digest of the reference's output (both measured when the kit was built);
* ``expected/<key>.json|.npz``: the reference's outputs for the **visible**
  tests only (their inputs and expected values are shown to students anyway).

:func:`manifest` is None in a full installation; the pipeline then runs the
reference as usual.  In a kit, expected values come only from the kit and
speed is estimated against the calibration workload ``calibration/word2vec.py`` beside this
module (never the solution).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

KIT_DIR = Path(__file__).parents[1] / "kit_data"
CALIBRATION_FILES = {"word2vec.py": Path(__file__).with_name("calibration") / "word2vec.py"}


@dataclass(frozen=True)
class KitManifest:
    """What a kit knows about the reference without containing it."""

    sources_digest: str  # hex: keys of the expected values
    rubric_sha256: str
    grader_version: str
    speed_scale: dict[str, float] = field(default_factory=dict)  # function -> reference CPU / calibration CPU
    speed_digests: dict[str, Any] = field(default_factory=dict)  # unused since timed outputs are read back (kept for old kits)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=1)
def manifest() -> Optional[KitManifest]:
    """The kit's manifest, or None when the full grader (with the reference) is installed."""
    path = KIT_DIR / "manifest.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return KitManifest(**data)


def expected_dir() -> Path:
    return KIT_DIR / "expected"
