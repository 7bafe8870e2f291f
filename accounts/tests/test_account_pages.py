"""The browser pages (Django test client): forms, headers, CSRF, and the reset token leaving the URL."""
import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
import pytest
from rest_framework.test import APIClient

from accounts.testing import login
from accounts.tokens import email_verification_tokens, make_link_token, password_reset_tokens

from .helpers import link_in, only_email_to

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


@pytest.fixture
def browser():
    return Client()


def assert_private(response, referrer_policy="same-origin"):
    assert response["Referrer-Policy"] == referrer_policy
    assert "no-store" in response["Cache-Control"]


def open_verification_link(client, user):
    """GET the emailed link: it stashes the token and redirects to the token-less confirm page."""
    link = client.get(f"/accounts/verify-email/{make_link_token(email_verification_tokens, user)}/")
    assert (link.status_code, link["Location"]) == (302, "/accounts/verify-email/confirm/")
    assert_private(link, referrer_policy="no-referrer")
    return link


def test_register_page_is_accessible(browser):
    response = browser.get("/accounts/register/")
    html = response.content.decode()
    assert_private(response)
    assert '<html lang="en' in html
    for field, autocomplete in (("email", "email"), ("name", "name"), ("password", "new-password")):
        assert f'<label for="id_{field}">' in html
        assert re.search(rf'<input[^>]*autocomplete="{autocomplete}"[^>]*id="id_{field}"', html), field
    assert 'aria-describedby="id_password_helptext"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_register_form_sends_the_verification_email(browser):
    response = browser.post("/accounts/register/", {"email": "new@example.com", "password": "plum tree orbit cascade"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/sent/"
    assert "Check your email" in browser.get(response["Location"]).content.decode()
    assert "/accounts/verify-email/" in only_email_to("new@example.com").body


def test_register_form_shows_the_services_errors_next_to_the_fields(browser, make_user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ENUMERATION_PROTECTION": False}
    make_user(email="owner@example.com")
    response = browser.post("/accounts/register/", {"email": "owner@example.com", "password": "qwertyuiopasdfgh"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_password_error"><li>This password is too common.</li></ul>' in html
    assert re.search(r'<input[^>]*aria-describedby="id_password_helptext id_password_error"[^>]*aria-invalid="true"'
                     r'|<input[^>]*aria-invalid="true"[^>]*aria-describedby="id_password_helptext id_password_error"',
                     html)
    assert mail.outbox == []


def test_verification_link_get_does_not_verify(browser, make_user):
    """Mail scanners prefetch links: only the POST behind the button verifies."""
    user = make_user(email="una@example.com", verified=False)
    open_verification_link(browser, user)
    page = browser.get("/accounts/verify-email/confirm/")
    browser.head("/accounts/verify-email/confirm/")
    assert page.status_code == 200
    assert_private(page)
    assert '<button type="submit">Verify my email address</button>' in page.content.decode()
    assert not User.objects.get().email_verified

    done = browser.post("/accounts/verify-email/confirm/")
    assert done.status_code == 200
    assert "Email address verified" in done.content.decode()
    assert User.objects.get().email_verified


def test_verification_post_needs_the_csrf_token(make_user):
    user = make_user(email="una@example.com", verified=False)
    strict = Client(enforce_csrf_checks=True)
    open_verification_link(strict, user)
    assert strict.post("/accounts/verify-email/confirm/").status_code == 403
    assert not User.objects.get().email_verified


def test_used_verification_link_shows_the_invalid_page(browser, make_user):
    user = make_user(email="una@example.com", verified=False)
    open_verification_link(browser, user)
    browser.post("/accounts/verify-email/confirm/")
    open_verification_link(browser, user)
    again = browser.post("/accounts/verify-email/confirm/")
    assert again.status_code == 400
    assert "This link does not work" in again.content.decode()
    assert browser.get("/accounts/verify-email/confirm/").status_code == 400  # nothing left in the session


def test_reset_link_moves_the_token_out_of_the_url(browser, user):
    browser.post("/accounts/password-reset/", {"email": "alice@example.com"})
    link = link_in(only_email_to("alice@example.com").body)
    token = link.rstrip("/").rsplit("/", 1)[-1]

    redirect = browser.get(link.removeprefix("http://testserver"))
    assert redirect.status_code == 302
    assert redirect["Location"] == "/accounts/password-reset/new-password/"
    assert_private(redirect, referrer_policy="no-referrer")

    form = browser.get(redirect["Location"])
    assert form.status_code == 200
    assert_private(form)
    assert token not in form.content.decode()
    assert 'autocomplete="new-password"' in form.content.decode()

    done = browser.post(redirect["Location"], {"new_password": "violet harbour lantern mosaic"})
    assert done["Location"] == "/accounts/password-reset/done/"
    assert login(APIClient(), password="violet harbour lantern mosaic")
    # The token left the session with the reset: the form page now says the link does not work.
    assert browser.get(redirect["Location"]).status_code == 400


def test_reset_form_keeps_the_token_when_the_password_is_refused(browser, user):
    browser.get(f"/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/")
    refused = browser.post("/accounts/password-reset/new-password/", {"new_password": "password"})
    assert refused.status_code == 200
    assert 'id="id_new_password_error"' in refused.content.decode()
    accepted = browser.post("/accounts/password-reset/new-password/", {"new_password": "violet harbour lantern mosaic"})
    assert accepted.status_code == 302


def test_reset_form_without_a_token_is_the_invalid_page(browser):
    response = browser.get("/accounts/password-reset/new-password/")
    assert response.status_code == 400
    assert "Ask for a new password reset link" in response.content.decode()


def test_reset_request_page_answers_alike(browser, user):
    known = browser.post("/accounts/password-reset/", {"email": "alice@example.com"})
    unknown = browser.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert known["Location"] == unknown["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1


def test_resend_page(browser, make_user):
    make_user(email="una@example.com", verified=False)
    response = browser.post("/accounts/verify-email/resend/", {"email": "una@example.com"})
    assert response["Location"] == "/accounts/verify-email/resend/sent/"
    assert "/accounts/verify-email/" in only_email_to("una@example.com").body


def test_forms_are_rate_limited_with_a_page(browser, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset": {"account": "2/h"}}}
    for _ in range(2):
        browser.post("/accounts/password-reset/", {"email": "alice@example.com"})
    response = browser.post("/accounts/password-reset/", {"email": "ALICE@example.com"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
