"""Tests for grader.sandbox: real child processes, no mocks."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox import (
    BASE_LAYERS,
    IsolationInfo,
    SandboxLimits,
    SandboxRun,
    detect_isolation,
    ensure_unreadable,
    make_workdir,
    run_sandboxed,
)

PY = sys.executable
SYSTEM_PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def iso() -> IsolationInfo:
    return detect_isolation()


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = make_workdir("w2v-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def visible_dir() -> Iterator[Path]:
    """A world-searchable directory outside /tmp (which mountns masks)."""
    if not os.path.isdir("/var/tmp"):
        pytest.skip("/var/tmp missing")
    path = Path(tempfile.mkdtemp(prefix="w2v-test-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def need(iso: IsolationInfo, layer: str) -> None:
    """Skip unless ``layer`` is active, with the detector's reason."""
    if not iso.has(layer):
        pytest.skip(f"{layer} unavailable: {iso.unavailable.get(layer, 'not detected')}")


def marker() -> str:
    return f"w2vmark{uuid.uuid4().hex}"


def alive(mark: str) -> list[int]:
    """Pids (host view) whose command line contains ``mark``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def run_py(code: str, workdir: Path, python: str = PY, **kw) -> SandboxRun:
    limits = kw.pop("limits", SandboxLimits(wall_seconds=20.0))
    return run_sandboxed([python, "-c", textwrap.dedent(code)], workdir, limits, **kw)


# ------------------------------------------------------------------ basics


def test_normal_run(workdir: Path, iso: IsolationInfo) -> None:
    run = run_py("""
        import os, sys
        print("hello", os.getcwd(), os.environ["HOME"], os.environ["W2V_CONTROL_FD"],
              os.environ["PYTHONHASHSEED"], os.environ["FOO"], os.environ["MPLBACKEND"])
        print("oops", file=sys.stderr)
        sys.exit(3)
    """, workdir, env={"FOO": "bar"})
    assert run.returncode == 3 and run.signal is None
    assert run.stdout.split() == ["hello", str(workdir), str(workdir), "3", "0", "bar", "Agg"]
    assert run.stderr == "oops\n"
    assert not (run.timed_out or run.stdout_truncated or run.stderr_truncated)
    assert run.limit_hit is None and run.killed_by is None
    assert set(run.isolation.layers) == set(iso.layers) and run.warnings == []
    assert set(BASE_LAYERS) <= set(run.isolation.layers)
    assert run.max_rss_kb > 0 and 0 < run.wall_seconds < 10


def test_stdin_is_eof(workdir: Path) -> None:
    run = run_py("""
        try:
            input()
        except EOFError:
            print("EOF")
    """, workdir)
    assert run.stdout.strip() == "EOF" and run.returncode == 0


def test_missing_program_reports_127(workdir: Path) -> None:
    run = run_sandboxed(["/nonexistent/program"], workdir, SandboxLimits(wall_seconds=10))
    assert run.returncode == 127 and "cannot execute" in run.stderr


def test_bad_arguments(workdir: Path) -> None:
    with pytest.raises(ValueError):
        run_sandboxed([], workdir, SandboxLimits())
    with pytest.raises(ValueError):
        run_sandboxed([PY, "-c", "0"], workdir / "missing", SandboxLimits())


# ------------------------------------------------------------------ limits


def test_infinite_loop_times_out_and_is_gone(workdir: Path) -> None:
    mark = marker()
    started = time.monotonic()
    run = run_py(f"""
        # {mark}
        import os, time
        while time.process_time() < 0.3:
            pass
        os.write(3, b"burned\\n")
        while True:
            pass
    """, workdir, limits=SandboxLimits(wall_seconds=2.0))
    assert time.monotonic() - started < 6
    assert run.timed_out and run.limit_hit == "wall_time" and run.killed_by == "wall_time"
    assert run.returncode is None and run.signal == signal.SIGKILL
    if run.control_messages == ["burned"]:  # not reached only on a badly overloaded machine
        assert run.cpu_seconds >= 0.3  # CPU of a killed worker is still accounted
    assert alive(mark) == []


def test_cpu_limit(workdir: Path) -> None:
    run = run_py("while True: pass", workdir,
                 limits=SandboxLimits(wall_seconds=15.0, cpu_seconds=1))
    assert not run.timed_out
    assert run.signal in (signal.SIGXCPU, signal.SIGKILL)
    assert run.limit_hit == "cpu_time"
    assert 0.9 <= run.cpu_seconds < 3.0


def test_memory_limit(workdir: Path) -> None:
    run = run_py("""
        blocks = []
        blocks.append(bytearray(512 * 1024 * 1024))
        print("allocated")
    """, workdir, limits=SandboxLimits(wall_seconds=15.0, memory_bytes=256 * 1024**2))
    assert "MemoryError" in run.stderr and "allocated" not in run.stdout
    assert run.returncode == 1 and run.limit_hit == "memory"


def test_file_size_limit(workdir: Path) -> None:
    run = run_py("""
        with open("big.bin", "wb") as f:
            f.write(b"x" * (2 * 1024 * 1024))
    """, workdir, limits=SandboxLimits(wall_seconds=15.0, file_size_bytes=1024 * 1024))
    assert run.returncode != 0 and run.limit_hit == "file_size"
    assert (workdir / "big.bin").stat().st_size <= 1024 * 1024


def test_output_flood_is_capped(workdir: Path) -> None:
    cap = 64 * 1024
    started = time.monotonic()
    run = run_py("""
        import sys
        chunk = b"y" * (1024 * 1024)
        for _ in range(50):
            sys.stdout.buffer.write(chunk)
            sys.stderr.buffer.write(b"e" * 1024 * 1024)
        sys.stdout.flush()
        sys.stderr.write("TAIL-MARK")
    """, workdir, limits=SandboxLimits(wall_seconds=30.0, output_bytes=cap))
    assert time.monotonic() - started < 15
    assert run.returncode == 0 and not run.timed_out
    assert run.stdout_truncated and run.stderr_truncated
    assert len(run.stdout) == cap and set(run.stdout) == {"y"}
    assert len(run.stderr) == cap and run.stderr_tail.endswith("TAIL-MARK")


def test_invalid_utf8_is_replaced(workdir: Path) -> None:
    run = run_py("import sys; sys.stdout.buffer.write(b'ok\\xff\\xfe')", workdir)
    assert run.stdout.startswith("ok") and "\ufffd" in run.stdout


# ------------------------------------------------------------------ no survivors


def test_fork_bomb_lite_is_limited_and_cleaned_up(workdir: Path, iso: IsolationInfo) -> None:
    mark = marker()
    run = run_py(f"""
        # {mark}
        import os, time
        n = 0
        try:
            for n in range(200):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
        finally:
            print("forked", n, flush=True)
        time.sleep(60)
    """, workdir, limits=SandboxLimits(wall_seconds=4.0, max_processes=32))
    assert alive(mark) == []
    if iso.has("uid"):
        forked = int(run.stdout.split()[1])
        assert forked < 40, run.stdout
        assert run.limit_hit == "processes", run.stderr_tail
    else:
        assert run.timed_out


def need_kill_all(iso: IsolationInfo) -> None:
    """Skip unless some layer can catch ``setsid`` escapees."""
    if not (iso.has("pidns") or iso.has("subreaper") or iso.uid_layer == "uid:w2vsandbox"):
        pytest.skip("no kill-all layer: " + "; ".join(
            f"{k}: {iso.unavailable.get(k, '?')}" for k in ("pidns", "subreaper", "uid")))


def test_daemons_do_not_survive(workdir: Path, iso: IsolationInfo) -> None:
    need_kill_all(iso)
    plain, setsid = marker(), marker()
    started = time.monotonic()
    run = run_py(f"""
        import os, sys
        def spawn(mark, new_session):
            if os.fork() == 0:
                if new_session:
                    os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", mark])
                os._exit(0)
        spawn({plain!r}, False)
        spawn({setsid!r}, True)
        import time; time.sleep(0.5)
        print("spawned")
    """, workdir)
    assert run.returncode == 0 and run.stdout.strip() == "spawned"
    assert time.monotonic() - started < 8  # did not wait for the daemons
    assert alive(plain) == [] and alive(setsid) == []


DAEMON = """
    import os, sys, time
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            t = time.process_time()
            while time.process_time() - t < 0.5:
                pass
            os.write(w, b"x")
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {mark!r}])
        os._exit(0)
    os.read(r, 1)
    time.sleep(0.3)
    print("spawned", os.getuid())
