"""Timed blocks inside the sandbox worker (the speed check's worker half).

The parent drives everything: for each block it sends the function, the repetition count and a
fresh random seed, reads the kernel's CPU counters of the whole sandbox before sending and after
the reply (with every process of the run frozen), and then reads some repetitions' outputs out of
this process's memory itself.  This module only *runs* the block:

1. draw every repetition's varying inputs from the block's seed (one vectorised draw: a shifted
   view of a pool matrix, a fresh center vector, index, negative-sample script or loss shift);
2. call the function ``reps`` times and keep every output alive (as ndarrays);
3. report where each output lives (address, dtype, shape, strides).

Nothing here is trusted: student code shares this process and may replace any of it.  A lie can
only make outputs unreadable or wrong when the parent checks them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

try:  # support lives next to this file inside the sandbox (package w2v_worker)
    from . import support
except ImportError:  # pragma: no cover - when run as a script
    import support  # type: ignore[no-redef]

POOL_EXTRA_ROWS = 97
"""Pool matrices have this many extra rows: repetition r uses the rows from a random offset on."""


class TimedCall:
    """One speed call: its pools (built once) and the recipe of every repetition's arguments.

    ``spec["args"]`` items (all shapes and seeds chosen by the parent):
    ``{"value": x}`` a constant; ``{"pool": {"shape": [n, d], "seed": s, "scale": c}}`` an (n, d)
    view of a larger uniform(−c, c) pool at a random row offset; ``{"scaled_pool": {...}}`` the same
    view times a random factor in [0.5, 1.5) (fresh values for elementwise functions);
    ``{"fresh": {"shape": [d]}}`` a new standard-normal array; ``{"index": {"high": n}}`` a random
    index; ``{"dataset": {"high": n, "length": m}}`` a scripted sampler of m random indices in
    [1, n); ``{"timing_loss": true}`` the cheap timing loss with a random shift (fresh outputs).
    """

    def __init__(self, function: Callable, spec: dict[str, Any]) -> None:
        self.function = function
        self.specs = list(spec.get("args", []))
        self.pools: dict[int, np.ndarray] = {}
        for i, arg in enumerate(self.specs):
            pool = arg.get("pool") or arg.get("scaled_pool") if isinstance(arg, dict) else None
            if pool is not None:
                shape = (int(pool["shape"][0]) + POOL_EXTRA_ROWS, *map(int, pool["shape"][1:]))
                data = np.random.default_rng(int(pool["seed"])).random(shape)
                data *= 2.0
                data -= 1.0
                data *= float(pool.get("scale", 1.0))
                self.pools[i] = data
        self.kept: list[tuple[np.ndarray, ...]] = []

    def draw(self, rng: np.random.Generator, reps: int) -> list[Any]:
        """Every repetition's varying values, drawn at once (per argument: an array over reps)."""
        draws: list[Any] = []
        for arg in self.specs:
            if not isinstance(arg, dict) or "value" in arg:
                draws.append(None)
            elif "pool" in arg:
                draws.append(rng.integers(0, POOL_EXTRA_ROWS, reps))
            elif "scaled_pool" in arg:
                draws.append((rng.integers(0, POOL_EXTRA_ROWS, reps), rng.random(reps) + 0.5))
            elif "fresh" in arg:
                draws.append(rng.standard_normal((reps, *map(int, arg["fresh"]["shape"]))))
            elif "index" in arg:
                draws.append(rng.integers(0, int(arg["index"]["high"]), reps))
            elif "dataset" in arg:
                d = arg["dataset"]
                draws.append(rng.integers(1, int(d["high"]), (reps, int(d["length"]))))
            elif "timing_loss" in arg:
                draws.append(rng.random(reps))
            else:
                raise ValueError(f"unknown timed argument {sorted(arg)}")
        return draws

    def arguments(self, draws: list[Any], rep: int) -> list[Any]:
        """Repetition ``rep``'s argument list."""
        args: list[Any] = []
        for i, (arg, drawn) in enumerate(zip(self.specs, draws)):
            if drawn is None:
                args.append(arg.get("value") if isinstance(arg, dict) else arg)
            elif "pool" in arg:
                n = int(arg["pool"]["shape"][0])
                start = int(drawn[rep])
                args.append(self.pools[i][start:start + n].copy())  # a function that edits its input harms only this call
            elif "scaled_pool" in arg:
                n = int(arg["scaled_pool"]["shape"][0])
                start = int(drawn[0][rep])
                args.append(self.pools[i][start:start + n] * drawn[1][rep])
            elif "fresh" in arg:
                args.append(drawn[rep].copy())
            elif "index" in arg:
                args.append(int(drawn[rep]))
            elif "dataset" in arg:
                args.append(support.ScriptedDataset(drawn[rep]))
            else:  # timing_loss
                args.append(support.shifted_timing_loss(float(drawn[rep])))
        return args

    def run_block(self, reps: int, seed: int, asarray: Callable = np.asarray,
                  only: Optional[list[int]] = None) -> list[list[Any]]:
        """Run ``reps`` repetitions (or just those in ``only``); keep their outputs; return where each lives.

        The previous block's outputs are released first.  Raises whatever the function raises.
        """
        self.kept = []
        rng = np.random.default_rng(seed)
        draws = self.draw(rng, reps)
        kept = self.kept
        for rep in (range(reps) if only is None else [r for r in only if 0 <= r < reps]):
            result = self.function(*self.arguments(draws, rep))
            items = result if isinstance(result, tuple) else (result,)
            kept.append(tuple(item if type(item) is np.ndarray else asarray(item) for item in items))
        return [[_location(item) for item in outputs] for outputs in kept]

    def release(self) -> None:
        self.kept = []


def _location(arr: Any) -> Optional[list[Any]]:
    """[address, dtype, shape, strides] of an ndarray, None for anything numpy could not make an array of."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc":
        return None
    interface = arr.__array_interface__
    return [int(interface["data"][0]), arr.dtype.str, [int(n) for n in arr.shape], [int(s) for s in arr.strides]]
