"""The token vault: AES-GCM at rest, each ciphertext bound to its row, keys rotated with a re-encryption
command; the configuration checks; and no token in any log line, admin page or API response."""
import json
import logging
import os
from pathlib import Path
import subprocess
import sys

from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
import pytest

from authcore.models import SecurityEvent
from authcore.testing import bearer
from config.settings_test import TEST_SIGNING_KEYS
from connections import crypto, events, services
from connections.checks import check_connections
from connections.models import Connection
from sessions_app.tests.helpers import open_session

from .conftest import provider_settings
from .helpers import connect, query_of, start

pytestmark = pytest.mark.django_db(transaction=True)
PROJECT = Path(__file__).resolve().parents[2]


def stored_key_ids() -> set[bytes]:
    return {bytes(key_id) for key_id in Connection.objects.values_list("key_id", flat=True)}


def use_keys(settings, keys: list[str]) -> None:
    settings.CONNECTIONS = {**settings.CONNECTIONS, "ENCRYPTION_KEYS": keys}


# --- binding ------------------------------------------------------------------------------------------------
def test_a_ciphertext_copied_to_another_users_row_does_not_decrypt(api, user, make_user, demo):
    alice_row = connect(api, user, demo)
    bob = make_user("bob@example.com", password=None)
    bob_row = connect(api, bob, demo)

    # An attacker with write access to the table moves alice's token into bob's row.
    Connection.objects.filter(pk=bob_row.pk).update(access_token_ciphertext=alice_row.access_token_ciphertext)

    with pytest.raises(crypto.DecryptionFailed):
        Connection.objects.get(pk=bob_row.pk).read_token("access_token")


def test_a_ciphertext_moved_to_another_field_or_provider_does_not_decrypt(api, user, settings, demo):
    connection = connect(api, user, demo)
    moved = Connection.objects.get(pk=connection.pk)
    moved.refresh_token_ciphertext = connection.access_token_ciphertext
    with pytest.raises(crypto.DecryptionFailed):
        moved.read_token("refresh_token")
    moved = Connection.objects.get(pk=connection.pk)
    moved.provider = "other"
    with pytest.raises(crypto.DecryptionFailed):
        moved.read_token("access_token")


def test_a_tampered_ciphertext_does_not_decrypt(api, user, demo):
    connection = connect(api, user, demo)
    value = bytearray(connection.access_token_ciphertext)
    value[-1] ^= 1
    connection.access_token_ciphertext = bytes(value)
    with pytest.raises(crypto.DecryptionFailed):
        connection.read_token("access_token")


# --- key rotation -------------------------------------------------------------------------------------------
def test_rotating_keys_with_the_reencryption_command(api, user, make_user, settings, keys, demo):
    old, new = keys[0], keys[1]
    users = [user, make_user("bob@example.com", password=None), make_user("carol@example.com", password=None)]
    tokens = {u.pk: connect(api, u, demo).read_token("access_token") for u in users}
    assert stored_key_ids() == {crypto.parse_key(old).key_id}

    # The new key first: new values are encrypted with it, old ones still decrypt with the old key.
    use_keys(settings, [new, old])
    assert services.get_valid_access_token(user, "demo") == tokens[user.pk]

    call_command("reencrypt_connection_tokens", "--batch-size", "2")

    assert stored_key_ids() == {crypto.parse_key(new).key_id}
    assert SecurityEvent.objects.get(kind=events.REENCRYPTED).details == {"rows": 3}
    # Idempotent: a second run rewrites nothing.
    call_command("reencrypt_connection_tokens")
    assert SecurityEvent.objects.filter(kind=events.REENCRYPTED).count() == 1
    # The old key can go now.
    use_keys(settings, [new])
    assert {u.pk: services.get_valid_access_token(u, "demo") for u in users} == tokens


def test_removing_a_key_too_early_is_a_clear_error(api, user, settings, keys, demo):
    connect(api, user, demo)
    use_keys(settings, [keys[1]])  # the key the tokens were encrypted with is gone
    with pytest.raises(CommandError, match="keep the old key"):
        call_command("reencrypt_connection_tokens")


