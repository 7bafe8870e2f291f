"""Durable background work: Django's Tasks API (built into Django from 6.0, the django-tasks backport before),
stored in this database by django-tasks-db and run by `manage.py task_worker`.

Why a table in our own database: a task row written inside the transaction of the change it belongs to
commits or rolls back with it. An email for a registration that rolled back is never sent, and one for a
registration that committed can never be lost between the commit and the queue.

What the worker here adds to django-tasks-db's own `db_worker` (which has neither):
- retries: a task that raises RetryLater (a throttled or unreachable provider) runs again later, with
  exponential backoff, until TASK_MAX_ATTEMPTS; anything else, or the last attempt, ends FAILED and stays
  in the admin, where an operator can queue it again (`retry_failed`);
- recovery: a task whose worker died mid-way (killed, machine lost) stays RUNNING; once its lease
  (TASK_LEASE) has passed, any worker runs it again (a worker restarted under its id, at once).

A task therefore runs at least once. It runs twice only when its first run's end was not recorded: the
worker died (or lost the database for half a lease) after the provider accepted the email, or the run
took longer than the lease. Every outcome is written only if the task is still the writer's run (RUNNING
since its claim), so a late run never overwrites the run that took over from it.
"""
from datetime import timedelta
import logging
import random
import signal
import threading
import time
from traceback import format_exception

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, transaction
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from .conf import app_settings

# The Tasks API is Django's own from Django 6.0 (django.tasks); before, the django-tasks backport provides the
# same API as django_tasks. django-tasks-db makes the same choice, so its backend and these tasks always agree.
try:
    from django.tasks import TaskContext, task  # noqa: F401 (for the apps' task definitions)
    from django.tasks.base import Task, TaskResultStatus
    from django.utils.json import normalize_json

    TASKS_API = "django.tasks"
