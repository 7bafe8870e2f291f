"""get_valid_access_token against the real provider: refresh before expiry with the provider's refresh-token
rotation, one refresh for many concurrent callers, invalid_grant, and an unreachable provider."""
import time

from django.utils import timezone
import pytest
import time_machine

from authcore.models import SecurityEvent
from authcore.testing import run_at_once
from connections import events, services
from connections.errors import NeedsReconnect, ProviderUnavailable
from connections.models import Connection

from .helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


def make_expiring(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now() + timezone.timedelta(seconds=30))


def test_a_token_far_from_expiry_is_handed_out_without_asking_the_provider(api, user, demo):
    connection = connect(api, user, demo)
    before = demo.token_requests()

    assert services.get_valid_access_token(user, "demo") == connection.read_token("access_token")
    assert demo.token_requests() == before


def test_an_expiring_token_is_refreshed_first_and_the_rotated_refresh_token_replaces_the_old(api, user, demo):
    connection = connect(api, user, demo)
    old_access, old_refresh = connection.read_token("access_token"), connection.read_token("refresh_token")
    make_expiring(connection)

    token = services.get_valid_access_token(user, "demo")

    assert token != old_access and demo.accepts(token)
    connection.refresh_from_db()
    assert connection.read_token("refresh_token") not in (None, old_refresh)  # rotated by the provider
    assert connection.expires_at > timezone.now() + timezone.timedelta(minutes=30)
    assert connection.refreshed_at is not None
    assert demo.token_requests("refresh_token", status=200) >= 1
    assert SecurityEvent.objects.filter(kind=events.REFRESHED, user=user).exists()
    # The next call uses the stored fresh token.
    assert services.get_valid_access_token(user, "demo") == token


@pytest.mark.postgres
def test_ten_concurrent_callers_cause_exactly_one_refresh_at_the_provider(api, user, demo):
    connection = connect(api, user, demo)
    make_expiring(connection)
    before = demo.token_requests("refresh_token")

    tokens = run_at_once(10, lambda _index: services.get_valid_access_token(user, "demo"))

    assert demo.token_requests("refresh_token") - before == 1
    assert len(set(tokens)) == 1 and isinstance(tokens[0], str), tokens
    assert demo.accepts(tokens[0])


def test_invalid_grant_marks_the_connection_needs_reconnect(api, make_user, demo):
    # A user of its own: revoke_grant removes every grant of the provider's resource owner.
    user = make_user("grant@example.com", password=None)
    connection = connect(api, user, demo)
    make_expiring(connection)
    demo.revoke_grant()

    with pytest.raises(NeedsReconnect):
        services.get_valid_access_token(user, "demo")

    connection.refresh_from_db()
    assert (connection.status, connection.last_error) == ("needs_reconnect", "invalid_grant")
    assert SecurityEvent.objects.get(kind=events.REFRESH_FAILED).details["needs_reconnect"] is True
    # It stays so, without asking the provider again, until the user connects again.
    before = demo.token_requests()
    with pytest.raises(NeedsReconnect):
        services.get_valid_access_token(user, "demo")
    assert demo.token_requests() == before
    assert connect(api, user, demo).status == "active"


def test_an_unreachable_provider_is_bounded_and_erases_nothing(api, user, settings, demo):
    connection = connect(api, user, demo)
    make_expiring(connection)
    stored = bytes(Connection.objects.get(pk=connection.pk).refresh_token_ciphertext)
    settings.CONNECTIONS = {**settings.CONNECTIONS, "HTTP_TIMEOUT": (0.5, 1.5), "HTTP_ATTEMPTS": 2}
    demo.pause()  # accepts connections, never answers
    try:
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            services.get_valid_access_token(user, "demo")
        elapsed = time.monotonic() - started
    finally:
        demo.resume()

    # One try: a read timeout may mean the provider rotated the token and only its answer was lost, and
    # sending the same refresh token again would be a replay that revokes the grant.
    # (A second try would add another 1.5 s read timeout and a pause.)
    assert elapsed < 2.9
    connection.refresh_from_db()
    assert connection.status == "active" and bytes(connection.refresh_token_ciphertext) == stored
    assert SecurityEvent.objects.get(kind=events.REFRESH_FAILED).details["needs_reconnect"] is False
    # Right after the failure, callers fail at once without asking the provider (they would each hold the
    # lock for another round of timeouts). (Whether the stored refresh token still works afterwards depends
    # on whether the provider acted on the request whose answer was lost: see the next test.)
    before = demo.token_requests()
    with pytest.raises(ProviderUnavailable):
        services.get_valid_access_token(user, "demo")
    assert demo.token_requests() == before


def test_a_refused_connection_erases_nothing_and_the_stored_token_works_later(api, user, settings, demo):
    """Nothing reached the provider (connection refused): trying again is safe, and the stored refresh token
    is untouched, so once the provider is reachable and REFRESH_RETRY_AFTER has passed, it works."""
    from authcore.testing import free_port

    from .conftest import provider_settings

    connection = connect(api, user, demo)
    make_expiring(connection)
    reachable = settings.CONNECTIONS["PROVIDERS"]
    settings.CONNECTIONS = {**settings.CONNECTIONS, "HTTP_ATTEMPTS": 3, "PROVIDERS": {
        "demo": provider_settings(demo, token_url=f"http://127.0.0.1:{free_port()}/o/token/")}}
    with pytest.raises(ProviderUnavailable):
        services.get_valid_access_token(user, "demo")
    assert SecurityEvent.objects.filter(kind=events.REFRESH_FAILED).count() == 1

    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": reachable}
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=31)):
        assert demo.accepts(services.get_valid_access_token(user, "demo"))


