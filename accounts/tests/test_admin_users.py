"""The user admin: list with live-session counts, actions through the services, forms and the sessions inline."""
from datetime import timedelta

from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
import pytest

from accounts import events as account_events
from accounts import signals
from accounts.models import User
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import bearer
from sessions_app import events as session_events
from sessions_app.admin import SessionInline
from sessions_app.models import Session

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")
NEW_PASSWORD = "violet umbrellas drift over quiet harbours"


def change_url(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def make_session(user, **fields) -> Session:
    now = timezone.now()
    return Session(**{"user": user, "expires_at": now + timedelta(days=30), "idle_expires_at": now + timedelta(days=7),
                      "ip_address": "203.0.113.5", "device": "Firefox on Linux", **fields})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, action: str, *users, **extra):
    data = {"action": action, "index": "0", "_selected_action": [str(u.pk) for u in users]}
    return client.post(CHANGELIST, data, follow=True, **extra)


def api_rejects(api, tokens: dict) -> bool:
    refresh = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]})
    me = api.get("/api/auth/me/", **bearer(tokens["access"]))
    return refresh.status_code == 401 and me.status_code == 401


def change_form_data(response) -> dict:
    """The change form as a browser posts it back unchanged: the main form and the inline formsets."""
    data = {}

    def add(form, names):
        for name in names:
            field, value = form.fields[name], form[name].value()
            if field.disabled or value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    form = response.context["adminform"].form
    add(form, form.fields)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        add(management, management.fields)
        for inline_form in inline.formset.forms:
            add(inline_form, inline_form.fields)
    return data


# --- the list ------------------------------------------------------------------------------------------------
def test_changelist_counts_only_alive_sessions(admin_client, make_user):
    alice = make_user("alice@example.com", password=None)
    now = timezone.now()
    Session.objects.bulk_create([
        make_session(alice), make_session(alice),
        make_session(alice, revoked_at=now, revoke_reason=Session.RevokeReason.LOGOUT),
        make_session(alice, expires_at=now - timedelta(seconds=1)),
        make_session(alice, idle_expires_at=now - timedelta(seconds=1)),
    ])

    response = admin_client.get(CHANGELIST, {"q": "alice@"})

    [row] = response.context["cl"].result_list
    assert row.active_session_count == 2
    assert '<td class="field-active_sessions">2</td>' in response.content.decode()


def test_changelist_shows_the_listed_columns(admin_client, make_user):
    make_user("carol@example.com", password=None, name="Carol Operator", verified=False)

    html = admin_client.get(CHANGELIST, {"q": "carol"}).content.decode()

    for column in ("email", "name", "verified", "is_active", "is_staff", "date_joined", "last_login",
                   "active_sessions"):
        assert f"column-{column}" in html, column
    assert "Carol Operator" in html and 'alt="False"' in html  # not verified


def test_changelist_queries_do_not_grow_with_users(admin_client, make_user, django_assert_num_queries):
    def create_users(start, count):
        users = [make_user(f"user{i}@example.com", password=None) for i in range(start, start + count)]
        Session.objects.bulk_create(make_session(user) for user in users for _ in range(3))

    create_users(0, 5)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(CHANGELIST)
    create_users(5, 45)

    with django_assert_num_queries(len(few)):
        response = admin_client.get(CHANGELIST)

    rows = response.context["cl"].result_list
    assert len(rows) == 51  # and the admin
    assert sorted({row.active_session_count for row in rows}) == [0, 3]


def test_search_by_email_and_name(admin_client, make_user):
    bob = make_user("bob@example.com", password=None, name="Robert Tables")
    make_user("carol@example.com", password=None)

    assert list(admin_client.get(CHANGELIST, {"q": "bob@exa"}).context["cl"].result_list) == [bob]
    assert list(admin_client.get(CHANGELIST, {"q": "tables"}).context["cl"].result_list) == [bob]


def test_verified_filter(admin_client, admin_user, make_user):
    verified = make_user("bob@example.com", password=None)
    unverified = make_user("carol@example.com", password=None, verified=False)

    yes = set(admin_client.get(CHANGELIST, {"verified": "yes"}).context["cl"].result_list)
    no = set(admin_client.get(CHANGELIST, {"verified": "no"}).context["cl"].result_list)

    assert yes == {verified, admin_user} and no == {unverified}


