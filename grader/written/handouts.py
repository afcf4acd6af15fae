"""The handouts' part lists (``data/handouts.toml``), loaded once into the tables the locate stage uses.

``SCHEMES``: student letter → 2024 letter, per numbering; ``FREE_TEXT_HOME``: where each free-text
part is asked; ``QUANTITIES``: (derivative variable kind, loss) → the parts that compute it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

HANDOUTS_FILE = Path(__file__).with_name("data") / "handouts.toml"


def _load(path: Path = HANDOUTS_FILE) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if "2024" not in data.get("numbering", {}):
        raise ValueError(f"{path}: the 2024 numbering is required (part IDs are its)")
    return data


_DATA = _load()

SCHEMES: dict[str, dict[str, str]] = {name: dict(n["letters"]) for name, n in _DATA["numbering"].items()}
"""Student letter → 2024 handout letter, per handout year."""

SCHEME_NAMES: dict[str, str] = {name: n["name"] for name, n in _DATA["numbering"].items()}
SHORT_NAMES: dict[str, str] = {name: n["short"] for name, n in _DATA["numbering"].items()}

FREE_TEXT_HOME: dict[str, dict[str, tuple[str, Optional[str]]]] = {
    name: {part: (home[0], home[1] if len(home) > 1 else None) for part, home in n["free_text"].items()}
    for name, n in _DATA["numbering"].items()
}
"""Where each free-text part lives in each numbering (letter, sub-part)."""

QUANTITIES: dict[tuple[str, Optional[str]], tuple[str, ...]] = {}
for _q in _DATA["quantity"]:
    for _loss in (("naive", "neg", "skip", None) if _q["loss"] == "any" else (_q["loss"],)):
        QUANTITIES[(_q["wrt"], _loss)] = tuple(_q["parts"])
"""(variable kind, loss family or None) → the handout parts that compute that derivative."""


def quantity_parts(kind: Optional[str], loss: Optional[str]) -> Optional[tuple[str, ...]]:
    """The parts computing ∂J_loss/∂(kind), or None when no handout part asks for it."""
    if kind is None:
        return None
    return QUANTITIES.get((kind, loss))