"""


def test_fallback_uid_kill_all(workdir: Path, iso: IsolationInfo) -> None:
    """Without pidns/subreaper, killing every process of the leased uid catches a setsid escapee."""
    need(iso, "uid")
    if iso.uid_layer != "uid:w2vsandbox":
        pytest.skip(f"kill-all fallback needs the dedicated users, have {iso.uid_layer}")
    if not Path(SYSTEM_PY).exists():
        pytest.skip(f"{SYSTEM_PY} (an interpreter outside /root) not installed")
    mark = marker()
    fallback = IsolationInfo(layers=[*BASE_LAYERS, iso.uid_layer], unavailable={})
    run = run_py(DAEMON.format(mark=mark), workdir, python=SYSTEM_PY, isolation=fallback)
    assert run.stdout.split()[0] == "spawned", run.stderr
    assert "pidns" not in run.isolation.layers and "subreaper" not in run.isolation.layers
    assert alive(mark) == []


def test_fallback_subreaper(workdir: Path, iso: IsolationInfo) -> None:
    """Without pidns/uid, the subreaper trampoline kills and reaps a setsid escapee (CPU counted)."""
    need(iso, "subreaper")
    mark = marker()
    fallback = IsolationInfo(layers=[*BASE_LAYERS, "subreaper"], unavailable={})
    run = run_py(DAEMON.format(mark=mark), workdir, isolation=fallback)
    assert run.stdout.split()[0] == "spawned", run.stderr
    assert alive(mark) == []
    assert run.cpu_seconds >= 0.4


def test_caller_death_kills_the_run(tmp_path: Path, workdir: Path) -> None:
    """If the grading process dies mid-run, the sandboxed worker dies with it."""
    mark = marker()
    script = tmp_path / "caller.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from grader.sandbox import SandboxLimits, run_sandboxed
        run_sandboxed([sys.executable, "-c", "import time; time.sleep(60)", {mark!r}],
                      Path({str(workdir)!r}), SandboxLimits(wall_seconds=60))
    """))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    caller = subprocess.Popen([PY, str(script)], env=env)
    try:
        deadline = time.monotonic() + 20
        while not alive(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(mark), "sandboxed child never started"
    finally:
        caller.kill()
        caller.wait()
    deadline = time.monotonic() + 5
    while alive(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(mark) == []


def descendants(root: int) -> list[int]:
    """Host pids below ``root`` (via /proc ppid links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.extend(children.get(pid, []))
        todo.extend(children.get(pid, []))
    return out


def test_on_spawn_gives_root_of_whole_tree(workdir: Path, iso: IsolationInfo) -> None:
    if not (iso.has("pidns") or iso.has("subreaper")):
        pytest.skip("needs pidns or subreaper: " + iso.unavailable.get("subreaper", ""))
    worker_mark, daemon_mark = marker(), marker()
    roots: list[int] = []
    found: list[set[str]] = []

    def on_line(line: str) -> None:
        cmdlines = set()
        for pid in descendants(roots[0]):
            try:
                cmdlines.add(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                pass
        found.append({m for m in (worker_mark, daemon_mark) if any(m in c for c in cmdlines)})

    run = run_py(f"""
        import os, sys, time  # {worker_mark}
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {daemon_mark!r}])
            os._exit(0)
        time.sleep(0.5)
        os.write(3, b"ready\\n")
        time.sleep(0.3)
    """, workdir, on_spawn=roots.append, on_control_line=on_line)
    assert run.returncode == 0, run.stderr
    assert len(roots) == 1 and found == [{worker_mark, daemon_mark}]
    assert alive(daemon_mark) == []


def test_concurrent_runs_get_distinct_uids(iso: IsolationInfo) -> None:
    need(iso, "uid")
    results: list[SandboxRun] = []
    dirs = [make_workdir("w2v-test-") for _ in range(2)]

    def one(path: Path) -> None:
        results.append(run_py("import os, time; time.sleep(0.5); print(os.getuid())", path))

    try:
        threads = [threading.Thread(target=one, args=(d,)) for d in dirs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    uids = {int(r.stdout) for r in results}
    assert len(results) == 2 and all(r.returncode == 0 for r in results)
    if iso.uid_layer == "uid:w2vsandbox":
        assert len(uids) == 2


# ------------------------------------------------------------------ control channel


def test_control_lines_and_kill(workdir: Path) -> None:
    seen: list[str] = []

    def on_line(line: str) -> str | None:
        seen.append(line)
        return "kill" if line == "case 2 started" else None

    started = time.monotonic()
    run = run_py("""
        import os, time
        fd = int(os.environ["W2V_CONTROL_FD"])
        for line in ("hello", "case 1 started", "case 1 finished", "case 2 started"):
            os.write(fd, (line + "\\n").encode())
        time.sleep(60)
    """, workdir, on_control_line=on_line, limits=SandboxLimits(wall_seconds=30.0))
    assert time.monotonic() - started < 6
    assert seen == run.control_messages == ["hello", "case 1 started", "case 1 finished",
                                            "case 2 started"]
    assert run.killed_by == "control" and not run.timed_out
    assert run.returncode is None and run.limit_hit is None


def test_control_callback_exception_propagates_and_cleans_up(workdir: Path) -> None:
    mark = marker()

    def boom(line: str) -> None:
        raise RuntimeError(line)

    with pytest.raises(RuntimeError, match="ping"):
        run_py(f"""
            import os, time  # {mark}
            os.write(3, b"ping\\n")
            time.sleep(60)
        """, workdir, on_control_line=boom)
    assert alive(mark) == []


def test_idle_timeout(workdir: Path) -> None:
    run = run_py("""
        import os, time
        for _ in range(3):
            os.write(3, b"beat\\n")
            time.sleep(0.3)
        time.sleep(60)
    """, workdir, limits=SandboxLimits(wall_seconds=30.0, idle_seconds=1.5))
    assert run.timed_out and run.killed_by == "idle" and run.limit_hit == "wall_time"
    assert run.control_messages == ["beat"] * 3
    assert run.wall_seconds < 8


def test_idle_cpu_limit_stops_a_busy_call_but_not_a_waiting_one(workdir: Path) -> None:
    """The per-call CPU limit counts the tree's CPU since the last control line, never wall time."""
    busy = run_py("""
        import os
        os.write(3, b"start\\n")
        while True:
            pass
    """, workdir, limits=SandboxLimits(wall_seconds=60.0, idle_seconds=50.0, idle_cpu_seconds=1.0))
    assert busy.timed_out and busy.killed_by == "idle"
    assert busy.wall_seconds < 30, "stopped by the CPU limit, long before the wall/idle limits"
    waiting = run_py("""
        import os, time
        os.write(3, b"start\\n")
        time.sleep(3)  # 3 s of wall time, almost no CPU: what a call looks like on an overloaded machine
        os.write(3, b"done\\n")
    """, workdir, limits=SandboxLimits(wall_seconds=60.0, idle_seconds=50.0, idle_cpu_seconds=1.0))
    assert waiting.returncode == 0 and not waiting.timed_out
    assert waiting.control_messages == ["start", "done"]