# --- actions -------------------------------------------------------------------------------------------------
def test_end_all_sessions_of_selected_users(admin_client, admin_user, api, make_user):
    alice, bob, carol = (make_user(f"{name}@example.com") for name in ("alice", "bob", "carol"))
    alices = [login(api, "alice@example.com"), login(api, "alice@example.com")]
    bobs = login(api, "bob@example.com")
    carols = login(api, "carol@example.com")

    response = run_action(admin_client, "end_all_sessions", alice, bob)

    assert "Ended 3 sessions of 2 users." in messages_of(response)
    assert set(Session.objects.filter(user__in=[alice, bob]).values_list("revoke_reason", flat=True)) == {
        "ended_by_admin"}
    events = SecurityEvent.objects.filter(kind=session_events.SESSION_REVOKED)
    assert {(e.user_id, e.actor_id, e.details["count"]) for e in events} == {
        (alice.pk, admin_user.pk, 2), (bob.pk, admin_user.pk, 1)}
    assert all(api_rejects(api, tokens) for tokens in [*alices, bobs])
    assert api.get("/api/auth/me/", **bearer(carols["access"])).status_code == 200


def test_deactivate_selected_users(admin_client, admin_user, api, make_user):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    tokens = login(api, "alice@example.com")

    response = run_action(admin_client, "deactivate", alice, bob)

    assert "Deactivated 2 users and ended 1 session." in messages_of(response)
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert not alice.is_active and not bob.is_active
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "user_deactivated"
    assert SecurityEvent.objects.filter(kind=account_events.USER_DEACTIVATED, actor=admin_user).count() == 2
    assert api_rejects(api, tokens)


def test_deactivate_refuses_the_operators_own_account(admin_client, admin_user, make_user):
    bob = make_user("bob@example.com", password=None)

    response = run_action(admin_client, "deactivate", admin_user, bob)

    assert "You cannot deactivate your own account." in messages_of(response)
    assert User.objects.filter(is_active=True).count() == 2


def test_send_password_reset_email(admin_client, admin_user, make_user, settings,
                                   django_capture_on_commit_callbacks):
    alice, bob = make_user("alice@example.com", password=None), make_user("bob@example.com", password=None)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "send_password_reset", alice, bob)

    assert "Sent a password-reset email to 2 users." in messages_of(response)
    assert sorted(message.to[0] for message in mail.outbox) == ["alice@example.com", "bob@example.com"]
    events = SecurityEvent.objects.filter(kind=account_events.PASSWORD_RESET_REQUESTED)
    assert {(e.user_id, e.actor_id) for e in events} == {(alice.pk, admin_user.pk), (bob.pk, admin_user.pk)}


def test_mark_email_verified_goes_through_the_verification_service(admin_client, admin_user, make_user,
                                                                     django_capture_on_commit_callbacks):
    unverified = make_user("bob@example.com", password=None, verified=False)
    already = make_user("carol@example.com", password=None)
    verified_signals = []
    signals.email_verified.connect(lambda sender, user, **kw: verified_signals.append(user), weak=False,
                                   dispatch_uid="test-admin-verified")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = run_action(admin_client, "mark_email_verified", unverified, already)
    finally:
        signals.email_verified.disconnect(dispatch_uid="test-admin-verified")

    assert "Marked 1 user verified (1 already verified)." in messages_of(response)
    unverified.refresh_from_db()
    assert unverified.email_verified
    assert verified_signals == [unverified]
    event = SecurityEvent.objects.get(kind=account_events.EMAIL_VERIFIED)
    assert (event.user_id, event.actor_id) == (unverified.pk, admin_user.pk)


