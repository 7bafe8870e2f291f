"""Security keys and passkeys (WebAuthn) through the API, answered by a software authenticator (real keys, real
signatures): adding one, using it as the login's second factor and to confirm who you are, signing in with a
passkey alone, and what is refused: a used or foreign challenge, another origin, a passkey that did not verify its
user, a cloned key (its counter went back), a key nobody has."""
from django.core import mail
import pytest

from accounts.testing import LOGIN_URL, login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from mfa.models import Authenticator
from sessions_app.models import Session
from sessions_app.tests.dpop_client import DPoPKey
from sessions_app.tests.helpers import claims

from .helpers import confirm_password, password_step, second_step
from .softkey import SoftKey

OPTIONS_URL = "/api/auth/login/mfa/options/"

pytestmark = pytest.mark.django_db


def add_key(api, access: str, key: SoftKey, *, kind: str = "passkey", name: str = "My key"):
    """Add a key to an account without a factor yet (the password confirmed first)."""
    access = confirm_password(api, access)
    options = api.post("/api/auth/mfa/webauthn/register/options/", {"kind": kind}, format="json", **bearer(access))
    assert options.status_code == 200, options.content
    body = options.json()
    assert body["attestation"] == "none" and body["rp"]["id"] == "testserver"
    return api.post("/api/auth/mfa/webauthn/register/", {"credential": key.create_json(body), "name": name,
                                                         "kind": kind}, format="json", **bearer(access))


@pytest.fixture
def key() -> SoftKey:
    return SoftKey()


@pytest.fixture
def keyed(api, user, key) -> dict:
    """A user with a passkey; the sign-in's tokens."""
    tokens = login(api)
    added = add_key(api, tokens["access"], key)
    assert added.status_code == 201, added.content
    return tokens


def passkey_login(api, key: SoftKey, **extra):
    options = api.post("/api/auth/passkey/options/").json()
    assert options["userVerification"] == "required" and not options.get("allowCredentials")
    return api.post("/api/auth/passkey/login/", {"credential": key.get_json(options), **extra}, format="json")


@pytest.mark.django_db(transaction=True)  # the email goes out when the transaction commits
def test_adding_a_passkey_makes_it_a_factor(api, user, key):
    tokens = login(api)
    assert_error(api.post("/api/auth/mfa/webauthn/register/options/", {"kind": "passkey"}, format="json",
                          **bearer(tokens["access"])), 403, "reauthentication_required")  # the sign-in is no proof
    added = add_key(api, tokens["access"], key, name="Laptop")
    assert added.status_code == 201 and len(added.json()["recovery_codes"]) == 10
    stored = Authenticator.objects.get(user=user)
    assert stored.kind == "webauthn" and stored.passkey and stored.name == "Laptop" and stored.public_key
    status = api.get("/api/auth/mfa/", **bearer(tokens["access"])).json()
    assert status["methods"] == ["webauthn", "recovery_code"]  # (the old access token still reads)
    assert [item["name"] for item in status["security_keys"]] == ["Laptop"]
    assert mail.outbox[-1].subject.startswith("A second factor was added")
    assert "A passkey signs in without your password" in mail.outbox[-1].body


def test_a_key_as_the_logins_second_factor(api, keyed, key):
    first = assert_error(password_step(api), 401, "mfa_required")
    assert first["methods"] == ["webauthn", "recovery_code"]
    options = api.post("/api/auth/login/mfa/options/", {"mfa_token": first["mfa_token"]}, format="json").json()
    assert [item["id"] for item in options["allowCredentials"]] == [Authenticator.objects.get().credential_id]
    done = second_step(api, first["mfa_token"], webauthn=key.get_json(options))
    assert done.status_code == 200, done.content
    assert claims(done.json()["access"])["amr"] == ["pwd", "hwk", "mfa"]


