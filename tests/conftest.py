"""Shared fixtures: repository paths, the shared/ folder, materialised sample submissions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Expected-value cache in a per-session temp dir so tests never depend on a warm user cache."""
    os.environ.setdefault("W2V_CACHE_DIR", str(tmp_path_factory.mktemp("w2v-cache")))


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """Every sample submission materialised (the reference copied in where asked)."""
    from grader.corpus import load_corpus, materialize

    dest = tmp_path_factory.mktemp("corpus")
    for expectation in load_corpus():
        materialize(expectation, dest)
    return dest


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip(f"../shared is not present beside the repository ({SHARED})")
    return SHARED
