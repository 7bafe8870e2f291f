"""The task worker as operators run it: `manage.py task_worker` processes on the PostgreSQL test database,
sending through django-ses to SES emulated on loopback. A worker killed in the middle of a send loses
nothing; SIGTERM lets the current send finish; two workers send each email once."""
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

from django.db import connection
from django_tasks_db.models import DBTaskResult
import pytest

from accounts import emails
from config.tests.servers import ROOT, project_env

from .ses_emulator import SESEmulator

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ses(settings):
    emulator = SESEmulator()
    emulator.verify_sender(settings.DEFAULT_FROM_EMAIL)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    yield emulator
    emulator.stop()


class WorkerProcess:
    def __init__(self, ses: SESEmulator, worker_id: str, *args: str) -> None:
        db = connection.settings_dict
        env = project_env(
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            EMAIL_BACKEND="django_ses.SESBackend", AWS_SES_REGION_ENDPOINT_URL=ses.url,
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SES_AUTO_THROTTLE="0",
            PYTHONUNBUFFERED="1",  # "started" is in the log as soon as it is written
            DEFAULT_FROM_EMAIL=os.environ.get("DEFAULT_FROM_EMAIL", "Auth Service <no-reply@example.com>"))
        log, self.log_path = tempfile.mkstemp(suffix=".log")  # a file, not a pipe: it never fills up and blocks
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "task_worker", "--worker-id", worker_id, "--interval", "0.05", *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        os.close(log)
        wait_until(lambda: f"Task worker {worker_id} started" in self.output() or self.process.poll() is not None)
        assert self.process.poll() is None or "--until-idle" in args, self.output()

    def output(self) -> str:
        return Path(self.log_path).read_text()

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        Path(self.log_path).unlink(missing_ok=True)


@pytest.fixture
def start_worker(ses):
    """Start `manage.py task_worker` processes; any still running at the end are killed."""
    started = []

    def start(worker_id: str, *args: str) -> WorkerProcess:
        started.append(WorkerProcess(ses, worker_id, *args))
        return started[-1]

    yield start
    for worker in started:
        worker.cleanup()


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_killed_in_the_middle_of_a_send_loses_nothing(ses, start_worker, user):
    ses.fail("stall")  # the send hangs: the worker is in the middle of it
    emails.queue_email(user=user, template="welcome")
    worker = start_worker("worker-1")
    assert ses.stalled.wait(30)
    worker.kill()  # SIGKILL: no chance to record anything
    task = DBTaskResult.objects.get()
    assert task.status == "RUNNING" and ses.messages == []
    ses.fail(None)
    ses.unstall.set()

    # Restarted under its id (as a supervisor would), it runs the task at once; nothing was lost.
    restarted = start_worker("worker-1", "--until-idle")
    assert restarted.wait() == 0
    task.refresh_from_db()
    assert (task.status, task.worker_ids) == ("SUCCESSFUL", ["worker-1", "worker-1"])
    assert ses.recipients() == ["alice@example.com"]


def test_sigterm_lets_the_current_send_finish_then_stops(ses, start_worker, user):
    ses.fail("hold", times=1)
    emails.queue_email(user=user, template="welcome")
    worker = start_worker("worker-1")
    assert ses.stalled.wait(30)
    worker.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert worker.process.poll() is None  # still finishing its send
    ses.unstall.set()
    assert worker.wait() == 0
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert ses.recipients() == ["alice@example.com"]


def test_two_workers_send_each_email_once(ses, start_worker, make_user):
    ses.send_delay = 0.05  # each send takes a while, so the two workers overlap
    workers = [start_worker(f"worker-{n}") for n in (1, 2)]
    users = [make_user(f"user{n:02}@example.com", password=None) for n in range(30)]
    for user in users:
        emails.queue_email(user=user, template="welcome")

    wait_until(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == len(users), timeout=60)
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
        assert worker.wait() == 0

    assert ses.recipients() == sorted(user.email for user in users)  # every one, each exactly once
    runs = list(DBTaskResult.objects.values_list("worker_ids", flat=True))
    assert all(len(worker_ids) == 1 for worker_ids in runs)
    assert {worker_ids[0] for worker_ids in runs} == {"worker-1", "worker-2"}  # both took part
