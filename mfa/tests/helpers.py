"""Setting up and answering second factors through the API, as a client would."""
from datetime import timedelta

import pyotp

from accounts.testing import LOGIN_URL, login
from authcore.testing import PASSWORD, bearer

STEP = timedelta(seconds=30)


def enrol_totp(api, email: str = "alice@example.com") -> tuple[pyotp.TOTP, list[str], dict]:
    """Sign in, set up an authenticator app and confirm it: (the app, the recovery codes, the sign-in's tokens)."""
    tokens = login(api, email)
    tokens["access"] = confirm_password(api, tokens["access"])
    started = api.post("/api/auth/mfa/totp/", **bearer(tokens["access"]))
    assert started.status_code == 201, started.content
    app = pyotp.TOTP(started.json()["secret"])
    confirmed = api.post("/api/auth/mfa/totp/confirm/", {"code": app.now()}, format="json",
                         **bearer(tokens["access"]))
    assert confirmed.status_code == 200, confirmed.content
    return app, confirmed.json()["recovery_codes"], tokens


def confirm_password(api, access: str) -> str:
    """The reauthentication changing the factors asks for (the sign-in does not count): a fresh access token."""
    proven = api.post("/api/auth/reauthenticate/", {"password": PASSWORD}, format="json", **bearer(access))
    assert proven.status_code == 200, proven.content
    return proven.json()["access"]


def password_step(api, email: str = "alice@example.com", password: str = PASSWORD, **extra):
    """The first step of a login of an account with a second factor: the 401 mfa_required answer."""
    return api.post(LOGIN_URL, {"email": email, "password": password, **extra}, format="json")


def second_step(api, mfa_token: str, **answer):
    return api.post("/api/auth/login/mfa/", {"mfa_token": mfa_token, **answer}, format="json")
