"""The benchmark's machine-time accounting (bench/run.py, CpuMeter), against real processes: what a service's
process group spends is counted as that service's, a process that ends during a round is still counted when the
round says so, and what the benchmark waited for counts as load."""
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from django.db import connection
import psycopg
import pytest

# A child that waits for a line on its input, burns CPU, reports how much it used in all, then stays as told.
BURN = """
import sys, time
sys.stdin.readline()
end = time.process_time() + float(sys.argv[1])
while time.process_time() < end:
    pass
print(time.process_time(), flush=True)
time.sleep(float(sys.argv[2]))
"""


def burner(cpu_seconds: float, then_sleep: float) -> subprocess.Popen:
    """A process in a group of its own (as the benchmark starts its servers)."""
    return subprocess.Popen([sys.executable, "-c", BURN, str(cpu_seconds), str(then_sleep)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)


def burn_and_report(process: subprocess.Popen) -> float:
    """Starts the burning (after the meter's start, whenever the child's own start-up ran) and returns the CPU the
    child used in all, its start-up included."""
    process.stdin.write("go\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def test_a_services_process_group_is_counted_as_that_service(bench_run):
    process = burner(0.4, 30)
    try:
        meter = bench_run.CpuMeter(bench_run.Databases("postgres://unused"), {process.pid: "server"})
        start = meter.start()
        used = burn_and_report(process)  # the burning is done, the process still alive
        _other, by_owner = meter.finish(start)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    # The child's start-up (before the meter's start) is in `used` but not in the round; clock ticks are 10 ms.
    assert used - 0.2 < by_owner["server"] <= used + 0.03
    assert by_owner["server"] > 0.2


def test_what_the_benchmark_waited_for_counts_as_load(bench_run):
    meter = bench_run.CpuMeter(bench_run.Databases("postgres://unused"), {})
    start = meter.start()
    process = burner(0.3, 0)
    used = burn_and_report(process)
    process.wait()  # reaped: its CPU is now the benchmark's children's (as wrk's is)
    _other, by_owner = meter.finish(start)

    assert by_owner["load"] >= used - 0.03
    assert set(by_owner) == {"load"}


def cpu_seconds_of(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.postgres
@pytest.mark.django_db  # settings_dict names the test database
@pytest.mark.parametrize("sampled", [True, False])
def test_a_backend_that_ends_during_the_round_is_counted_only_when_the_round_samples(bench_run, sampled):
    """The purge's PostgreSQL backend ends before its round does and takes its CPU count with it; a round
    started with processes_end samples every second and keeps the last count of each."""
    settings_dict = connection.settings_dict
    server = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}"
    databases = bench_run.Databases(f"{server}/postgres")
    databases.created = [settings_dict["NAME"]]  # the test database's backends are the benchmark's
    meter = bench_run.CpuMeter(databases, {})

    start = meter.start(processes_end=sampled)
    with psycopg.connect(f"{server}/{settings_dict['NAME']}") as other:
        backend = other.info.backend_pid
        other.execute("SELECT count(*) FROM generate_series(1, 3000000)")  # a few tenths of a second of CPU
        time.sleep(1.5)  # past a sample
        spent = cpu_seconds_of(backend)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{backend}").exists() and time.monotonic() < deadline:  # the backend ends
        time.sleep(0.01)
    _other, by_owner = meter.finish(start)

    assert spent > 0.1
    if sampled:
        # (with the test's own idle connection, and an autovacuum worker's visit if one came)
        assert spent - 0.03 <= by_owner["postgres"] <= spent + 0.15
    else:
        assert by_owner.get("postgres", 0) < spent / 4


def requested_checkpoints(server: str) -> int:
    """How many checkpoints were asked for since the statistics were reset (PostgreSQL 17 moved the count)."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        moved = admin.execute("SELECT to_regclass('pg_catalog.pg_stat_checkpointer')").fetchone()[0]
        query = ("SELECT num_requested FROM pg_stat_checkpointer" if moved
                 else "SELECT checkpoints_req FROM pg_stat_bgwriter")
        return admin.execute(query).fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_benchmarks_checkpoint_asks_postgresql_for_one(bench_run):
    """Databases.checkpoint (measure() calls it before each timed run)."""
    settings_dict = connection.settings_dict
    server = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}"
    before = requested_checkpoints(server)

    bench_run.Databases(f"{server}/postgres").checkpoint()

    deadline = time.monotonic() + 2  # the checkpointer counts it after it lets the waiting backend go
    while requested_checkpoints(server) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert requested_checkpoints(server) > before