# --- configuration -----------------------------------------------------------------------------------------
def ids(settings, **connections) -> set[str]:
    settings.CONNECTIONS = {**settings.CONNECTIONS, **connections}
    return {error.id for error in check_connections()}


@pytest.mark.parametrize("config", [
    {"client_secret": "s", "authorization_url": "https://p.example/a", "token_url": "https://p.example/t"},
    {"client_id": "c", "client_secret": "s", "token_url": "https://p.example/t"},
    {"client_id": "c", "client_secret": "s", "authorization_url": "ftp://p.example/a", "token_url": "https://p/t"},
    {"client_id": "c", "client_secret": "s", "authorization_url": "http://p.example/a", "token_url": "https://p/t"},
    {"client_id": "c", "client_secret": "s", "discovery_url": "https://p.example/d", "scopes": "read"},
    {"client_id": "c", "client_secret": "s", "discovery_url": "https://p.example/d", "token_ur": "typo"},
], ids=["no-client-id", "no-authorization-url", "not-http", "plain-http", "scopes-not-a-list", "unknown-key"])
def test_a_malformed_provider_is_reported(settings, config):
    assert "connections.E001" in ids(settings, PROVIDERS={"p": config}, ENCRYPTION_KEYS=[crypto.generate_key()])


def test_a_well_formed_provider_passes(settings, demo):
    assert not ids(settings)
    assert not ids(settings, PROVIDERS={"d": {"client_id": "c", "client_secret": "s",
                                              "discovery_url": "https://p.example/.well-known/openid-configuration"}})


def test_keys_are_checked(settings, demo):
    assert "connections.E002" in ids(settings, ENCRYPTION_KEYS=["too-short"])
    settings.DEBUG = False
    assert "connections.E003" in ids(settings, ENCRYPTION_KEYS=[])
    settings.DEBUG = True
    assert "connections.W001" in ids(settings, ENCRYPTION_KEYS=[])
    # Nothing configured, nothing to protect: no warning on every `make run`.
    assert "connections.W001" not in ids(settings, ENCRYPTION_KEYS=[], PROVIDERS={})


def start_process(**environment) -> subprocess.CompletedProcess:
    # ENV_FILE empty: a developer's .env (make run writes one, DEBUG on) must not stand in for what is tested.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "",
           "SECRET_KEY": "vault-test-secret-" + "k" * 48, "JWT_SIGNING_KEYS": TEST_SIGNING_KEYS,
           "EMAIL_BACKEND": "django_ses.SESBackend", **environment}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_with_debug_off_the_service_refuses_to_start_with_providers_and_no_key():
    providers = json.dumps({"demo": {"client_id": "c", "client_secret": "s",
                                     "discovery_url": "https://p.example/.well-known/openid-configuration"}})
    refused = start_process(CONNECTIONS_PROVIDERS=providers)
    assert refused.returncode != 0 and "CONNECTIONS_ENCRYPTION_KEYS must be set" in refused.stderr
    assert start_process(CONNECTIONS_PROVIDERS=providers,
                         CONNECTIONS_ENCRYPTION_KEYS=crypto.generate_key()).returncode == 0


def test_in_debug_a_development_key_is_derived_from_the_secret_key(settings, api, user, demo):
    use_keys(settings, [])
    settings.DEBUG = True
    connection = connect(api, user, demo)
    assert bytes(connection.key_id) == crypto.development_key().key_id
    settings.DEBUG = False
    with pytest.raises(Exception, match="ENCRYPTION_KEYS"):
        Connection.objects.get(pk=connection.pk).read_token("access_token")


