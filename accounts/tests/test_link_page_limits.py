"""The pages an emailed link opens look at the link before showing their button (reset, change email, "this
wasn't me"). That look is under the limits of using the link, so the page is no free oracle for links: the
third look with a limit of two is a 429 page with Retry-After, and a POST counts once, not twice."""
from django.test import Client
from django.utils import timezone
import pytest

from accounts.flows import not_me
from accounts.models import User
from accounts.tokens import email_change_tokens, make_link_token, password_reset_tokens
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet tangerine harbour lantern"


def reset_page(user):
    return f"/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/", \
        "/accounts/password-reset/new-password/"


def change_email_page(user):
    User.objects.filter(pk=user.pk).update(pending_email="new@example.com", pending_email_requested_at=timezone.now())
    user.refresh_from_db()
    return f"/accounts/change-email/{make_link_token(email_change_tokens, user)}/", "/accounts/change-email/confirm/"


def not_me_page(user):
    session = open_session(user).session
    return f"/accounts/not-me/{not_me.not_me_token(session.id)}/", "/accounts/not-me/confirm/"


PAGES = {"reset": ("password_reset_confirm", reset_page), "change_email": ("confirm_email_change", change_email_page),
         "not_me": ("not_me", not_me_page)}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("limit", ["ip", "account"])
def test_looking_at_a_link_is_under_the_limits_of_using_it(page, limit, user, settings):
    scope, make = PAGES[page]
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {scope: {limit: "2/h"}}}
    link, confirm = make(user)
    browser = Client()
    assert browser.get(link).status_code == 302
    assert [browser.get(confirm).status_code for _ in range(2)] == [200, 200]
    response = browser.get(confirm)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_a_post_counts_once(user, settings):
    """Using the link from the page costs one count, as through the API: the page looked at it once (GET)
    and the flow once (POST), two of a budget of two, and the reset goes through."""
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset_confirm": {"account": "2/h"}}}
    link, confirm = reset_page(user)
    browser = Client()
    browser.get(link)
    page = browser.get(confirm)
    response = browser.post(confirm, {"csrfmiddlewaretoken": page.context["csrf_token"],
                                      "new_password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
