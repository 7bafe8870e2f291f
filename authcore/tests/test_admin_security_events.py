"""The security-event admin: a read-only audit log with filters, search and the acting operator."""
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
import pytest

from authcore.models import SecurityEvent
from authcore.ratelimit import RATE_LIMITED
from sessions_app import events as session_events
from sessions_app.models import Session

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:authcore_securityevent_changelist")
# Two kinds of event, any app's would do.
REFUSED, REVOKED = RATE_LIMITED, session_events.SESSION_REVOKED


def event(kind=REFUSED, **fields) -> SecurityEvent:
    return SecurityEvent.objects.create(kind=kind, **fields)


def listed(response) -> list[int]:
    return [e.pk for e in response.context["cl"].result_list]


def test_events_cannot_be_added_changed_or_deleted(admin_client, user):
    recorded = event(user=user, ip_address="203.0.113.9")
    change = reverse("admin:authcore_securityevent_change", args=[recorded.pk])

    assert admin_client.get(reverse("admin:authcore_securityevent_add")).status_code == 403
    assert admin_client.post(change, {"kind": REVOKED, "details": "{}"}).status_code == 403
    assert admin_client.post(reverse("admin:authcore_securityevent_delete", args=[recorded.pk]),
                             {"post": "yes"}).status_code == 403
    assert admin_client.get(CHANGELIST).context["action_form"] is None  # no delete_selected either
    page = admin_client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content  # view only
    recorded.refresh_from_db()
    assert recorded.kind == REFUSED


def test_an_admin_action_shows_up_with_its_actor(admin_client, admin_user, user):
    now = timezone.now()
    session = Session.objects.create(user=user, expires_at=now + timedelta(days=1),
                                     idle_expires_at=now + timedelta(hours=1))
    admin_client.post(reverse("admin:sessions_app_session_end", args=[session.pk]))

    response = admin_client.get(CHANGELIST, {"kind__exact": session_events.SESSION_REVOKED})

    [revoked] = response.context["cl"].result_list
    assert (revoked.user, revoked.actor) == (user, admin_user)
    html = response.content.decode()
    assert '<td class="field-user nowrap">alice@example.com</td>' in html
    assert '<td class="field-actor nowrap">admin@example.com</td>' in html


def test_filter_by_kind(admin_client):
    fail, _ = event(REFUSED), event(REVOKED)

    assert listed(admin_client.get(CHANGELIST, {"kind__exact": REFUSED})) == [fail.pk]


def test_filter_by_date(admin_client):
    SecurityEvent.objects.all().delete()  # the operator's own creation as a superuser is audited (authz_change)
    recent = event(created_at=timezone.now() - timedelta(days=1))
    event(created_at=timezone.now() - timedelta(days=30))
    cl = admin_client.get(CHANGELIST).context["cl"]
    [dates] = [spec for spec in cl.filter_specs if spec.title == "created at"]
    [past_week] = [choice["query_string"] for choice in dates.choices(cl) if choice["display"] == "Past 7 days"]

    response = admin_client.get(CHANGELIST + past_week)

    assert listed(response) == [recent.pk]


def test_search_by_user_email_and_ip(admin_client, make_user):
    bob = make_user("bob@example.com", password=None)
    bobs = event(user=bob, ip_address="192.0.2.1")
    by_ip = event(ip_address="198.51.100.77")

    assert listed(admin_client.get(CHANGELIST, {"q": "bob@"})) == [bobs.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "198.51.100.77"})) == [by_ip.pk]


def test_changelist_queries_do_not_grow_with_events(admin_client, make_user, admin_user,
                                                    django_assert_max_num_queries):
    users = [make_user(f"user{i}@example.com", password=None) for i in range(20)]

    def create(count):
        SecurityEvent.objects.bulk_create(
            SecurityEvent(kind=session_events.SESSION_REVOKED, user=users[i % len(users)], actor=admin_user)
            for i in range(count)
        )

    SecurityEvent.objects.all().delete()  # the operator's own creation as a superuser is audited (authz_change)
    create(3)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(CHANGELIST)
    create(97)

    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(CHANGELIST)

    assert response.context["cl"].result_count == 100
