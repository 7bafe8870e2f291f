"""The durable email queue: each account email is a task row written in the transaction of the change it
announces, run by the task worker through django-ses and boto3 to SES (moto's server on loopback, behind
a proxy that injects SES's faults). Temporary failures are retried with backoff and lose nothing; each
email is sent once; permanent failures are kept, failed, for an operator to retry from the admin."""
from datetime import timedelta
import json
import smtplib
import time

from botocore.exceptions import ClientError, NoCredentialsError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import set_script_prefix
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
import pytest

from accounts.emails import is_temporary
from accounts.flows import deletion, email_change, passwords, registration
from accounts.models import User
from accounts.testing import login, use_email_backend
from authcore.requestmeta import ClientInfo
from authcore.tasks import Worker, retry_delay

from .helpers import link_in, plain_text, token_in
from .ses_emulator import SESEmulator

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT = ClientInfo(ip_address="203.0.113.9")
TASKS_ADMIN = "/admin/django_tasks_database/dbtaskresult/"


@pytest.fixture
def ses(settings, monkeypatch):
    """The production path: the database task backend, django-ses, and SES emulated over HTTP."""
    emulator = SESEmulator()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    use_email_backend(settings, "django_ses.SESBackend")
    settings.AWS_SES_REGION_ENDPOINT_URL = emulator.url
    settings.AWS_SES_AUTO_THROTTLE = None  # moto's send rate is 1/s: pacing would only slow the tests
    # Backoff shrunk from seconds to milliseconds so a test can wait out several retries.
    settings.AUTHCORE = {**settings.AUTHCORE, "TASK_RETRY_DELAY": timedelta(milliseconds=20),
                         "TASK_RETRY_MAX_DELAY": timedelta(milliseconds=80)}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    emulator.verify_sender(settings.DEFAULT_FROM_EMAIL)
    yield emulator
    emulator.stop()


def drain(timeout: float = 30) -> None:
    """Run the worker until no task is ready or waiting for a retry."""
    worker = Worker(worker_id="test-worker", interval=0.01)
    deadline = time.monotonic() + timeout
    while DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
        assert time.monotonic() < deadline, list(DBTaskResult.objects.values("status", "traceback"))
        worker.run(until_idle=True)
        time.sleep(0.01)


def register(email: str) -> User:
    return registration.register(email=email, password="plum tree orbit cascade", client=CLIENT).user


def test_the_email_is_queued_in_the_transaction_of_its_change(ses, api):
    with pytest.raises(RuntimeError), transaction.atomic():
        register("rolled.back@example.com")
        assert DBTaskResult.objects.count() == 1  # written with the user, inside the transaction
        raise RuntimeError("the surrounding work fails")
    assert not User.objects.exists() and not DBTaskResult.objects.exists()  # neither survives

    user = register("new@example.com")
    [task] = DBTaskResult.objects.all()
    assert task.status == "READY" and ses.messages == []  # queued; the request never waits on SES
    # No secret waits in the queue: the link is minted when the worker renders the email.
    assert task.args_kwargs["args"] == [str(user.pk), "verify_email", {}]
    assert "token" not in json.dumps(task.args_kwargs) and "http" not in json.dumps(task.args_kwargs)

    drain()
    task.refresh_from_db()
    assert (task.status, task.return_value, len(task.worker_ids)) == ("SUCCESSFUL", "sent", 1)
    [message] = ses.messages
    assert message["To"] == "new@example.com"
    assert api.post("/api/auth/verify-email/", {"token": token_in(plain_text(message))}).status_code == 200


