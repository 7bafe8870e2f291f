"""Disconnecting (the user through the API, an operator in the admin) and deleting a user: the tokens are
revoked at the provider (RFC 7009) and deleted here, even when the provider cannot be reached."""
from django.test import Client
from django.urls import reverse
import pytest

from authcore.models import SecurityEvent
from authcore.testing import assert_error, bearer
from connections import events
from connections.models import Connection
from sessions_app.tests.helpers import open_session

from .helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


def disconnect(api, user):
    return api.delete("/api/connections/demo/", **bearer(open_session(user).access))


def test_disconnecting_revokes_at_the_provider_and_deletes_the_tokens(api, user, demo):
    connection = connect(api, user, demo)
    access, refresh = connection.read_token("access_token"), connection.read_token("refresh_token")

    assert disconnect(api, user).status_code == 204

    assert not demo.accepts(access)  # the provider no longer accepts it
    connection.refresh_from_db()
    assert connection.status == "revoked" and connection.revoked_at is not None
    assert (connection.access_token_ciphertext, connection.refresh_token_ciphertext,
            connection.id_token_ciphertext) == (None, None, None)
    event = SecurityEvent.objects.get(kind=events.DISCONNECTED)
    assert event.details == {"provider": "demo", "revoked_at_provider": True}
    assert refresh not in str(event.details) and access not in str(event.details)
    # Metadata stays, and the provider can be connected again later.
    info = api.get("/api/connections/demo/", **bearer(open_session(user).access)).json()
    assert info["status"] == "revoked"
    assert connect(api, user, demo).status == "active"


def test_an_unreachable_provider_does_not_stop_the_local_deletion(api, user, settings, demo):
    connection = connect(api, user, demo)
    settings.CONNECTIONS = {**settings.CONNECTIONS, "HTTP_TIMEOUT": (0.5, 0.5), "HTTP_ATTEMPTS": 1}
    demo.pause()
    try:
        assert disconnect(api, user).status_code == 204
    finally:
        demo.resume()

    connection.refresh_from_db()
    assert connection.status == "revoked" and connection.access_token_ciphertext is None
    assert SecurityEvent.objects.get(kind=events.DISCONNECTED).details["revoked_at_provider"] is False


def test_the_provider_is_called_once_the_disconnect_and_its_record_have_committed(api, user, demo, monkeypatch):
    """No provider call holds the connection's row lock: the deletion and its audit record commit first, and
    the record then says whether the provider confirmed."""
    from django.db import connection as database

    from connections import services

    connect(api, user, demo)
    revoke, seen = services.revoke_at_provider, []

    def revoke_and_look(provider_name, tokens):
        seen.append((database.in_atomic_block, Connection.objects.get(user=user).status,
                     SecurityEvent.objects.get(kind=events.DISCONNECTED).details["revoked_at_provider"]))
        return revoke(provider_name, tokens)

    monkeypatch.setattr(services, "revoke_at_provider", revoke_and_look)

    assert disconnect(api, user).status_code == 204

    assert seen == [(False, "revoked", False)]
    assert SecurityEvent.objects.get(kind=events.DISCONNECTED).details["revoked_at_provider"] is True


def test_disconnecting_what_is_not_connected_is_a_404(api, user, demo):
    assert_error(disconnect(api, user), 404, "not_connected")


def test_an_operator_disconnects_from_the_admin(api, user, make_user, demo):
    connection = connect(api, user, demo)
    access = connection.read_token("access_token")
    operator = make_user("operator@example.com", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(operator)

    browser.post(reverse("admin:connections_connection_changelist"),
                 {"action": "disconnect_selected", "_selected_action": [str(connection.pk)]})

    assert Connection.objects.get(pk=connection.pk).status == "revoked"
    assert not demo.accepts(access)
    assert SecurityEvent.objects.get(kind=events.DISCONNECTED).actor_id == operator.pk


def test_deleting_a_user_by_any_path_revokes_their_tokens_at_the_provider(api, user, demo):
    access = connect(api, user, demo).read_token("access_token")

    user.delete()  # a shell, a data cleanup: not our deletion flow

    assert not Connection.objects.exists()
    assert not demo.accepts(access)


def test_tokens_of_a_provider_removed_from_the_settings_can_still_be_deleted(api, user, settings, demo):
    connection = connect(api, user, demo)
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {}}

    assert disconnect(api, user).status_code == 204

    connection.refresh_from_db()
    assert connection.status == "revoked" and connection.access_token_ciphertext is None
    assert SecurityEvent.objects.get(kind=events.DISCONNECTED).details["revoked_at_provider"] is False


def test_deleting_an_account_revokes_at_the_provider_after_the_deletion_commits(api, user, demo):
    """Through the account deletion itself (its row lock held): the provider calls wait for the commit."""
    from django.db import transaction

    from accounts.flows import deletion

    access = connect(api, user, demo).read_token("access_token")
    with transaction.atomic():
        deletion.erase_account(user=user)
        assert demo.accepts(access)  # nothing sent to the provider while the deletion's locks are held
    assert not Connection.objects.exists()
    assert not demo.accepts(access)


@pytest.mark.postgres
def test_a_refresh_and_the_deletion_of_its_account_do_not_deadlock(api, user, demo):
    """A refresh holds its connection's row lock and then writes an audit record naming the user; the
    deletion locks the user row and then deletes the connection. The deletion's lock must not block the
    record (PostgreSQL would detect a deadlock and fail one of them)."""
    import threading
    import time

    from django.db import transaction

    from accounts.flows import deletion
    from authcore.audit import record_security_event
    from authcore.testing import run_at_once

    connection = connect(api, user, demo)
    refresh_has_lock = threading.Event()

    def refresh_then_deletion(index: int) -> str:
        if index == 0:  # what _refresh does: row lock, the provider call, the audit record
            with transaction.atomic():
                Connection.objects.select_for_update().get(pk=connection.pk)
                refresh_has_lock.set()
                time.sleep(0.5)  # the deletion takes the user row meanwhile
                record_security_event(events.REFRESHED, user=user, provider="demo", rotated=True)
            return "refreshed"
        refresh_has_lock.wait(10)
        with transaction.atomic():
            deletion.erase_account(user=user)
        return "deleted"

    results = run_at_once(2, refresh_then_deletion)

    assert results == ["refreshed", "deleted"], results
    assert not Connection.objects.exists()


def test_a_cache_outage_does_not_turn_a_disconnect_into_an_error(api, user, settings, demo):
    """The discovery document's cache is only a shortcut: unreachable, it is a miss, and the revocation
    still happens."""
    from authcore.testing import free_port

    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": {
        "client_id": demo.client_id, "client_secret": demo.client_secret, "scopes": ["read"],
        "discovery_url": demo.metadata_url}}}
    access = connect(api, user, demo).read_token("access_token")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}

    assert disconnect(api, user).status_code == 204

    assert not demo.accepts(access)
    assert SecurityEvent.objects.get(kind=events.DISCONNECTED).details["revoked_at_provider"] is True