def test_control_bytes_capped(workdir: Path) -> None:
    run = run_py("""
        import os
        for i in range(5000):
            os.write(3, b"x" * 100 + b"\\n")
    """, workdir, limits=SandboxLimits(wall_seconds=20.0, control_bytes=10_000))
    assert run.returncode == 0 and run.control_truncated
    assert sum(len(m) + 1 for m in run.control_messages) <= 10_000


# ------------------------------------------------------------------ CPU accounting


def test_cpu_time_is_measured_by_the_kernel(workdir: Path) -> None:
    burn = run_py("""
        import time
        t = time.process_time()
        while time.process_time() - t < 0.5:
            pass
        time.process_time = lambda: 0.0  # lying clocks do not matter
    """, workdir)
    sleep = run_py("import time; time.sleep(0.5)", workdir)
    assert burn.returncode == 0 and sleep.returncode == 0
    assert burn.cpu_seconds >= 0.4
    # sleeping costs nothing: what remains is interpreter start-up (~0.1 s, more on a loaded machine)
    assert sleep.cpu_seconds < 0.35 and sleep.wall_seconds >= 0.5
    assert burn.cpu_seconds - sleep.cpu_seconds >= 0.3


def test_cpu_of_reaped_child_counts(workdir: Path) -> None:
    run = run_py("""
        import os, time
        pid = os.fork()
        if pid == 0:
            t = time.process_time()
            while time.process_time() - t < 0.5:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
    """, workdir)
    assert run.returncode == 0 and run.cpu_seconds >= 0.4


