"""The parent→worker input pack: every array comes back equal, with its dtype and shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.worker.input_pack import ALIGN, read_pack, write_pack


def test_round_trip_keeps_values_dtypes_shapes_and_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "scalar": np.float64(2.5),
        "zero_d": np.array(7, dtype=np.int64),
        "vector": rng.standard_normal(5),
        "matrix": rng.standard_normal((3000, 100)),
        "fortran": np.asfortranarray(rng.standard_normal((4, 3))),
        "strided": rng.standard_normal((6, 6))[::2, 1::2],
        "empty": np.zeros((0, 3)),
        "float32": rng.standard_normal((2, 2)).astype(np.float32),
        "ints": np.arange(10, dtype=np.int32),
        "bools": np.array([True, False, True]),
        "empty_last": np.zeros(0, dtype=np.int64),
    }
    path = tmp_path / "inputs.bin"
    write_pack(path, arrays)
    back = read_pack(path)
    assert list(back) == list(arrays)
    for name, value in arrays.items():
        got = back[name]
        assert got.dtype == np.asarray(value).dtype, name
        assert got.shape == np.shape(value), name
        np.testing.assert_array_equal(got, value)
    assert not back["matrix"].flags.writeable  # the worker copies before a call gets an array
    assert back["matrix"].ctypes.data % ALIGN == back["vector"].ctypes.data % ALIGN


def test_an_empty_job_and_a_foreign_file(tmp_path: Path) -> None:
    write_pack(tmp_path / "none.bin", {})
    assert read_pack(tmp_path / "none.bin") == {}
    np.savez(tmp_path / "old.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not an input pack"):
        read_pack(tmp_path / "old.npz")