except ImportError:
    from django_tasks import TaskContext, task  # noqa: F401
    from django_tasks.base import Task, TaskResultStatus
    from django_tasks.utils import normalize_json

    TASKS_API = "django_tasks"

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by a task whose failure is temporary: run it again after a backoff delay."""


def enqueue_with_transaction(task: Task, *args, **kwargs) -> None:
    """Queue `task` as part of the current transaction.

    With the database backend the task's row is written now, in the caller's transaction, so it exists
    exactly when the change it belongs to does. A backend that stores tasks elsewhere (the test suite's
    immediate backend, a broker) cannot join the transaction: it gets the task once the transaction
    commits, so it never acts on work that was rolled back."""
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs))


def retry_delay(attempt: int) -> timedelta:
    """The wait before attempt `attempt + 1`: TASK_RETRY_DELAY doubled per attempt, capped at
    TASK_RETRY_MAX_DELAY, then drawn from its upper half so workers that failed together (a provider
    outage) do not all come back at the same instant."""
    base = app_settings.TASK_RETRY_DELAY.total_seconds()
    ceiling = min(base * 2 ** (attempt - 1), app_settings.TASK_RETRY_MAX_DELAY.total_seconds())
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 (jitter, not a secret)


def retry_failed(results) -> int:
    """Queue failed tasks again, at once and with a fresh attempt budget (the admin's "retry" action).
    Returns how many were queued; tasks that are not FAILED are left alone."""
    return results.filter(status=TaskResultStatus.FAILED).update(
        status=TaskResultStatus.READY, run_after=timezone.now(), worker_ids=[], finished_at=None)


class Worker:
    """Claims ready tasks one at a time (SELECT ... FOR UPDATE SKIP LOCKED, so workers never share one),
    runs each, and records the outcome. Stops after the current task on SIGTERM or SIGINT."""

    def __init__(self, *, worker_id: str, queues: list[str] | None = None, interval: float = 1.0) -> None:
        self.worker_id = worker_id
        self.queues = queues  # None: every queue
        self.interval = interval
        self.stopping = threading.Event()
        self._next_reclaim = 0.0  # monotonic time of the next look for abandoned tasks

    @property
    def running(self) -> bool:
        return not self.stopping.is_set()

    # --- the loop -----------------------------------------------------------------------------------
    def run(self, *, until_idle: bool = False) -> None:
        """Work until stopped, or (until_idle) until no task is ready."""
        reclaimed_own = False
        while self.running:
            try:
                close_old_connections()
                if not reclaimed_own:
                    self.reclaim_own_tasks()
                    reclaimed_own = True
                if time.monotonic() >= self._next_reclaim:
                    self.reclaim_abandoned()
                    # A lease is minutes long: looking a few times per lease is often enough.
                    self._next_reclaim = time.monotonic() + app_settings.TASK_LEASE.total_seconds() / 10
                ran = self.run_next()
            except DatabaseError:
                # The database is away: nothing can be claimed or recorded. Wait and try again; a task
                # claimed before the outage is recovered through its lease.
                logger.warning("Task worker %s: database unavailable, retrying", self.worker_id, exc_info=True)
                close_old_connections()
                ran = False
                if until_idle:
                    raise
            if not ran:
                if until_idle:
                    return
                self.stopping.wait(self.interval)  # a signal ends the wait at once

    def stop_on_signals(self) -> None:
        def stop(signum, frame):
            logger.info("Task worker %s: %s, stopping after the current task",
                        self.worker_id, signal.strsignal(signum))
            self.stopping.set()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)

    def _ready(self):
        ready = DBTaskResult.objects.ready()
        return ready if self.queues is None else ready.filter(queue_name__in=self.queues)

    def run_next(self) -> bool:
        """Claim the next ready task and run it. False if there was none."""
        with exclusive_transaction(DBTaskResult.objects.db):
            result = self._ready().get_locked()
            if result is None:
                return False
            result.claim(self.worker_id)  # RUNNING, committed before the task starts
        self.run_task(result)
        return True

    def run_task(self, result: DBTaskResult) -> None:
        try:
            task = result.task
            task_result = result.task_result
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs)
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
        # A lost database connection is as temporary as a throttled provider.
        except (RetryLater, OperationalError, InterfaceError) as error:
            attempts = len(result.worker_ids)
            if attempts < app_settings.TASK_MAX_ATTEMPTS:
                delay = retry_delay(attempts)
                logger.warning("Task %s (%s) attempt %s failed (%s); next attempt in %.0f s",
                               result.id, result.task_path, attempts, error, delay.total_seconds())
                # The error stays on the task (shown in the admin) until it succeeds or fails for good.
                self.record(result, status=TaskResultStatus.READY, run_after=timezone.now() + delay,
                            **_error_fields(error))
            else:
                logger.error("Task %s (%s) failed after %s attempts: %s", result.id, result.task_path, attempts, error)
                self.record(result, status=TaskResultStatus.FAILED, finished_at=timezone.now(), **_error_fields(error))
        except Exception as error:
            logger.error("Task %s (%s) failed: %s", result.id, result.task_path, type(error).__name__)
            self.record(result, status=TaskResultStatus.FAILED, finished_at=timezone.now(), **_error_fields(error))
        else:
            self.record(result, status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now(),
                        return_value=normalize_json(value), exception_class_path="", traceback="")

    def record(self, result: DBTaskResult, **fields) -> bool:
        """Write the outcome of this worker's run of `result`, only if the task is still this run's: RUNNING
        since this worker claimed it. A run that outlived its lease was taken over by another worker, whose
        outcome must not be overwritten. The database may be away for a moment: keep trying for a part of
        the lease (after that the task is recovered, and run again, through the lease)."""
        deadline = time.monotonic() + app_settings.TASK_LEASE.total_seconds() / 2
        while True:
            try:
                updated = DBTaskResult.objects.filter(
                    pk=result.pk, status=TaskResultStatus.RUNNING, started_at=result.started_at).update(**fields)
                break
            except DatabaseError:
                if time.monotonic() >= deadline:
                    raise
                logger.warning("Task %s: could not record its outcome yet, retrying", result.id, exc_info=True)
                close_old_connections()
                time.sleep(1)
        if not updated:
            logger.warning("Task %s outlived its lease and was taken over; this run's outcome (%s) is dropped",
                           result.id, fields["status"])
        return bool(updated)

    # --- recovery -----------------------------------------------------------------------------------
    def reclaim_abandoned(self) -> int:
        """Tasks RUNNING for longer than TASK_LEASE belong to a worker that died (or stalled): run them
        again. The attempt their worker made still counts (it is in worker_ids). Workers' clocks are taken
        to agree within seconds (NTP); the lease is minutes."""
        expired = timezone.now() - app_settings.TASK_LEASE
        return self._take_over(DBTaskResult.objects.running().filter(started_at__lt=expired))

    def reclaim_own_tasks(self) -> int:
        """At start: a task still RUNNING under this worker's id was left by its previous life (a restart
        keeps the id, `--worker-id`); no one is running it, so it need not wait for the lease. (Hence ids
        must be unique among running workers.)"""
        mine = [result.pk for result in DBTaskResult.objects.running().only("pk", "worker_ids")
                if result.worker_ids and result.worker_ids[-1] == self.worker_id]
        return self._take_over(DBTaskResult.objects.running().filter(pk__in=mine)) if mine else 0

    def _take_over(self, candidates) -> int:
        # Conditional on the claim seen (status and started_at), like every outcome write, so a worker
        # that finishes at this very moment keeps its result.
        count = 0
        for result in candidates.only("pk", "started_at", "worker_ids"):
            if len(result.worker_ids) >= app_settings.TASK_MAX_ATTEMPTS:
                # A task that keeps losing its worker (one that crashes it, say) must not run for ever.
                fields = {"status": TaskResultStatus.FAILED, "finished_at": timezone.now(),
                          "exception_class_path": "authcore.tasks.WorkerLost",
                          "traceback": f"The worker running it was lost on each of {len(result.worker_ids)} attempts."}
            else:
                fields = {"status": TaskResultStatus.READY, "run_after": timezone.now()}
            count += DBTaskResult.objects.filter(
                pk=result.pk, status=TaskResultStatus.RUNNING, started_at=result.started_at).update(**fields)
        if count:
            logger.warning("Task worker %s: %s abandoned task(s) taken over", self.worker_id, count)
        return count


def _error_fields(error: BaseException) -> dict:
    return {"exception_class_path": f"{type(error).__module__}.{type(error).__qualname__}",
            "traceback": "".join(format_exception(error))}
