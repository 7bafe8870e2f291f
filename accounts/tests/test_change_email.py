"""Changing the email address: proven with the password, confirmed from the new mailbox, told to the old one;
the same answer for a taken address; only the latest link works, once, until it expires."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import mail
import pytest
import time_machine

from accounts import events as account_events
from accounts.addresses import mask_email
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.tests.helpers import me, open_session

from .helpers import LINK, emails_to, link_in, only_email_to, token_in

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
NEW = "alice.new@example.org"


def ask(api, access, new_email=NEW, password=PASSWORD):
    return api.post("/api/auth/change-email/", {"password": password, "new_email": new_email}, **bearer(access))


def confirm(api, token):
    return api.post("/api/auth/change-email/confirm/", {"token": token})


@pytest.fixture
def access(user):
    return open_session(user).access


def test_nothing_changes_until_the_link_from_the_new_mailbox_is_followed(api, user, access):
    response = ask(api, access)

    assert response.status_code == 202, response.content
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("alice@example.com", NEW)
    message = only_email_to(NEW)
    assert message.subject == "Confirm your new Auth Service email address"
    assert link_in(message.body).startswith("http://testserver/accounts/change-email/")
    assert link_in(message.body) in message.alternatives[0][0]  # HTML and text parts
    assert emails_to("alice@example.com") == []

    assert confirm(api, token_in(message.body)).status_code == 200

    user.refresh_from_db()
    assert (user.email, user.pending_email, user.pending_email_requested_at) == (NEW, "", None)
    assert user.email_verified  # the link proved the new mailbox
    # The old address is told, with the new one masked, and what to do if it was not them.
    notice = only_email_to("alice@example.com")
    assert notice.subject == "Your Auth Service email address was changed"
    assert "a***@e***.org" in notice.body and NEW not in notice.body and NEW not in notice.alternatives[0][0]
    assert "contact us" in notice.body
    assert not any("/accounts/" in link for link in LINK.findall(notice.body))  # no token in it
    assert SecurityEvent.objects.filter(kind=account_events.EMAIL_CHANGED, user=user).count() == 1
    # The sessions stay; the user logs in with the new address.
    assert me(api, access).json()["email"] == NEW
    assert api.post("/api/auth/login/", {"email": NEW, "password": PASSWORD}).status_code == 200
    assert api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 401


def test_a_taken_address_gets_the_same_answer_and_changes_no_account(api, user, access, make_user):
    make_user("taken@example.org", password=None)
    free, taken = ask(api, access, new_email="free@example.org"), ask(api, access, new_email="TAKEN@example.org")

    assert (free.status_code, free.content) == (taken.status_code, taken.content)
    # Its owner hears of it, with no link and nothing about the account that asked.
    notice = only_email_to("taken@example.org")
    assert "already belongs to an account" in notice.body
    assert not any("change-email" in link for link in LINK.findall(notice.body + notice.alternatives[0][0]))
    assert User.objects.get(pk=user.pk).email == "alice@example.com"
    assert User.objects.filter(email="taken@example.org").count() == 1
    # The requester's account reads the same as for a free address (no enumeration through the export).
    assert User.objects.get(pk=user.pk).pending_email == "TAKEN@example.org"


def test_a_wrong_password_changes_nothing_and_uses_the_change_password_code(api, user, access):
    assert_error(ask(api, access, password="not it"), 400, "password_incorrect")
    assert mail.outbox == []
    assert User.objects.get(pk=user.pk).pending_email == ""
    assert SecurityEvent.objects.filter(kind=account_events.EMAIL_CHANGE_FAIL, user=user).count() == 1


def test_a_newer_request_replaces_the_older_link(api, user, access):
    ask(api, access, new_email="first@example.org")
    older = token_in(only_email_to("first@example.org").body)
    with time_machine.travel(timedelta(seconds=2)):
        ask(api, access, new_email="second@example.org")
        newer = token_in(only_email_to("second@example.org").body)

        assert_error(confirm(api, older), 400, "invalid_token")
        assert confirm(api, newer).status_code == 200
    assert User.objects.get(pk=user.pk).email == "second@example.org"


def test_the_link_works_once(api, user, access):
    ask(api, access)
    token = token_in(only_email_to(NEW).body)
    assert confirm(api, token).status_code == 200
    assert_error(confirm(api, token), 400, "invalid_token")


def test_the_link_expires(api, user, access, settings):
    ask(api, access)
    token = token_in(only_email_to(NEW).body)
    with time_machine.travel(timedelta(hours=24, seconds=5)):
        assert_error(confirm(api, token), 400, "invalid_token")
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


def test_a_password_change_kills_a_pending_link(api, user, access):
    ask(api, access)
    token = token_in(only_email_to(NEW).body)
    user.set_password("violet harbour lantern mosaic")
    user.save()
    assert_error(confirm(api, token), 400, "invalid_token")


def test_an_address_taken_after_the_request_is_a_clear_conflict(api, user, access, make_user):
    ask(api, access)
    token = token_in(only_email_to(NEW).body)
    make_user(NEW.upper(), password=None)  # registered meanwhile, in another spelling

    assert_error(confirm(api, token), 409, "email_taken")
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"password": PASSWORD, "new_email": "not an address"}, "new_email", "invalid"),
    ({"password": PASSWORD, "new_email": "x" * 250 + "@example.org"}, "new_email", "max_length"),
    ({"password": PASSWORD, "new_email": ["a@example.org"]}, "new_email", "invalid"),
    ({"password": PASSWORD}, "new_email", "required"),
    ({"new_email": NEW}, "password", "required"),
    ({"password": "p" * 2000, "new_email": NEW}, "password", "password_too_long"),
    ({"password": PASSWORD, "new_email": "ALICE@example.com"}, "new_email", "email_unchanged"),
])
def test_bad_input_is_a_400_with_the_field_and_its_code(api, user, access, body, field, code):
    response = api.post("/api/auth/change-email/", body, format="json", **bearer(access))
    assert_error(response, 400, "invalid")
    assert {"field": field, "code": code} in [{k: e[k] for k in ("field", "code")} for e in response.json()["errors"]]
    assert mail.outbox == []


@pytest.mark.parametrize("token", ["", "x" * 200, "abc", "abc.def-ghi", 12])
def test_a_malformed_token_is_a_400(api, token):
    assert_error(api.post("/api/auth/change-email/confirm/", {"token": token}, format="json"), 400, "invalid")


def test_asking_needs_a_live_session(api, user, access):
    assert_error(api.post("/api/auth/change-email/", {"password": PASSWORD, "new_email": NEW}), 401,
                 "not_authenticated")


def test_asking_is_rate_limited_per_account(clock, api, user, access):
    # The clock stands still (from before the sign-in): a limit's window ending between two asks would start the
    # count again.
    statuses = [ask(api, access, new_email=f"n{n}@example.org").status_code for n in range(6)]
    assert statuses == [202] * 5 + [429]


def test_confirming_is_rate_limited(api, user, access, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"confirm_email_change": {"ip": "3/m"}}}
    statuses = [confirm(api, "abc.x-0").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_the_masked_address_keeps_only_first_letters_and_the_tld():
    assert mask_email("alice.new@example.org") == "a***@e***.org"
    assert mask_email("b@mail.example.co.uk") == "b***@m***.uk"


# --- the browser page (GET shows, POST confirms; a real browser drives it in test_browser_flows.py) ---------
def test_the_page_refuses_a_dead_link_and_explains_a_taken_address(client, api, user, access, make_user):
    assert client.get("/accounts/change-email/abc.x-0/", follow=True).status_code == 400  # no such link

    ask(api, access)
    link = link_in(only_email_to(NEW).body)
    page = client.get(link, follow=True)
    assert page.status_code == 200 and NEW in page.content.decode()
    make_user(NEW, password=None)  # taken between the GET and the POST

    response = client.post("/accounts/change-email/confirm/")

    assert response.status_code == 409
    assert "did not change" in response.content.decode()
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


def test_many_accounts_cannot_mail_one_address_over_and_over(api, make_user):
    """A limit per address asked for, besides the one per requester."""
    requesters = [open_session(make_user(f"r{n}@example.com")).access for n in range(4)]
    statuses = [ask(api, access, new_email="victim@example.org").status_code for access in requesters]
    assert statuses == [202, 202, 202, 429]
    assert len(emails_to("victim@example.org")) == 3


def test_moving_an_account_and_deleting_it_at_once_still_tells_the_old_address(api, user, access):
    ask(api, access)
    assert confirm(api, token_in(only_email_to(NEW).body)).status_code == 200
    # The intruder deletes the account before anything else happens; the old address heard of the move.
    assert api.post("/api/auth/delete-account/", {"password": PASSWORD}, format="json",
                    **bearer(access)).status_code == 204
    assert only_email_to("alice@example.com").subject == "Your Auth Service email address was changed"
