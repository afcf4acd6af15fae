"""Reference (instructor) solution of CS224n a2 and its ``utils`` support package.

The files in this folder are written to be run like the starter kit
(``python word2vec.py`` with ``utils/`` beside it), so they import
``utils.*`` and each other as top-level modules. From the repository root
use :func:`load_reference`, which imports them under private module names
so they cannot clash with a student's ``word2vec``/``sgd``/``utils``.
``reference.utils.utils``, ``reference.utils.gradcheck`` and
``reference.utils.treebank`` are importable directly as a package.
"""

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

REFERENCE_DIR = Path(__file__).resolve().parent
_PREFIX = "_w2v_reference_"


class ReferenceModules(NamedTuple):
    """The reference solution modules."""

    word2vec: ModuleType
    sgd: ModuleType


@functools.cache
def load_reference() -> ReferenceModules:
    """Import reference/word2vec.py and sgd.py as ``_w2v_reference_word2vec``/``_sgd``.

    While importing, ``reference/`` is first on sys.path and any ``utils``
    modules already in sys.modules (e.g. a student's) are set aside, so the
    reference resolves ``from utils...`` to reference/utils; afterwards
    sys.path and sys.modules["utils*"] are restored exactly. The result is
    cached: repeated calls return the same module objects.
    """
    saved = {name: mod for name, mod in sys.modules.items() if _is_utils(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(REFERENCE_DIR))
    try:
        return ReferenceModules(word2vec=_import("word2vec"), sgd=_import("sgd"))
    finally:
        sys.path.remove(str(REFERENCE_DIR))
        for name in [n for n in sys.modules if _is_utils(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _is_utils(name: str) -> bool:
    """True for the top-level ``utils`` package and its submodules."""
    return name == "utils" or name.startswith("utils.")


def _import(stem: str) -> ModuleType:
    """Execute reference/<stem>.py as module ``_w2v_reference_<stem>``."""
    name = _PREFIX + stem
    spec = importlib.util.spec_from_file_location(name, REFERENCE_DIR / (stem + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