def test_without_a_connection_the_error_is_clear(user, demo):
    from connections.errors import NotConnected

    with pytest.raises(NotConnected):
        services.get_valid_access_token(user, "demo")


def test_a_scope_added_to_the_settings_later_does_not_break_the_refresh(api, user, settings, demo):
    """The refresh asks for no scope, so the grant the user gave keeps working; the new scope needs a
    reconnect, which the provider would ask the user about."""
    from .conftest import provider_settings

    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": provider_settings(demo, scopes=["read"])}}
    connection = connect(api, user, demo)
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {
        "demo": provider_settings(demo, scopes=["read", "write", "openid"])}}
    make_expiring(connection)

    assert demo.accepts(services.get_valid_access_token(user, "demo"))
    assert Connection.objects.get(pk=connection.pk).scopes == "read"


@pytest.mark.postgres
def test_two_first_connects_at_once_leave_one_connection(user, demo):
    token = {"access_token": "a", "refresh_token": "r", "expires_in": 3600, "token_type": "Bearer"}
    results = run_at_once(2, lambda index: services.store_initial_tokens(
        user=user, provider_name="demo", token={**token, "access_token": f"a{index}"}).pk)
    assert len(set(results)) == 1 and Connection.objects.count() == 1, results


@pytest.mark.parametrize("token", [{"expires_in": 10 ** 12}, {"expires_at": 10 ** 15}, {"expires_at": 1e308}])
def test_an_absurd_expiry_from_a_provider_is_capped_not_a_crash(token):
    expiry = services._expiry(token)
    assert timezone.now() < expiry <= timezone.now() + services.LONGEST_EXPIRY


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(api, user, settings, keys):
    """Providers that keep one refresh token for the grant's life answer a refresh without one."""
    from .conftest import APP_CALLBACK, CALLBACK, provider_settings
    from .oauth_provider import OAuthProvider

    with OAuthProvider.start([CALLBACK, APP_CALLBACK], rotate_refresh_tokens=False) as keeping:
        settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": provider_settings(keeping)},
                                "ENCRYPTION_KEYS": keys[:1], "SITE_URL": "http://testserver"}
        connection = connect(api, user, keeping)
        refresh_token = connection.read_token("refresh_token")
        for _ in range(2):  # the kept token goes on working
            make_expiring(connection)
            assert keeping.accepts(services.get_valid_access_token(user, "demo"))
            connection.refresh_from_db()
            assert connection.read_token("refresh_token") == refresh_token
        assert keeping.token_requests("refresh_token", status=200) == 2
        assert SecurityEvent.objects.filter(kind=events.REFRESHED, details__rotated=False).count() == 2


def test_a_token_endpoint_that_redirects_is_not_followed(user, settings, demo):
    """A redirect from the token endpoint would carry the refresh token (and the client secret) to wherever
    it points, plain http included: it is not followed."""
    import http.server
    import threading

    from authcore.testing import free_port

    from .conftest import provider_settings

    collected = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            collected.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    collector = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Collector)

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{collector.server_port}/steal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirecting = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Redirecting)
    for server in (collector, redirecting):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": provider_settings(
            demo, token_url=f"http://127.0.0.1:{redirecting.server_port}/token")}}
        services.store_initial_tokens(user=user, provider_name="demo", token={
            "access_token": "a", "refresh_token": "the-refresh-token", "expires_in": 10})
        with pytest.raises(ProviderUnavailable):
            services.get_valid_access_token(user, "demo")
    finally:
        for server in (collector, redirecting):
            server.shutdown()
            server.server_close()
    assert collected == []


def test_without_a_refresh_token_no_provider_is_needed(user, settings, demo):
    """A connection whose provider gave no refresh token is answered from what is stored, even while the
    provider's discovery document cannot be fetched."""
    from authcore.testing import free_port

    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": {
        "client_id": "c", "client_secret": "s", "discovery_url": f"http://127.0.0.1:{free_port()}/discovery"}}}
    services.store_initial_tokens(user=user, provider_name="demo", token={"access_token": "still-good",
                                                                           "expires_in": 30})
    assert services.get_valid_access_token(user, "demo") == "still-good"  # within the margin, not expired
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=31)), pytest.raises(NeedsReconnect):
        services.get_valid_access_token(user, "demo")


def test_only_a_connection_that_was_never_made_counts_as_never_sent(demo):
    """What may be tried again for a refresh or a code exchange: a refused connection yes, a request the
    provider received but did not answer in time no."""
    import requests

    from authcore.testing import free_port
    from connections.providers import _never_sent

    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"http://127.0.0.1:{free_port()}/o/token/", timeout=2)
    assert _never_sent(refused.value)
    demo.pause()
    try:
        with pytest.raises(requests.ReadTimeout) as unanswered:
            requests.post(demo.token_endpoint, timeout=(2, 0.3))
    finally:
        demo.resume()
    assert not _never_sent(unanswered.value)


def test_inside_a_transaction_it_refuses_every_time_not_only_when_a_refresh_is_due(user, demo):
    """A refresh commits on its own; a caller's transaction is refused at once, whether or not the token is
    about to expire, so the mistake shows in the first test that makes it."""
    from django.db import transaction

    with transaction.atomic(), pytest.raises(RuntimeError):
        services.get_valid_access_token(user, "demo")
