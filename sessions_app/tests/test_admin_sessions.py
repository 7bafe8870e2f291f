"""The Session admin: listing, filters, search, ending sessions (action and per-session view), read-only."""
from datetime import timedelta
import hashlib

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
import pytest

from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import bearer
from sessions_app import events as session_events
from sessions_app.admin import SessionAdmin
from sessions_app.models import Session

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sessions_app_session_changelist")


def make_session(user, *, ip="203.0.113.7", device="Firefox on Linux", **fields) -> Session:
    now = timezone.now()
    values = {"user": user, "created_at": now, "last_used_at": now, "expires_at": now + timedelta(days=30),
              "idle_expires_at": now + timedelta(days=7), "ip_address": ip, "device": device, **fields}
    return Session.objects.create(**values)


def end_url(session, **query) -> str:
    url = reverse("admin:sessions_app_session_end", args=[session.pk])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def api_rejects(api, tokens: dict) -> bool:
    """Both halves of the session's token pair are refused by the API."""
    refresh = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]})
    me = api.get("/api/auth/me/", **bearer(tokens["access"]))
    return refresh.status_code == 401 and me.status_code == 401


def api_accepts(api, tokens: dict) -> bool:
    return api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200


def test_changelist_shows_each_session_with_its_state(admin_client, user):
    make_session(user, device="Chrome on Android", ip="198.51.100.1")
    make_session(user, revoked_at=timezone.now(), revoke_reason=Session.RevokeReason.LOGOUT)
    make_session(user, expires_at=timezone.now() - timedelta(minutes=1))

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Chrome on Android" in html and "198.51.100.1" in html and "alice@example.com" in html
    assert ">active<" in html and ">revoked: Logged out<" in html and ">expired<" in html


@pytest.mark.parametrize("state", ["active", "revoked", "expired"])
def test_state_filter(admin_client, user, state):
    now = timezone.now()
    sessions = {
        "active": make_session(user),
        "revoked": make_session(user, revoked_at=now, revoke_reason=Session.RevokeReason.ENDED_BY_USER),
        "expired": make_session(user, idle_expires_at=now - timedelta(seconds=1)),
    }

    response = admin_client.get(CHANGELIST, {"state": state})

    assert [s.pk for s in response.context["cl"].result_list] == [sessions[state].pk]


def test_revoke_reason_filter(admin_client, user):
    now = timezone.now()
    by_admin = make_session(user, revoked_at=now, revoke_reason=Session.RevokeReason.ENDED_BY_ADMIN)
    make_session(user, revoked_at=now, revoke_reason=Session.RevokeReason.LOGOUT)

    response = admin_client.get(CHANGELIST, {"revoke_reason__exact": "ended_by_admin"})

    assert [s.pk for s in response.context["cl"].result_list] == [by_admin.pk]


def test_search_by_user_email_and_by_ip(admin_client, make_user):
    alice, bob = make_user("alice@example.com", password=None), make_user("bob@example.com", password=None)
    alices = make_session(alice, ip="198.51.100.10")
    bobs = make_session(bob, ip="192.0.2.44")

    by_email = admin_client.get(CHANGELIST, {"q": "bob@example"})
    by_ip = admin_client.get(CHANGELIST, {"q": "198.51.100"})

    assert [s.pk for s in by_email.context["cl"].result_list] == [bobs.pk]
    assert [s.pk for s in by_ip.context["cl"].result_list] == [alices.pk]


def test_end_selected_sessions_revokes_them_and_the_api_rejects_their_tokens(admin_client, admin_user, api,
                                                                             make_user):
    make_user("alice@example.com")
    make_user("bob@example.com")
    first, second = login(api, "alice@example.com"), login(api, "alice@example.com")
    bobs = login(api, "bob@example.com")

    response = admin_client.post(CHANGELIST, {
        "action": "end_selected_sessions", "index": "0",
        "_selected_action": [first["session_id"], second["session_id"]],
    }, follow=True)

    assert response.status_code == 200
    assert "Ended 2 sessions." in messages_of(response)
    ended = Session.objects.filter(pk__in=[first["session_id"], second["session_id"]])
    assert {(s.state, s.revoke_reason) for s in ended} == {("revoked", "ended_by_admin")}
    events = SecurityEvent.objects.filter(kind=session_events.SESSION_REVOKED)
    assert {(str(e.session_id), e.actor_id, e.details["reason"]) for e in events} == {
        (first["session_id"], admin_user.pk, "ended_by_admin"),
        (second["session_id"], admin_user.pk, "ended_by_admin"),
    }
    assert api_rejects(api, first) and api_rejects(api, second)
    assert api_accepts(api, bobs)  # not selected, still alive


def test_end_selected_sessions_counts_only_those_still_alive(admin_client, user):
    alive = make_session(user)
    revoked = make_session(user, revoked_at=timezone.now(), revoke_reason=Session.RevokeReason.LOGOUT)

    response = admin_client.post(CHANGELIST, {
        "action": "end_selected_sessions", "index": "0", "_selected_action": [alive.pk, revoked.pk],
    }, follow=True)

    assert "Ended 1 session." in messages_of(response)
    revoked.refresh_from_db()
    assert revoked.revoke_reason == "logout"  # an ended session keeps its original reason


def test_end_view_get_only_asks_for_confirmation(admin_client, user):
    session = make_session(user)

    response = admin_client.get(end_url(session))

    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content and b"Yes, end this session" in response.content
    session.refresh_from_db()
    assert session.state == "active"