def test_a_key_as_the_second_factor_of_a_login_with_dpop(api, keyed, key):
    """The password step's DPoP key binds its mfa_token: the options and the answer come with proofs by it."""
    holder = DPoPKey()

    def post(url, body, proof=True):
        return api.post(url, body, format="json", **(holder.headers("POST", url) if proof else {}))

    first = assert_error(post(LOGIN_URL, {"email": "alice@example.com", "password": PASSWORD}), 401, "mfa_required")
    assert_error(post(OPTIONS_URL, {"mfa_token": first["mfa_token"]}, proof=False), 401, "mfa_token_invalid")
    options = post(OPTIONS_URL, {"mfa_token": first["mfa_token"]}).json()
    done = post("/api/auth/login/mfa/", {"mfa_token": first["mfa_token"], "webauthn": key.get_json(options)})
    assert done.status_code == 200, done.content
    assert claims(done.json()["access"])["cnf"] == {"jkt": holder.thumbprint}


def test_signing_in_with_a_passkey_alone(api, keyed, key, user):
    done = passkey_login(api, key, device_name="Laptop", transport="cookie")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["user"]["email"] == user.email and "refresh" not in body  # cookie transport
    session = Session.objects.get(pk=body["session_id"])
    assert session.device_name == "Laptop" and session.auth_methods == "hwk mfa"
    assert claims(body["access"])["amr"] == ["hwk", "mfa"]
    assert Authenticator.objects.get().sign_count == key.sign_count


def test_an_answer_works_once(api, keyed, key):
    options = api.post("/api/auth/passkey/options/").json()
    answer = key.get_json(options)
    assert api.post("/api/auth/passkey/login/", {"credential": answer}, format="json").status_code == 200
    assert_error(api.post("/api/auth/passkey/login/", {"credential": answer}, format="json"), 400, "webauthn_invalid")


def test_a_cloned_key_is_refused_and_audited(api, keyed, key, user):
    assert passkey_login(api, key).status_code == 200
    options = api.post("/api/auth/passkey/options/").json()
    clone = api.post("/api/auth/passkey/login/", {"credential": key.get_json(options, repeat_counter=True)},
                     format="json")
    assert_error(clone, 400, "webauthn_cloned")
    event = SecurityEvent.objects.get(kind="mfa_webauthn_clone")
    assert event.user == user and event.details["reported_count"] == event.details["stored_count"] == key.sign_count


def test_a_passkey_must_verify_its_user(api, keyed, key):
    key.verifies_user = False
    assert_error(passkey_login(api, key), 400, "webauthn_invalid")


def test_another_origin_is_refused(api, keyed, key):
    options = api.post("/api/auth/passkey/options/").json()
    answer = key.get_json(options, origin="https://evil.example")
    assert_error(api.post("/api/auth/passkey/login/", {"credential": answer}, format="json"), 400, "webauthn_invalid")


def test_a_challenge_serves_only_its_purpose(api, keyed, key):
    """Options made for a second step (this user's) cannot sign in without a password."""
    token = password_step(api).json()["mfa_token"]
    options = api.post("/api/auth/login/mfa/options/", {"mfa_token": token}, format="json").json()
    answer = key.get_json(options)
    assert_error(api.post("/api/auth/passkey/login/", {"credential": answer}, format="json"), 400, "webauthn_invalid")


def test_an_unknown_passkey(api, keyed):
    stranger = SoftKey()
    stranger.cred_init("testserver", b"someone")
    assert_error(passkey_login(api, stranger), 400, "passkey_unknown")


def test_a_wrong_key_at_the_second_step_counts_as_a_failure(api, keyed, user):
    stranger = SoftKey()
    stranger.cred_init("testserver", b"someone")
    token = password_step(api).json()["mfa_token"]
    options = api.post("/api/auth/login/mfa/options/", {"mfa_token": token}, format="json").json()
    assert_error(second_step(api, token, webauthn=stranger.get_json(options)), 400, "mfa_code_incorrect")
    assert SecurityEvent.objects.filter(kind="authn_login_mfa_fail", user=user).count() == 1


