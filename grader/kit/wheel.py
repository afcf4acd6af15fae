"""The self-check kit as a wheel: ``pip install`` copies it, with no build step.

A wheel (the binary distribution format of PEP 427 / the packaging specifications) is a zip of
the files to install plus a ``NAME-VERSION.dist-info/`` folder: ``METADATA`` (name, version,
dependencies, README), ``WHEEL`` (format version, pure-Python tag), ``entry_points.txt`` (the
``w2v-grader`` command) and ``RECORD`` (the sha256 and size of every file).  Installing a source
zip instead made pip build an isolated environment with setuptools first: ~3.6 s of a student's
install, more on a slow laptop.

The file must be named ``{distribution}-{version}-py3-none-any.whl`` or pip refuses it, so
:func:`wheel_path` decides the name; written with :func:`grader.packaging.write_zip`, the same
sources give a byte-identical wheel.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from grader.packaging import BuildError, write_zip

TAG = "py3-none-any"


@dataclass(frozen=True)
class WheelMetadata:
    """What ``METADATA`` and ``entry_points.txt`` say (core metadata 2.1)."""

    name: str                        # the distribution name, e.g. "w2v-check-kit"
    version: str                     # PEP 440
    summary: str
    requires_python: str
    requires: tuple[str, ...]        # PEP 508 requirement strings
    scripts: tuple[tuple[str, str], ...]  # (command, "module:function")
    readme: str                      # Markdown

    @property
    def distribution(self) -> str:
        """The name as it is spelt in file names: runs of -_. become one underscore."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


def wheel_path(out: Path, meta: WheelMetadata) -> Path:
    """Where to write: ``out`` itself if it is the wheel's exact name, else that name inside folder ``out``."""
    name = f"{meta.distribution}-{meta.version}-{TAG}.whl"
    if out.suffix == ".whl":
        if out.name != name:
            raise BuildError(f"pip only installs a wheel named {name} (not {out.name}): pass that name, or a folder")
        return out
    if out.suffix in {".zip", ".tar", ".gz"}:
        raise BuildError(f"the kit is a wheel ({name}), not a {out.suffix} file: pass a folder (e.g. --out dist) "
                         f"or --out {name}")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} exists and is not a folder")
    return out / name


def write_wheel(out: Path, files: dict[str, bytes], meta: WheelMetadata) -> Path:
    """Write ``files`` (install path → bytes, e.g. ``grader/cli.py``) as a wheel; returns its path."""
    if any(name.startswith("/") or ".." in name.split("/") or ".dist-info/" in name for name in files):
        raise BuildError("a wheel member would install outside site-packages or over the metadata")
    target = wheel_path(Path(out), meta)
    info = f"{meta.distribution}-{meta.version}.dist-info"
    members = dict(files)
    members[f"{info}/METADATA"] = _metadata(meta).encode()
    members[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: w2v-grader\nRoot-Is-Purelib: true\n"
                                f"Tag: {TAG}\n").encode()
    members[f"{info}/entry_points.txt"] = ("[console_scripts]\n" + "".join(
        f"{command} = {entry}\n" for command, entry in meta.scripts)).encode()
    members[f"{info}/top_level.txt"] = "".join(
        f"{top}\n" for top in sorted({name.split("/", 1)[0] for name in files if "/" in name})).encode()
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in sorted(members.items())]
    members[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    write_zip(target, members)
    return target


def _metadata(meta: WheelMetadata) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {meta.name}", f"Version: {meta.version}", f"Summary: {meta.summary}",
             f"Requires-Python: {meta.requires_python}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in meta.requires]
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + meta.readme


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