# --- no token anywhere it could leak ------------------------------------------------------------------------
def test_no_token_in_logs_admin_pages_or_api_responses(api, user, make_user, caplog, demo):
    caplog.set_level(logging.DEBUG)
    bodies = [start(api, user).content.decode()]
    connection = connect(api, user, demo)
    connection_tokens = [connection.read_token(field) for field in ("access_token", "refresh_token", "id_token")]
    Connection.objects.filter(pk=connection.pk).update(expires_at=connection.connected_at)
    services.get_valid_access_token(user, "demo")  # a refresh, logged and audited
    connection.refresh_from_db()
    connection_tokens += [connection.read_token(field) for field in ("access_token", "refresh_token")]
    access = bearer(open_session(user).access)
    bodies += [api.get(path, **access).content.decode() for path in ("/api/connections/", "/api/connections/demo/")]
    operator = make_user("operator@example.com", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(operator)
    bodies.append(browser.get(reverse("admin:connections_connection_changelist")).content.decode())
    change_page = browser.get(reverse("admin:connections_connection_change", args=[connection.pk])).content.decode()
    bodies.append(change_page)
    bodies.append(json.dumps(list(SecurityEvent.objects.values("kind", "details")), default=str))
    bodies.append(caplog.text)

    secrets = [token for token in connection_tokens if token] + [demo.client_secret]
    assert len(secrets) >= 5
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    assert "Scopes" in change_page and "ciphertext" not in change_page.lower() and "key id" not in change_page.lower()


def test_the_admin_cannot_edit_or_add(api, user, make_user, demo):
    connection = connect(api, user, demo)
    operator = make_user("operator@example.com", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(operator)
    assert browser.get(reverse("admin:connections_connection_add")).status_code == 403
    # Every field the page shows, posted back changed, as a browser would.
    form = {"user": str(user.pk), "provider": "demo", "status": "revoked", "scopes": "admin",
            "last_error": "edited", "_save": "Save"}
    browser.post(reverse("admin:connections_connection_change", args=[connection.pk]), form)
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.status, stored.scopes, stored.last_error) == ("active", connection.scopes, "")
    page = browser.get(reverse("admin:connections_connection_change", args=[connection.pk])).content.decode()
    assert 'name="scopes"' not in page and 'name="status"' not in page  # shown, never editable


def test_providers_settings_are_read_for_each_request(settings, api, user, demo):
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"other": provider_settings(demo)}}
    assert start(api, user, provider="demo").status_code == 404


def test_rotation_also_covers_connections_in_progress(api, user, settings, keys, demo):
    """An attempt started under the old key completes after the old key is removed."""
    from .helpers import complete

    response = start(api, user)
    use_keys(settings, [keys[1], keys[0]])
    call_command("reencrypt_connection_tokens")
    use_keys(settings, [keys[1]])

    answer = query_of(demo.authorize(response.json()["authorization_url"]))
    assert complete(api, user, answer).status_code == 200


def test_a_discovery_document_cannot_send_secrets_or_users_anywhere(settings, api, user, demo):
    """Its endpoints follow the rules of configured ones: no javascript: URL for apps to navigate to, no plain
    http to another host for the client secret and tokens."""
    import http.server
    import threading

    from authcore.testing import free_port

    document = {"authorization_endpoint": "javascript:alert(document.cookie)",
                "token_endpoint": "http://collector.example/token"}

    class Discovery(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"evil": {
            "client_id": "c", "client_secret": "s", "discovery_url": f"http://127.0.0.1:{server.server_port}/d"}}}
        response = start(api, user, provider="evil")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 503 and response.json()["code"] == "provider_unavailable"
    assert "javascript" not in response.content.decode()


def test_authorize_params_cannot_replace_the_flows_own(settings):
    config = {"client_id": "c", "client_secret": "s", "discovery_url": "https://p.example/d",
              "authorize_params": {"response_type": "token"}}
    assert "connections.E001" in ids(settings, PROVIDERS={"p": config}, ENCRYPTION_KEYS=[crypto.generate_key()])


def test_browser_apps_on_another_origin_may_call_the_connections_api(settings, client):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = client.options("/api/connections/demo/connect/", HTTP_ORIGIN="https://app.example.com",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert preflight["Access-Control-Allow-Credentials"] == "true"


def test_the_callback_keeps_the_apps_own_query(settings, api, user, demo):
    settings.CONNECTIONS = {**settings.CONNECTIONS, "APP_URL": "https://app.example.com/settings?tab=accounts"}
    answer = query_of(demo.authorize(start(api, user).json()["authorization_url"]))
    browser = Client()
    browser.cookies = api.cookies
    page = browser.get("/connections/demo/callback/", answer)
    assert page["Location"] == "https://app.example.com/settings?tab=accounts&connected=demo"