def test_end_view_post_ends_the_session_and_returns_to_next(admin_client, admin_user, api, user):
    tokens = login(api)
    session = Session.objects.get(pk=tokens["session_id"])
    back = reverse("admin:accounts_user_change", args=[user.pk])

    response = admin_client.post(end_url(session), {"next": back})

    assert response.status_code == 302 and response.url == back
    assert "Ended 1 session." in messages_of(response)
    session.refresh_from_db()
    assert (session.state, session.revoke_reason) == ("revoked", "ended_by_admin")
    event = SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED)
    assert (event.actor_id, event.user_id, str(event.session_id)) == (admin_user.pk, user.pk, tokens["session_id"])
    assert api_rejects(api, tokens)


def test_end_view_needs_a_csrf_token(admin_user, user):
    session = make_session(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(end_url(session))

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.state == "active"


def test_end_view_ignores_an_offsite_next(admin_client, user):
    session = make_session(user)

    response = admin_client.post(end_url(session), {"next": "https://evil.example/phish"})

    assert response.status_code == 302
    assert response.url == reverse("admin:sessions_app_session_change", args=[session.pk])


def test_end_view_on_an_ended_session_changes_nothing(admin_client, user):
    session = make_session(user, revoked_at=timezone.now(), revoke_reason=Session.RevokeReason.LOGOUT)

    page = admin_client.get(end_url(session))
    response = admin_client.post(end_url(session))

    assert b"already ended" in page.content and b"Yes, end this session" not in page.content
    assert "That session had already ended." in messages_of(response)
    # (The operator's own creation as a superuser is audited, as authz_change: no session event.)
    assert not SecurityEvent.objects.exclude(kind="authz_change").exists()


def test_session_change_page_links_to_the_end_view(admin_client, user):
    session = make_session(user)

    response = admin_client.get(reverse("admin:sessions_app_session_change", args=[session.pk]))

    assert end_url(session).encode() in response.content


def test_sessions_cannot_be_added_edited_or_deleted(admin_client, user):
    session = make_session(user)
    change = reverse("admin:sessions_app_session_change", args=[session.pk])

    assert admin_client.get(reverse("admin:sessions_app_session_add")).status_code == 403
    assert admin_client.post(change, {"device": "forged", "revoke_reason": ""}).status_code == 403
    assert admin_client.post(reverse("admin:sessions_app_session_delete", args=[session.pk]),
                             {"post": "yes"}).status_code == 403
    actions = dict(admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and "end_selected_sessions" in actions
    session.refresh_from_db()
    assert (session.device, session.state) == ("Firefox on Linux", "active")


@pytest.mark.parametrize("lookup", ["current_token_hash", "current_token_hash__startswith",
                                    "previous_token_hash__contains"])
def test_token_hashes_cannot_be_probed_through_changelist_filters(admin_client, api, user, lookup):
    tokens = login(api)
    digest = hashlib.sha256(tokens["refresh"].encode()).hexdigest()

    response = admin_client.get(CHANGELIST, {lookup: digest[:2] if "__" in lookup else digest})

    assert response.status_code == 400


def test_refresh_tokens_have_no_admin(admin_client):
    assert admin_client.get("/admin/sessions_app/refreshtoken/").status_code == 404


def test_staff_with_view_permission_only_cannot_end_sessions(make_user, user):
    session = make_session(user)
    viewer = make_user("viewer@example.com", password=None, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_session", content_type__app_label="sessions_app"))
    client = Client()
    client.force_login(viewer)

    listing = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "end_selected_sessions", "index": "0", "_selected_action": [session.pk]})
    view = client.post(end_url(session))

    assert listing.status_code == 200 and session.device in listing.content.decode()
    assert b"end_selected_sessions" not in listing.content
    assert view.status_code == 403
    session.refresh_from_db()
    assert session.state == "active"


@pytest.mark.parametrize("path", [CHANGELIST, "/admin/authcore/securityevent/"])
def test_non_staff_are_sent_to_the_login_page(client, user, path):
    client.force_login(user)

    response = client.get(path)

    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_changelist_queries_do_not_grow_with_sessions(admin_client, make_user, django_assert_max_num_queries):
    users = [make_user(f"user{i}@example.com", password=None) for i in range(50)]
    now = timezone.now()

    def create(count):
        Session.objects.bulk_create(
            Session(user=users[i % len(users)], created_at=now - timedelta(minutes=i), last_used_at=now,
                    expires_at=now + timedelta(days=30), idle_expires_at=now + timedelta(days=7),
                    ip_address=f"10.0.{i // 250}.{i % 250}", device="Safari on iOS")
            for i in range(count)
        )

    create(10)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(CHANGELIST).status_code == 200
    Session.objects.all().delete()
    create(1000)

    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(CHANGELIST, {"p": "2"})

    cl = response.context["cl"]
    assert cl.result_count == 1000 and len(cl.result_list) == SessionAdmin.list_per_page < 1000
    # Every row's user was rendered from the joined row, not from a query per row.
    assert response.content.decode().count("@example.com") >= SessionAdmin.list_per_page


def test_no_refresh_token_or_hash_in_any_admin_page(admin_client, api, user):
    tokens = login(api)
    raw = tokens["refresh"]
    digest = hashlib.sha256(raw.encode()).hexdigest()
    session_id = tokens["session_id"]
    event = SecurityEvent.objects.filter(user=user).first()
    pages = [
        CHANGELIST,
        reverse("admin:sessions_app_session_change", args=[session_id]),
        reverse("admin:sessions_app_session_end", args=[session_id]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[user.pk]),
        reverse("admin:auth_user_password_change", args=[user.pk]),
        reverse("admin:authcore_securityevent_changelist"),
        reverse("admin:authcore_securityevent_change", args=[event.pk]),
    ]

    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert raw not in html and digest not in html, path
        assert "token_hash" not in html, path
    assert session_id in admin_client.get(CHANGELIST).content.decode()  # the list did show the session
