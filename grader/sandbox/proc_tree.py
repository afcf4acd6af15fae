"""CPU time of a process and all its descendants, read from ``/proc`` (kernel accounting).

Used from outside the sandbox, so nothing the student's code does to its own
clocks can change it: the speed check's CPU counters and the sandbox's
per-call CPU limit.  Linux only; on other systems every reading is 0.
"""

from __future__ import annotations

import contextlib
import os


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:  # plain open: read twice per timing marker, Path costs double
        return handle.read()


def tree_pids(root: int) -> list[int]:
    """``root`` and every live descendant (pids as the caller's /proc sees them)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = _read(f"/proc/{entry}/stat")
                ppid = int(stat[stat.rindex(b")") + 2:].split(None, 2)[1])
                children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """Σ over the tree of max(live threads' schedstat ns, process utime+stime) + reaped children.

    schedstat is exact but forgets threads that have exited; utime+stime (clock ticks)
    includes them.  Taking the larger of the two keeps nanosecond precision for ordinary
    code and still counts work hidden in short-lived threads.
    """
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in tree_pids(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = _read(f"/proc/{pid}/stat")
            fields = stat[stat.rindex(b")") + 2:].split()
            process = (int(fields[11]) + int(fields[12])) / tick  # utime + stime, dead threads included
            reaped = (int(fields[13]) + int(fields[14])) / tick  # cutime + cstime
            live = 0.0
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    live += int(_read(f"/proc/{pid}/task/{task}/schedstat").split()[0]) / 1e9
            total += max(live, process) + reaped
    return total
