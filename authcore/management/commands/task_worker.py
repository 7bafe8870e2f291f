"""`manage.py task_worker`: run the queued background tasks (the account emails). See authcore/tasks.py."""
import os
import socket

from django.core.management.base import BaseCommand, CommandError

from authcore.tasks import Worker


class Command(BaseCommand):
    help = ("Run queued background tasks (emails) with retries and recovery of tasks whose worker died. "
            "Run one or more next to the web processes; stop with SIGTERM (the current task is finished).")

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="append", dest="queues",
                            help="Only this queue (repeatable). Default: every queue.")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds to wait when no task is ready (default 1).")
        parser.add_argument("--worker-id",
                            help="Unique across running workers; keep it across restarts (a systemd instance "
                                 "name, a pod name) and a restarted worker at once re-runs the task it was "
                                 "killed in. Default: host name and process id.")
        parser.add_argument("--until-idle", action="store_true",
                            help="Exit once no task is ready (a cron job, a test).")

    def handle(self, *, queues, interval, worker_id, until_idle, **options):
        if not 0 < interval <= 3600:
            raise CommandError("--interval must be between 0 and 3600 seconds.")
        if worker_id is None:  # not a parser default: the reference page shows the defaults, the same everywhere
            worker_id = f"{socket.gethostname()}-{os.getpid()}"
        if not worker_id or len(worker_id) > 64:
            raise CommandError("--worker-id must be 1 to 64 characters.")
        worker = Worker(worker_id=worker_id, queues=queues, interval=interval)
        worker.stop_on_signals()
        self.stdout.write(f"Task worker {worker_id} started", self.style.SUCCESS)
        worker.run(until_idle=until_idle)
