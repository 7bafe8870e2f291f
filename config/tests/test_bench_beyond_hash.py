"""The benchmark's login target on what a login does beyond its password check (bench/run.py, beyond_the_hash and
the `beyond_hash` target; bench/project_tasks.py hash-cost): the check is timed alone, for real, and never on a
refusal, and the target passes only under a fifth of the check."""
import json
import os
import subprocess
import sys

from argon2 import PasswordHasher

from config.dev_env import development_env

from .servers import ROOT

PASSWORD = "bench-correct-horse-battery-staple"


def hash_cost(tmp_path, password_hash: str, password: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / ".env"
    env_file.write_text(development_env())
    env = {key: value for key, value in os.environ.items()
           if key not in ("DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY", "JWT_SIGNING_KEYS", "DJANGO_SETTINGS_MODULE",
                          "DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "project_tasks.py"), "ours", "hash-cost",
                           "--hash", password_hash, "--password", password, "--verifies", "2", "--processes", "2"],
                          env={**env, "ENV_FILE": str(env_file)}, capture_output=True, text=True, timeout=120)


def test_the_check_is_timed_in_each_process_and_never_on_a_refusal(tmp_path):
    # The project's Argon2id parameters, in Django's encoding: what the benchmark's seeded users hold.
    password_hash = "argon2" + PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)

    timed = hash_cost(tmp_path, password_hash, PASSWORD)
    assert timed.returncode == 0, timed.stderr
    measured = json.loads(timed.stdout)
    assert measured["verifies"] == 4 and measured["processes"] == 2 and measured["us"] > 0

    # A wrong password could be refused faster than checked: the task stops rather than time that.
    refused = hash_cost(tmp_path, password_hash, "not the password")
    assert refused.returncode != 0 and "does not match" in refused.stderr


def login_run(round_index, *, server, postgres, hash_us, errors=0):
    return {"round": round_index, "requests": 800, "errors": errors, "duration_us": 10_000_000, "rps": 80.0,
            "other_cpu_percent": 0, "latency_histogram": [], "hash_us": hash_us,
            "cpu_us_per_request": {"server": server, "postgres": postgres, "load": 240}}


def test_beyond_the_hash_is_the_servers_and_postgresqls_time_less_the_check(bench_run):
    runs = [login_run(0, server=21_000, postgres=1_000, hash_us=19_000),
            login_run(1, server=22_500, postgres=1_100, hash_us=19_600),
            login_run(2, server=20_500, postgres=900, hash_us=18_400)]

    beyond = bench_run.beyond_the_hash(runs)

    # Against the median of the check's timings (19,000 µs): 3,000, 4,600 and 2,400 µs beyond it.
    assert beyond["hash_us"] == 19_000 and beyond["beyond_hash_us"] == 3_000
    assert beyond["beyond_hash_share"] == 3_000 / 19_000  # unrounded: the target compares it
    assert beyond["beyond_hash_share_by_round"] == [0.158, 0.242, 0.126]
    # The load generator's time is not the service's work; a run without the check timed has no figure.
    assert bench_run.beyond_the_hash([{**runs[0], "hash_us": None}]) == {}


def verdict(bench_run, summary) -> dict:
    comparisons = ({"login": {"ours/peer": {"rps_median": 1.0, "rps_min": 0.9, "rps_max": 1.1}}} if "login" in summary
                   else {})
    [found] = [target for target in bench_run.evaluate_targets(summary, comparisons)
               if target["rule"] == "beyond_hash"]
    return found


def test_the_target_passes_under_a_fifth_of_the_check_and_fails_at_it(bench_run):
    def summary_of(share, errors=0):
        def row(share):
            return {"errors": errors, "hash_us": 20_000, "beyond_hash_us": round(20_000 * share),
                    "beyond_hash_share": share, "beyond_hash_share_by_round": [share, share + 0.01]}
        return {"login": {"ours": row(share), "peer": row(0.18)}}

    passed = verdict(bench_run, summary_of(0.15))
    assert passed["result"] == "PASS"
    assert passed["measured"] == "3000 µs beyond a 20000 µs check: median 15.0%, rounds 15.0%-16.0%; peer: 18.0%"
    assert verdict(bench_run, summary_of(0.2))["result"] == "FAIL"
    assert verdict(bench_run, summary_of(0.19996))["result"] == "PASS"  # not rounded up to the bound
    assert verdict(bench_run, summary_of(-0.05))["result"] == "INVALID (below the check)"
    assert verdict(bench_run, summary_of(0.15, errors=3))["result"] == "INVALID (errors)"
    # Only in a run with the peer (make bench), whose share says what any login pays: not in make bench-scale's.
    assert verdict(bench_run, {})["result"] == "not run"
