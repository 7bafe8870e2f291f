"""Single use under real concurrency: N threads with one token, one winner. Real PostgreSQL; skipped on
SQLite, which serialises writers anyway."""
from django.contrib.auth import get_user_model
import pytest

from accounts import events as account_events
from accounts.flows import passwords as passwords_flow
from accounts.flows import registration, verification
from accounts.tokens import email_verification_tokens, make_link_token, password_reset_tokens
from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
User = get_user_model()


def ignoring_index(work):
    """run_at_once passes each thread its index; these races give every thread the same work."""
    return lambda _index: work()
THREADS = 6


def outcome(call):
    def work():
        try:
            call()
            return "ok"
        except ServiceError as error:
            return error.code

    return work


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """These tests race the database, not the limits the flows also apply."""
    settings.RATELIMIT_ENABLE = False


def test_one_reset_token_sets_one_password(user):
    token = make_link_token(password_reset_tokens, user)
    passwords = iter(f"violet harbour lantern mosaic {n}" for n in range(THREADS))

    results = run_at_once(THREADS, ignoring_index(outcome(lambda: passwords_flow.confirm_password_reset(
        token=token, new_password=next(passwords), client=ClientInfo()))))

    assert sorted(results) == ["invalid_token"] * (THREADS - 1) + ["ok"]
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_RESET).count() == 1


def test_one_verification_token_verifies_once(make_user):
    user = make_user(email="una@example.com", verified=False)
    token = make_link_token(email_verification_tokens, user)

    verify = outcome(lambda: verification.verify_email(token=token, client=ClientInfo()))
    results = run_at_once(THREADS, ignoring_index(verify))

    assert sorted(results) == ["invalid_token"] * (THREADS - 1) + ["ok"]
    assert SecurityEvent.objects.filter(kind=account_events.EMAIL_VERIFIED).count() == 1


def test_concurrent_registrations_of_one_address_create_one_account(db):
    results = run_at_once(THREADS, ignoring_index(lambda: registration.register(
        email="race@example.com", password="plum tree orbit cascade", client=ClientInfo()).created))

    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert User.objects.with_email("race@example.com").count() == 1


def test_two_users_confirming_the_same_new_address_at_once_one_wins(make_user):
    from accounts.flows import email_change
    from accounts.tokens import email_change_tokens

    # Both asked for the address while it was free, so both hold a working link.
    users = [make_user(f"user{n}@example.com") for n in range(2)]
    for user in users:
        email_change.request_email_change(user=user, password="correct horse battery staple",
                                          new_email="Shared@Example.org", client=ClientInfo(), session_id=None)
    tokens = [make_link_token(email_change_tokens, User.objects.get(pk=user.pk)) for user in users]

    results = run_at_once(2, lambda index: outcome(lambda: email_change.confirm_email_change(
        token=tokens[index], client=ClientInfo()))())

    assert sorted(results) == ["email_taken", "ok"]
    # One account has it; the other kept its address and can still use its own.
    emails = sorted(User.objects.filter(pk__in=[u.pk for u in users]).values_list("email", flat=True))
    assert "Shared@example.org" in emails and len({e.lower() for e in emails}) == 2
    assert SecurityEvent.objects.filter(kind=account_events.EMAIL_CHANGED).count() == 1