@pytest.mark.parametrize("fault", ["throttle", "unavailable", "drop"])
def test_ses_failing_for_a_while_then_recovering_loses_nothing_and_sends_each_email_once(ses, fault):
    addresses = [f"user{i}@example.com" for i in range(4)]
    ses.fail(fault, times=7)  # the first seven sends fail; then SES recovers
    for address in addresses:
        register(address)

    drain()

    assert ses.faults_served == 7
    assert ses.recipients() == addresses  # every email arrived, and each exactly once
    tasks = list(DBTaskResult.objects.all())
    assert {task.status for task in tasks} == {"SUCCESSFUL"}
    assert sum(len(task.worker_ids) for task in tasks) == len(addresses) + 7  # one retry per failure
    assert ses.sends_seen == len(addresses) + 7


def test_a_failed_attempt_waits_an_exponential_backoff(ses, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "TASK_RETRY_DELAY": timedelta(seconds=10),
                         "TASK_RETRY_MAX_DELAY": timedelta(minutes=30)}
    ses.fail("throttle")
    register("new@example.com")
    worker = Worker(worker_id="test-worker")
    [task] = DBTaskResult.objects.all()
    waits = []
    for _attempt in range(3):
        before = timezone.now()
        DBTaskResult.objects.filter(pk=task.pk).update(run_after=before)  # its time has come
        assert worker.run_next()
        after = timezone.now()
        task.refresh_from_db()
        assert task.status == "READY" and task.exception_class_path == "authcore.tasks.RetryLater"
        assert "Throttling" in task.traceback
        # The wait was drawn while the attempt ran: between `before` and `after`, whatever that took.
        waits.append(((task.run_after - after).total_seconds(), (task.run_after - before).total_seconds()))
    # 10 s doubled per attempt, each drawn from the upper half of its ceiling: [5, 10], [10, 20], [20, 40].
    for (shortest, longest), (low, high) in zip(waits, [(5, 10), (10, 20), (20, 40)], strict=True):
        assert shortest <= high and longest >= low, waits
    assert not worker.run_next()  # nothing is due before its time


def test_the_backoff_is_capped():
    assert all(timedelta(minutes=15) <= retry_delay(attempt) <= timedelta(minutes=30) for attempt in range(9, 40))


def test_retries_end_in_a_kept_failure(ses, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "TASK_MAX_ATTEMPTS": 3}
    ses.fail("unavailable")  # SES never comes back
    register("new@example.com")

    drain()

    [task] = DBTaskResult.objects.all()
    assert (task.status, len(task.worker_ids), ses.sends_seen) == ("FAILED", 3, 3)
    assert "ServiceUnavailable" in task.traceback and ses.messages == []


def test_a_permanent_failure_is_kept_visible_and_an_operator_can_retry_it(ses, settings, make_user):
    ses.unverify_sender(settings.DEFAULT_FROM_EMAIL)  # SES now rejects every send: no retry would help
    user = register("new@example.com")
    drain()
    [task] = DBTaskResult.objects.all()
    assert (task.status, len(task.worker_ids), ses.sends_seen) == ("FAILED", 1, 1)  # failed at once
    assert "MessageRejected" in task.traceback

    operator = make_user("ops@example.com", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(operator)
    listing = admin.get(TASKS_ADMIN + "?status__exact=FAILED")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "deliver_account_email" in page and "verify_email" in page and str(user.pk) in page
    assert "Retry the selected failed tasks" in page

    ses.verify_sender(settings.DEFAULT_FROM_EMAIL)  # the operator fixed the sender identity
    response = admin.post(TASKS_ADMIN, {
        "action": "retry_failed_tasks", "_selected_action": [str(task.pk)]}, follow=True)
    assert "1 failed task queued again." in response.content.decode()
    task.refresh_from_db()
    assert task.status == "READY"

    drain()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert ses.recipients() == ["new@example.com"]


def test_only_operators_with_the_permission_may_retry(ses, make_user):
    staff = make_user("staff@example.com", is_staff=True)
    from django.contrib.auth.models import Permission
    staff.user_permissions.add(Permission.objects.get(codename="view_dbtaskresult"))
    admin = Client()
    admin.force_login(staff)
    ses.unverify_sender("no-reply@example.com")
    register("new@example.com")
    drain()
    task = DBTaskResult.objects.get()
    listing = admin.get(TASKS_ADMIN)
    assert listing.status_code == 200  # they may look
    assert "Retry the selected failed tasks" not in listing.content.decode()
    admin.post(TASKS_ADMIN, {"action": "retry_failed_tasks", "_selected_action": [str(task.pk)]})
    task.refresh_from_db()
    assert task.status == "FAILED"  # but not retry


def test_a_task_whose_worker_died_runs_again_once_its_lease_has_passed(ses, settings):
    register("new@example.com")
    [task] = DBTaskResult.objects.all()
    # A worker claimed it and died before finishing: RUNNING, under a worker that no longer exists.
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING", started_at=timezone.now(),
                                                   worker_ids=["dead-worker"])
    worker = Worker(worker_id="test-worker")
    assert not worker.run_next() and worker.reclaim_abandoned() == 0  # within its lease it is left alone
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - settings.AUTHCORE.get(
        "TASK_LEASE", timedelta(minutes=5)) - timedelta(seconds=1))

    drain()

    task.refresh_from_db()
    assert (task.status, task.worker_ids) == ("SUCCESSFUL", ["dead-worker", "test-worker"])
    assert ses.recipients() == ["new@example.com"]


