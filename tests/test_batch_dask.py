"""The same batch on a Dask distributed cluster (a LocalCluster of 2 worker processes on loopback)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from test_batch_support import NO_SPEED_RUBRIC, have_submissions, make_gradescope_export, run_cli, write_rubric

distributed = pytest.importorskip("distributed")

STUDENTS = [("reference", "Ada Lovelace", "1000001", "ada@example.edu"),
            ("bug_sign_error", "Alan Turing", "1000002", "alan@example.edu")]

pytestmark = pytest.mark.skipif(not have_submissions("bug_sign_error"), reason="needs submissions/bug_sign_error")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


def test_batch_on_a_dask_cluster_matches_local(tmp_path: Path, cluster) -> None:
    export = make_gradescope_export(tmp_path / "in", students=STUDENTS)
    rubric = write_rubric(tmp_path, NO_SPEED_RUBRIC)
    dask_out, local_out = tmp_path / "dask", tmp_path / "local"
    proc = run_cli("batch", export, "--out", dask_out, "--rubric", rubric, "--scheduler", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dask tcp://127.0.0.1" in proc.stdout and "graded 2" in proc.stdout
    records = [json.loads(line) for line in (dask_out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2
    worker_pids = {int(r["worker"].rsplit(":", 1)[1]) for r in records}
    with distributed.Client(cluster) as client:
        cluster_pids = set(client.run(os.getpid).values())
    assert worker_pids <= cluster_pids, "graded inside the Dask worker processes"
    # Shipped as bytes, the submission root is still the export-relative folder name.
    assert sorted(r["result"]["submission"]["root"] for r in records) == ["submission_2000001", "submission_2000002"]

    proc = run_cli("batch", export, "--out", local_out, "--rubric", rubric, "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (dask_out / "grades.csv").read_text() == (local_out / "grades.csv").read_text()
    rows = list(csv.DictReader((dask_out / "grades.csv").open()))
    assert float(rows[0]["total"]) == 3.0 and float(rows[1]["total"]) < 3.0
    for record in records:
        assert (dask_out / record["key"] / "report.html").exists()
        assert (dask_out / record["key"] / "results.json").exists()
    assert (dask_out / "index.html").exists()


def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    export = make_gradescope_export(tmp_path / "in", students=STUDENTS[:1])
    proc = run_cli("batch", export, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9",
                   "--connect-timeout", "2", timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot reach the Dask scheduler" in proc.stderr