def test_removing_a_key_takes_a_key_or_a_code(api, keyed, key, user, clock):
    from datetime import timedelta

    from sessions_app.tests.helpers import rotate

    tokens = passkey_login(api, key).json()
    clock.shift(timedelta(minutes=6))
    tokens = rotate(api, tokens["refresh"])
    key_id = Authenticator.objects.get().pk
    assert_error(api.delete(f"/api/auth/mfa/webauthn/{key_id}/", **bearer(tokens["access"])), 403,
                 "reauthentication_required")
    options = api.post("/api/auth/reauthenticate/options/", **bearer(tokens["access"])).json()
    proven = api.post("/api/auth/reauthenticate/", {"webauthn": key.get_json(options)}, format="json",
                      **bearer(tokens["access"]))
    assert proven.status_code == 200, proven.content
    assert api.delete(f"/api/auth/mfa/webauthn/{key_id}/", **bearer(proven.json()["access"])).status_code == 204
    assert not Authenticator.objects.filter(user=user).exists()


def test_renaming_a_key(api, keyed):
    key_id = Authenticator.objects.get().pk
    renamed = api.patch(f"/api/auth/mfa/webauthn/{key_id}/", {"name": "Work laptop"}, format="json",
                        **bearer(keyed["access"]))
    assert renamed.json()["name"] == "Work laptop"
    event = SecurityEvent.objects.get(kind="mfa_factor_renamed")
    assert event.details["previous_name"] == "My key" and event.details["name"] == "Work laptop"
    assert api.patch(f"/api/auth/mfa/webauthn/{key_id}/", {"name": "Work laptop"}, format="json",
                     **bearer(keyed["access"])).status_code == 200
    assert SecurityEvent.objects.filter(kind="mfa_factor_renamed").count() == 1  # the same name is no change
    assert_error(api.patch("/api/auth/mfa/webauthn/not-a-key/", {"name": "x"}, format="json",
                           **bearer(keyed["access"])), 404, "not_found")



def test_a_security_key_added_as_a_second_factor_cannot_sign_in_alone(api, user):
    """Its authenticator may keep it on the device and verify its user anyway: what the user chose holds."""
    tokens = login(api)
    key = SoftKey()
    assert add_key(api, tokens["access"], key, kind="security_key").status_code == 201
    assert not Authenticator.objects.get().passkey
    assert_error(passkey_login(api, key), 400, "passkey_unknown")


def test_an_answer_nested_past_the_parser_is_refused_not_a_500(api, user):
    """Under the size cap, but deeper than the JSON parser goes: inside the answer, and as a page's form value."""
    from .softkey import b64url

    deep = {"id": "x", "response": {"clientDataJSON": b64url(b"[" * 3000)}}
    assert_error(api.post("/api/auth/passkey/login/", {"credential": deep}, format="json"), 400, "webauthn_invalid")
    page = api.post("/accounts/mfa/passkey/sign-in/", {"credential": "[" * 3000})
    assert page.status_code == 302 and page["Location"] == "/accounts/login/"


def test_a_cloned_key_at_the_second_step_counts_as_a_failure(api, keyed, key, user):
    """A copy of the key is refused as such, and its answer counts toward the account's lock like a wrong code."""
    first = password_step(api).json()
    options = api.post("/api/auth/login/mfa/options/", {"mfa_token": first["mfa_token"]}, format="json").json()
    assert second_step(api, first["mfa_token"], webauthn=key.get_json(options)).status_code == 200
    again = password_step(api).json()
    options = api.post("/api/auth/login/mfa/options/", {"mfa_token": again["mfa_token"]}, format="json").json()
    clone = second_step(api, again["mfa_token"], webauthn=key.get_json(options, repeat_counter=True))
    assert_error(clone, 400, "webauthn_cloned")
    assert SecurityEvent.objects.filter(kind="authn_login_mfa_fail", user=user).count() == 1
