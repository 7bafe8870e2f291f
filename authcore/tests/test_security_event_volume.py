"""Security events do not grow without bound: a refused request is recorded once per window that trips,
not once per request, and events past the retention are purged in batches."""
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
import pytest

from authcore.audit import purge_security_events
from authcore.models import SecurityEvent
from authcore.ratelimit import RATE_LIMITED
from authcore.testing import assert_error

pytestmark = pytest.mark.django_db


def test_a_spent_limit_is_recorded_once_per_window_however_often_it_is_hit(api, settings, clock):
    """The clock stands still: a window that rolled over mid-test would reset the count."""
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"refresh": {"ip": "2/m"}}}
    for _ in range(2):
        api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json")
    for _ in range(5):
        assert_error(api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json"), 429, "rate_limited")

    assert SecurityEvent.objects.filter(kind=RATE_LIMITED).count() == 1
    # Another client tripping the same limit is recorded too.
    for _ in range(3):
        api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json", REMOTE_ADDR="203.0.113.9")
    assert SecurityEvent.objects.filter(kind=RATE_LIMITED).count() == 2


def make_event(age: timedelta) -> SecurityEvent:
    event = SecurityEvent.objects.create(kind="test_event")
    SecurityEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - age)
    return event


def test_events_past_the_retention_are_purged_in_batches(settings, django_assert_num_queries):
    settings.AUTHCORE = {**settings.AUTHCORE, "SECURITY_EVENT_RETENTION": timedelta(days=30)}
    old = [make_event(timedelta(days=31 + day)) for day in range(5)]
    recent = make_event(timedelta(days=29))

    with django_assert_num_queries(3 * 2 + 1):  # three batches of two: select ids, delete; then none left
        assert purge_security_events(batch_size=2) == 5

    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not SecurityEvent.objects.filter(pk__in=[event.pk for event in old]).exists()


def test_the_command_takes_a_number_of_days(capsys):
    make_event(timedelta(days=10))
    make_event(timedelta(days=2))

    call_command("purge_security_events", "--days", "7")

    assert "Deleted 1 security event(s)." in capsys.readouterr().out
    assert SecurityEvent.objects.count() == 1