def test_cpu_of_lingering_orphan_counts(workdir: Path, iso: IsolationInfo) -> None:
    """An orphan that burns CPU and then idles past the worker's exit is still counted."""
    need(iso, "pidns")
    run = run_py("""
        import os, time
        r, w = os.pipe()
        if os.fork() == 0:
            if os.fork() == 0:
                t = time.process_time()
                while time.process_time() - t < 0.5:
                    pass
                os.write(w, b"x")
                time.sleep(60)
            os._exit(0)
        os.read(r, 1)  # the orphan has burnt its CPU and now idles
    """, workdir)
    assert run.returncode == 0 and run.cpu_seconds >= 0.4


# ------------------------------------------------------------------ isolation layers


def test_network_is_unreachable(workdir: Path, iso: IsolationInfo) -> None:
    need(iso, "netns")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        run = run_py(f"""
            import socket
            s = socket.socket()
            s.settimeout(3)
            try:
                s.connect(("127.0.0.1", {port}))
                print("CONNECTED")
            except OSError as exc:
                print("BLOCKED", exc.errno)
        """, workdir)
    assert run.stdout.startswith("BLOCKED"), run.stdout + run.stderr


def test_dedicated_uid_cannot_read_private_file(workdir: Path, iso: IsolationInfo,
                                                visible_dir: Path) -> None:
    need(iso, "uid")
    secret, public, locked = (visible_dir / n for n in ("secret", "public", "locked"))
    for path, mode in ((secret, 0o600), (public, 0o644), (locked, 0o644)):
        path.write_text(path.name)
        path.chmod(mode)
    assert ensure_unreadable([locked]) == [locked]
    # the uid layer alone (mountns now masks /var: it would hide all three files)
    without_mounts = IsolationInfo([x for x in iso.layers if x != "mountns"], {}, iso.uid, iso.gid)
    run = run_py(f"""
        import os
        for path in ({str(secret)!r}, {str(public)!r}, {str(locked)!r}):
            try:
                print(open(path).read())
            except PermissionError:
                print("DENIED")
        print(os.getuid())
    """, workdir, python="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else PY, isolation=without_mounts)
    assert run.stdout.split()[:3] == ["DENIED", "public", "DENIED"], run.stderr
    assert int(run.stdout.split()[3]) != 0


def test_readable_paths_are_made_readable(workdir: Path, iso: IsolationInfo,
                                          visible_dir: Path) -> None:
    need(iso, "uid")
    private = visible_dir / "runner"
    private.mkdir(mode=0o700)
    (private / "mod.py").write_text("VALUE = 42\n")
    (private / "mod.py").chmod(0o600)
    run = run_py(f"""
        import sys
        sys.path.insert(0, {str(private)!r})
        import mod
        print(mod.VALUE)
    """, workdir, readable_paths=[private])
    assert run.stdout.strip() == "42", run.stderr


def test_workdir_belongs_to_sandbox(workdir: Path, iso: IsolationInfo) -> None:
    need(iso, "uid")
    run = run_py("open('out.txt', 'w').write('x'); import tempfile; print(tempfile.gettempdir())",
                 workdir)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(workdir / ".tmp")
    assert (workdir / "out.txt").stat().st_uid not in (0, os.getuid())


def test_mount_namespace_hides_paths(workdir: Path, iso: IsolationInfo,
                                     visible_dir: Path) -> None:
    need(iso, "mountns")
    hidden = visible_dir / "reference"
    hidden.mkdir()
    (hidden / "solution.py").write_text("SECRET")
    (hidden / "solution.py").chmod(0o644)
    allowed = hidden / "runner"
    allowed.mkdir()
    (allowed / "ok.txt").write_text("ok")
    run = run_py(f"""
        import os
        print(os.path.exists({str(hidden / "solution.py")!r}))
        print(open({str(allowed / "ok.txt")!r}).read())
        print(sum(p.isdigit() for p in os.listdir("/proc")))
        print(os.path.exists("/root/.bashrc"))
    """, workdir, hide_paths=[hidden], readable_paths=[allowed])
    hidden_seen, ok, nprocs, root_seen = run.stdout.split()
    assert (hidden_seen, ok, root_seen) == ("False", "ok", "False"), run.stderr
    assert int(nprocs) <= 3
    assert str(hidden) not in Path("/proc/self/mountinfo").read_text()


def test_unsearchable_workdir_parent_is_bridged(tmp_path: Path, iso: IsolationInfo) -> None:
    """pytest's 0700 tmp dirs: mountns re-exposes the workdir without loosening permissions."""
    need(iso, "uid")
    need(iso, "mountns")
    workdir = tmp_path / "w"
    workdir.mkdir()
    (workdir / "data.txt").write_text("payload")
    before = tmp_path.parent.stat().st_mode
    run = run_py(f"print(open({str(workdir / 'data.txt')!r}).read())", workdir)
    assert run.stdout.strip() == "payload", run.stderr
    assert tmp_path.parent.stat().st_mode == before


def test_isolation_subset_is_validated(workdir: Path) -> None:
    with pytest.raises(ValueError):
        run_sandboxed([PY, "-c", "0"], workdir, SandboxLimits(),
                      isolation=IsolationInfo(layers=["no-such-layer"], unavailable={}))


def test_detect_isolation_reports_every_layer(iso: IsolationInfo) -> None:
    for layer in ("pidns", "mountns", "netns", "no_new_privs"):
        assert layer in iso.layers or layer in iso.unavailable
    assert iso.has("uid") or "uid" in iso.unavailable
    assert detect_isolation() == iso  # cached, and a copy
    assert detect_isolation() is not detect_isolation()


def test_one_child_probe_finds_the_same_layers_as_layer_by_layer_probes(monkeypatch: pytest.MonkeyPatch,
                                                                          iso: IsolationInfo) -> None:
    """The fast path (one child checks pidns..no_new_privs at once) must not change what is detected."""
    from grader.sandbox import DISABLE_ENV, probes

    fast = probes._probe_all()
    monkeypatch.setenv(DISABLE_ENV, "no-such-layer")  # any entry forces the one-by-one probes
    slow = probes._probe_all()
    assert fast.layers == slow.layers == iso.layers
    assert (fast.uid, fast.gid) == (slow.uid, slow.gid)


def test_a_platform_without_cgroups_says_why_on_both_probe_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """(Docker without a writable cgroup hierarchy, say.)  The reason is reported, the other layers stay."""
    from grader.sandbox import DISABLE_ENV, cgroups, probes

    monkeypatch.setattr(cgroups, "unavailable_reason", lambda: "no cgroups on this test platform")
    fast = probes._probe_all()
    monkeypatch.setenv(DISABLE_ENV, "no-such-layer")
    slow = probes._probe_all()
    for info in (fast, slow):
        assert "cgroup" not in info.layers
        assert info.unavailable.get("cgroup") == "no cgroups on this test platform"
    assert fast.layers == slow.layers