def test_a_late_run_never_overwrites_the_run_that_took_over_from_it(ses, settings):
    """A worker that stalled past its lease finds its task taken over and finished by another: its own
    outcome (here: a retry) is dropped, and the email stays sent, once."""
    settings.AUTHCORE = {**settings.AUTHCORE, "TASK_LEASE": timedelta(milliseconds=200)}
    register("new@example.com")
    task = DBTaskResult.objects.get()
    task.claim("slow")  # the slow worker's run starts (`task` is its view of it)...
    time.sleep(0.3)  # ...and outlives its lease
    drain()  # another worker takes the task over and sends it
    assert DBTaskResult.objects.get().worker_ids == ["slow", "test-worker"]

    assert not Worker(worker_id="slow").record(task, status="READY", run_after=timezone.now())
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert ses.recipients() == ["new@example.com"]


def test_a_task_that_keeps_losing_its_worker_ends_failed(ses, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "TASK_MAX_ATTEMPTS": 3}
    register("new@example.com")
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now() - timedelta(hours=1),
                                worker_ids=["w1", "w2", "w3"])  # three workers lost running it
    assert Worker(worker_id="test-worker").reclaim_abandoned() == 1
    task = DBTaskResult.objects.get()
    assert (task.status, task.exception_class_path) == ("FAILED", "authcore.tasks.WorkerLost")
    assert ses.messages == []


def test_a_link_email_whose_request_outlived_the_link_lifetime_is_not_sent(ses, user, clock):
    passwords.request_password_reset(email="alice@example.com", client=CLIENT)
    clock.shift(timedelta(hours=1, minutes=1))  # SES was down longer than a reset link lives
    drain()
    assert ses.messages == []
    assert DBTaskResult.objects.get().return_value == "not sent: the request is older than its link's lifetime"


def test_a_restarted_worker_at_once_reruns_the_task_it_was_killed_in(ses):
    register("new@example.com")
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now(), worker_ids=["worker-1"])
    Worker(worker_id="worker-1").run(until_idle=True)  # same id: its previous life's task is not running
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert ses.recipients() == ["new@example.com"]


def test_known_and_unknown_addresses_do_the_same_work_in_the_request(ses, user):
    statements = {}
    for email in ("nobody@example.com", "alice@example.com"):
        with CaptureQueriesContext(connection) as queries:
            passwords.request_password_reset(email=email, client=CLIENT)
        # The statements' shapes (parameters aside) are the same for both addresses: one task each.
        statements[email] = [query["sql"].split(" WHERE ")[0].split(" VALUES ")[0] for query in queries]
    assert statements["alice@example.com"] == statements["nobody@example.com"]
    assert sum("dbtaskresult" in sql for sql in statements["alice@example.com"]) == 1
    assert ses.messages == []  # and no email work in either request

    drain()
    assert ses.recipients() == ["alice@example.com"]  # only the known address gets one
    assert sorted(DBTaskResult.objects.values_list("return_value", flat=True)) == ["no recipient", "sent"]