# --- forms ---------------------------------------------------------------------------------------------------
def test_add_user_by_email(admin_client):
    response = admin_client.post(ADD, {"email": "Dora@EXAMPLE.com", "name": "Dora", "usable_password": "true",
                                       "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    dora = User.objects.get(email="Dora@example.com")  # the domain is normalised
    assert dora.check_password(NEW_PASSWORD) and not dora.is_staff and not dora.email_verified


def test_add_user_rejects_an_email_taken_in_another_case(admin_client, make_user):
    make_user("dora@example.com", password=None)

    response = admin_client.post(ADD, {"email": "DORA@example.com", "usable_password": "true",
                                       "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 200
    assert "A user with this email already exists." in str(response.context["adminform"].form.errors)
    assert User.objects.filter(email__iexact="dora@example.com").count() == 1


def test_add_user_applies_the_password_policy(admin_client):
    response = admin_client.post(ADD, {"email": "dora@example.com", "usable_password": "true",
                                       "password1": "short", "password2": "short"})

    assert response.status_code == 200 and "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="dora@example.com").exists()


def test_change_form_is_email_based_and_verification_is_read_only(admin_client, user):
    response = admin_client.get(change_url(user))

    form = response.context["adminform"].form
    assert response.status_code == 200
    assert "username" not in form.fields and "email" in form.fields
    assert "email_verified_at" not in form.fields  # shown, but set only through the action
    assert 'href="../password/"' in response.content.decode()  # Django's change-password form


def test_change_form_saves_profile_fields(admin_client, user):
    data = {**change_form_data(admin_client.get(change_url(user))), "name": "Alice Liddell",
            "email_verified_at": "2000-01-01 00:00:00"}

    response = admin_client.post(change_url(user), data)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Alice Liddell"
    assert user.email_verified_at.year != 2000  # a read-only field ignores posted values


def test_unticking_active_deactivates_through_the_service(admin_client, admin_user, api, user):
    tokens = login(api)
    data = change_form_data(admin_client.get(change_url(user)))
    del data["is_active"]

    response = admin_client.post(change_url(user), data, follow=True)

    assert f"Deactivated {user.email} and ended 1 session." in messages_of(response)
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "user_deactivated"
    assert SecurityEvent.objects.filter(kind=account_events.USER_DEACTIVATED, actor=admin_user).exists()
    assert api_rejects(api, tokens)


def test_setting_a_password_in_the_admin_ends_the_users_sessions(admin_client, admin_user, api, user, settings,
                                                                  django_capture_on_commit_callbacks):
    tokens = login(api)
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"usable_password": "true", "password1": NEW_PASSWORD,
                                           "password2": NEW_PASSWORD}, follow=True)

    assert "Ended 1 session of alice@example.com." in messages_of(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and user.password_changed_at is not None
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "password_changed"
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED, user=user, actor=admin_user).exists()
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]  # the user is told
    assert api_rejects(api, tokens)


def test_disabling_password_login_ends_the_users_sessions(admin_client, api, user):
    tokens = login(api)
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    admin_client.post(url, {"usable_password": "false", "unset-password": "1"})

    user.refresh_from_db()
    assert not user.has_usable_password()
    assert api_rejects(api, tokens)


def test_an_invalid_password_form_ends_nothing(admin_client, api, user):
    tokens = login(api)
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    response = admin_client.post(url, {"usable_password": "true", "password1": "short", "password2": "short"})

    assert response.status_code == 200
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200


# --- the sessions inline -------------------------------------------------------------------------------------
def test_inline_lists_the_users_live_sessions_with_an_end_control(admin_client, user):
    alive, ended = make_session(user, device="Chrome on Android"), make_session(
        user, device="Safari on iOS", revoked_at=timezone.now(), revoke_reason=Session.RevokeReason.LOGOUT)
    Session.objects.bulk_create([alive, ended])

    html = admin_client.get(change_url(user)).content.decode()

    assert "Chrome on Android" in html and "Safari on iOS" not in html  # ended ones are in the full list
    end_link = reverse("admin:sessions_app_session_end", args=[alive.pk])
    assert f'href="{end_link}?next=' in html
    assert 'name="auth_sessions-0-device"' not in html  # read-only: no inputs for session fields
    full_list = reverse("admin:sessions_app_session_changelist") + f"?user__id__exact={user.pk}"
    assert f'href="{full_list}"' in html
    listed = admin_client.get(full_list).content.decode()
    assert "Chrome on Android" in listed and "Safari on iOS" in listed and "revoked: Logged out" in listed


def test_the_users_page_lists_a_bounded_number_of_sessions(admin_client, user):
    Session.objects.bulk_create([make_session(user, device=f"Device {n}") for n in range(60)])

    response = admin_client.get(change_url(user))

    shown = response.context["inline_admin_formsets"][0].formset.forms
    assert len(shown) == SessionInline.LIVE_SESSIONS_SHOWN
    assert "60 live" in response.content.decode()


def test_end_control_ends_the_session_and_returns_to_the_user(admin_client, admin_user, api, user):
    tokens = login(api)
    html = admin_client.get(change_url(user)).content.decode()
    end_link = html.split('class="button end-session" href="')[1].split('"')[0].replace("&amp;", "&")

    confirmation = admin_client.get(end_link)
    response = admin_client.post(end_link, {"next": confirmation.context["next_url"]}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(user)
    assert "Ended 1 session." in messages_of(response)
    event = SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED)
    assert (str(event.session_id), event.actor_id, event.details["reason"]) == (
        tokens["session_id"], admin_user.pk, "ended_by_admin")
    assert api_rejects(api, tokens)
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "ended_by_admin"


def test_add_page_has_no_sessions_inline(admin_client):
    response = admin_client.get(ADD)

    assert response.status_code == 200 and response.context["inline_admin_formsets"] == []
