"""Durable background work: Django's Tasks API (the django-tasks backport), stored in this database by
django-tasks-db and run by `manage.py task_worker`.

Why a table in our own database: a task row written inside the transaction of the change it belongs to
commits or rolls back with it. An email for a registration that rolled back is never sent, and one for a
registration that committed can never be lost between the commit and the queue.

What the worker here adds to django-tasks-db's own `db_worker` (which has neither):
- retries: a task that raises RetryLater (a throttled or unreachable provider) runs again later, with
  exponential backoff, until TASK_MAX_ATTEMPTS; anything else, or the last attempt, ends FAILED and stays
  in the admin, where an operator can queue it again (`retry_failed`);
- recovery: a task whose worker died mid-way (killed, machine lost) stays RUNNING; once its lease
  (TASK_LEASE) has passed, any worker runs it again. A task therefore runs at least once: it is sent
  twice only if a worker dies after the provider accepted it and before the row was marked done.
"""
from datetime import timedelta
import logging
import random
import signal
import time
from traceback import format_exception

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, transaction
from django.utils import timezone
from django_tasks import TaskContext
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from .conf import app_settings

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
        self.running = True

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
                self.reclaim_abandoned()
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
                time.sleep(self.interval)

    def stop_on_signals(self) -> None:
        def stop(signum, frame):
            logger.info("Task worker %s: %s, stopping after the current task",
                        self.worker_id, signal.strsignal(signum))
            self.running = False
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
                self._retry_later(result, error, attempts)
            else:
                logger.error("Task %s (%s) failed after %s attempts: %s", result.id, result.task_path, attempts, error)
                result.set_failed(error)
        except Exception as error:
            logger.error("Task %s (%s) failed: %s", result.id, result.task_path, type(error).__name__)
            result.set_failed(error)
        else:
            result.set_successful(value)

    def _retry_later(self, result: DBTaskResult, error: RetryLater, attempts: int) -> None:
        delay = retry_delay(attempts)
        logger.warning("Task %s (%s) attempt %s failed (%s); next attempt in %.0f s",
                       result.id, result.task_path, attempts, error, delay.total_seconds())
        # The error stays on the row (shown in the admin) until the task succeeds or fails for good.
        result.status = TaskResultStatus.READY
        result.run_after = timezone.now() + delay
        result.exception_class_path = f"{type(error).__module__}.{type(error).__qualname__}"
        result.traceback = "".join(format_exception(error))
        result.save(update_fields=["status", "run_after", "exception_class_path", "traceback"])

    # --- recovery -----------------------------------------------------------------------------------
    def reclaim_abandoned(self) -> int:
        """Tasks RUNNING for longer than TASK_LEASE belong to a worker that died: make them ready again.
        The attempt their dead worker made still counts (it is in worker_ids)."""
        expired = timezone.now() - app_settings.TASK_LEASE
        return self._make_ready(DBTaskResult.objects.running().filter(started_at__lt=expired))

    def reclaim_own_tasks(self) -> int:
        """At start: a task still RUNNING under this worker's id was left by its previous life (a restart
        keeps the id, `--worker-id`); no one is running it, so it need not wait for the lease."""
        mine = [result.pk for result in DBTaskResult.objects.running().only("pk", "worker_ids")
                if result.worker_ids and result.worker_ids[-1] == self.worker_id]
        return self._make_ready(DBTaskResult.objects.running().filter(pk__in=mine)) if mine else 0

    def _make_ready(self, results) -> int:
        count = results.update(status=TaskResultStatus.READY, run_after=timezone.now())
        if count:
            logger.warning("Task worker %s: %s abandoned task(s) queued again", self.worker_id, count)
        return count