def test_no_email_for_an_account_deactivated_before_it_left(ses, user):
    passwords.request_password_reset(email="alice@example.com", client=CLIENT)
    User.objects.filter(pk=user.pk).update(is_active=False)
    drain()
    assert ses.messages == []
    assert DBTaskResult.objects.get().return_value == "not sent: account deactivated"


def test_the_worker_builds_links_under_the_url_prefix_the_request_was_served_at(ses, user):
    """The worker has no request: a service mounted under a sub-path (SCRIPT_NAME) must still mail links
    that lead to it."""
    set_script_prefix("/auth/")
    try:
        passwords.request_password_reset(email="alice@example.com", client=CLIENT)
    finally:
        set_script_prefix("/")
    drain()
    [message] = ses.messages
    assert "/auth/accounts/password-reset/" in link_in(plain_text(message))


def test_the_reset_link_is_minted_when_sent_so_a_late_email_still_works(ses, user, api):
    """Delivered after SES was down for a while, the link is as fresh as the send, and it works."""
    ses.fail("throttle", times=2)
    assert api.post("/api/auth/password-reset/", {"email": "alice@example.com"}).status_code == 202
    drain()
    [message] = ses.messages
    token = token_in(plain_text(message))
    response = api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": "marble fox quietly"})
    assert response.status_code == 200
    assert login(api, password="marble fox quietly")["access"]


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "SendRawEmail")


@pytest.mark.parametrize(("error", "temporary"), [
    (_client_error("Throttling", 400), True),
    (_client_error("ServiceUnavailable", 503), True),
    (_client_error("ExpiredToken", 403), True),  # credentials being renewed
    (_client_error("MessageRejected", 400), False),
    (_client_error("AccessDenied", 403), False),
    (NoCredentialsError(), True),  # the metadata service hiccuped
    (smtplib.SMTPRecipientsRefused({"a@example.com": (451, b"greylisted")}), True),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
    (smtplib.SMTPResponseException(421, b"try later"), True),
    (smtplib.SMTPResponseException(554, b"rejected"), False),
    (ConnectionResetError(), True),
], ids=["throttling", "ses-5xx", "expired-token", "rejected", "access-denied", "no-credentials",
        "smtp-greylisted", "smtp-unknown-user", "smtp-421", "smtp-554", "connection-reset"])
def test_which_delivery_errors_are_worth_retrying(error, temporary):
    assert is_temporary(error) is temporary


def test_an_account_deleted_notice_is_retried_after_a_temporary_failure(ses, make_user):
    """It is queued with no account (the row is gone when it is sent), and still gets the retries."""


    user = make_user("leaving@example.com", password=None)
    ses.fail("throttle", times=2)
    with transaction.atomic():
        deletion.erase_account(user=user)

    drain()

    assert ses.recipients() == ["leaving@example.com"]
    [task] = DBTaskResult.objects.all()
    assert task.status == "SUCCESSFUL" and len(task.worker_ids) == 3


def test_a_password_change_before_the_worker_runs_cancels_a_pending_address_change(ses, make_user):
    """The link is minted when the email is sent: a password reset by the owner in between must stop a
    request an intruder made, or the link would be minted from the new password and still work."""


    user = make_user("owner@example.com")
    email_change.request_email_change(user=user, password="correct horse battery staple",
                                      new_email="intruder@example.org", client=CLIENT, session_id=None)
    user.refresh_from_db()
    user.set_password("violet harbour lantern mosaic")
    user.save()

    drain()

    assert "intruder@example.org" not in ses.recipients()
    outcomes = set(DBTaskResult.objects.values_list("return_value", flat=True))
    assert "not sent: superseded" in outcomes
