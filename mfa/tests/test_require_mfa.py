"""A host project's endpoint or page that asks for a sign-in with a second factor: a session opened with a password
alone is refused with 403 `second_factor_required`, one opened with a code gets through."""
from django.test import Client
import pytest

from accounts.testing import login
from authcore.testing import PASSWORD, assert_error, bearer

from .helpers import STEP, enrol_totp, password_step, second_step

pytestmark = [pytest.mark.django_db, pytest.mark.urls("mfa.tests.urls_require_mfa")]


def test_the_api_asks_for_a_second_factor(api, user, clock):
    without = login(api)
    assert_error(api.get("/api/payouts/", **bearer(without["access"])), 403, "second_factor_required")
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    with_factor = second_step(api, password_step(api).json()["mfa_token"], code=app.now()).json()
    assert api.get("/api/payouts/", **bearer(with_factor["access"])).json() == {"payouts": []}


def test_a_page_asks_for_a_second_factor(api, user, clock):
    browser = Client()
    assert browser.get("/payouts/")["Location"] == "/accounts/login/?next=%2Fpayouts%2F"
    browser.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    refused = browser.get("/payouts/")
    assert refused.status_code == 403 and "turn it on for your account" in refused.content.decode()
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    browser.post("/accounts/logout/")
    step = browser.post("/accounts/login/", {"email": user.email, "password": PASSWORD})["Location"]
    browser.post(step, {"code": app.now()})
    assert browser.get("/payouts/").content == b"payouts"
