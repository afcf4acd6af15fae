#!/usr/bin/env python3
"""Build the generated (binary) parts of the sample-submission corpus, deterministically.

    python submissions/_make_zips.py          # rewrite them
    python submissions/_make_zips.py --check  # exit 1 if a committed file differs from what would be built

Outputs (all committed):
- ``nested_zip/submission.zip``: what a Mac user gets by zipping the assignment folder in Finder:
  ``a2/word2vec.py``, ``a2/sgd.py``, ``a2/run.py``, the student's own ``a2/utils/`` copy,
  ``a2/.DS_Store`` and a ``__MACOSX/`` folder of AppleDouble ``._*`` files (binary "resource fork"
  junk with the same names as the real files, plus the ``._`` prefix).
  Sources: ``_zip_src/nested_zip/`` (not a submission itself: it has no expected.toml).
- ``nested_folder/__MACOSX/.../._word2vec.py`` and ``._sgd.py``, ``nested_folder/.../.DS_Store``: the same
  junk in an already-extracted folder.

Every zip entry gets a fixed timestamp (2023-01-24 12:00:00), fixed permissions and a fixed order, and
all the junk bytes are computed here, so running this twice gives byte-identical files.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = (2023, 1, 24, 12, 0, 0)


def apple_double(name: str) -> bytes:
    """An AppleDouble (``._name``) file as macOS writes it: header, Finder info, extended attributes."""
    attr_name = b"com.apple.quarantine\x00"
    attr_value = b"0083;63cfc3a0;Safari;" + name.encode()[:16]
    # header: magic, version, 16-byte filler, 2 entries (Finder info id 9, resource fork id 2)
    header = struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X        ", 2)
    finder_offset = len(header) + 2 * 12
    finder_len = 3760
    resource_offset = finder_offset + finder_len
    resource_len = 286
    entries = struct.pack(">III", 9, finder_offset, finder_len) + struct.pack(">III", 2, resource_offset,
                                                                              resource_len)
    finder = bytearray(finder_len)
    finder[0:8] = b"TEXT!Rch"  # file type / creator
    attr_header = b"ATTR" + struct.pack(">IIIIII", 0, 4096, 120, len(attr_value), 0, 1)
    finder[34:34 + len(attr_header)] = attr_header
    entry = struct.pack(">IIHB", 120, len(attr_value), 0, len(attr_name)) + attr_name
    finder[34 + len(attr_header):34 + len(attr_header) + len(entry)] = entry
    finder[86:86 + len(attr_value)] = attr_value
    resource = bytearray(resource_len)
    resource[0:16] = struct.pack(">IIII", 256, 256, 30, 30)
    resource[16 + 98:16 + 98 + 30] = b"This resource fork intentional"
    return header + entries + bytes(finder) + bytes(resource)


def ds_store() -> bytes:
    """A tiny .DS_Store (the 'Bud1' buddy-allocator header and zeros)."""
    return b"\x00\x00\x00\x01Bud1" + struct.pack(">III", 4096, 2048, 4096) + bytes(2048 - 20)


def build_zip() -> bytes:
    src = HERE / "_zip_src" / "nested_zip"
    members: list[tuple[str, bytes]] = []
    for path in sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        members.append((path.relative_to(src).as_posix(), path.read_bytes()))
    members.append(("a2/.DS_Store", ds_store()))
    for rel, _ in list(members):
        if rel.endswith(".py"):
            folder, _, base = rel.rpartition("/")
            members.append((f"__MACOSX/{folder}/._{base}", apple_double(base)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        folders = sorted({"/".join(rel.split("/")[:i]) + "/" for rel, _ in members
                          for i in range(1, rel.count("/") + 1)})
        for folder in folders:
            info = zipfile.ZipInfo(folder, date_time=STAMP)
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
        for rel, data in sorted(members):
            info = zipfile.ZipInfo(rel, date_time=STAMP)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED  # no compression: identical bytes on any zlib
            archive.writestr(info, data)
    return buffer.getvalue()


def outputs() -> dict[Path, bytes]:
    folder = HERE / "nested_folder"
    return {
        HERE / "nested_zip" / "submission.zip": build_zip(),
        folder / "__MACOSX" / "CS224n_a2" / "a2" / "._word2vec.py": apple_double("word2vec.py"),
        folder / "__MACOSX" / "CS224n_a2" / "a2" / "._sgd.py": apple_double("sgd.py"),
        folder / "CS224n_a2" / "a2" / ".DS_Store": ds_store(),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, data in outputs().items():
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.relative_to(HERE).as_posix())
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(HERE)} ({len(data)} bytes)")
    if stale:
        print("out of date (run python submissions/_make_zips.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
