"""Deleting an account, by its owner with the password or by an operator in the admin: every session ends at
once, the profile and sessions go, the security log stays unlinked, the address is told and can register
again."""
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
import pytest

from accounts import events as account_events
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import RefreshToken, Session
from sessions_app.tests.helpers import me, open_session, refresh

from .helpers import LINK, only_email_to

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def delete(api, access, password=PASSWORD, **extra):
    return api.post("/api/auth/delete-account/", {"password": password}, format="json", **bearer(access), **extra)


def test_the_owner_deletes_the_account_and_every_session_ends_at_once(api, user, bystander):
    phone, laptop = open_session(user), open_session(user)
    earlier = SecurityEvent.objects.create(kind="authn_login_success", user=user, ip_address="203.0.113.9")

    response = delete(api, phone.access)

    assert response.status_code == 204, response.content
    assert not User.objects.filter(pk=user.pk).exists()
    # Both devices are out at once: the access tokens too, not only the refresh tokens.
    for tokens in (phone, laptop):
        assert_error(me(api, tokens.access), 401, "token_not_valid")
        assert_error(refresh(api, tokens.refresh), 401, "token_not_valid")
    assert not Session.objects.filter(user_id=user.pk).exists()
    assert not RefreshToken.objects.filter(session_id__in=[phone.session.id, laptop.session.id]).exists()
    # Someone else's session is untouched.
    assert me(api, bystander.access).status_code == 200
    # The audit trail: the earlier event stays, unlinked; the deletion names the former account id.
    earlier.refresh_from_db()
    assert (earlier.user_id, earlier.ip_address) == (None, "203.0.113.9")
    deleted = SecurityEvent.objects.get(kind=account_events.ACCOUNT_DELETED)
    assert deleted.details["former_user_id"] == str(user.pk) and deleted.details["sessions_ended"] == 2
    assert deleted.actor_id is None
    # The address it had is told, in both parts, with no link that carries a token.
    message = only_email_to("alice@example.com")
    assert message.subject == "Your Auth Service account was deleted"
    assert "was deleted" in message.alternatives[0][0]
    assert not any("/accounts/" in link or "token" in link for link in LINK.findall(message.body))


def test_the_address_can_register_again(api, user, register_user):
    delete(api, open_session(user).access)
    mail.outbox.clear()

    assert register_user(email="alice@example.com").status_code == 202
    assert User.objects.get(email="alice@example.com").pk != user.pk
    assert "verify" in only_email_to("alice@example.com").subject.lower()


def test_a_wrong_password_deletes_nothing(api, user):
    tokens = open_session(user)
    assert_error(delete(api, tokens.access, password="not it"), 400, "password_incorrect")
    assert User.objects.filter(pk=user.pk).exists()
    assert me(api, tokens.access).status_code == 200
    assert mail.outbox == []
    assert SecurityEvent.objects.filter(kind=account_events.ACCOUNT_DELETE_FAIL, user=user).count() == 1


def test_guessing_the_password_is_rate_limited_per_account(api, user, clock):
    # The clock stands still: a limit's window ending between two guesses would start the count again.
    tokens = open_session(user)
    statuses = [delete(api, tokens.access, password=f"guess {n}").status_code for n in range(6)]
    assert statuses == [400] * 5 + [429]
    # Even the right password waits out the limit.
    assert_error(delete(api, tokens.access), 429, "rate_limited")
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize(("body", "code"), [({}, "required"), ({"password": 5}, "invalid"),
                                            ({"password": "p" * 2000}, "password_too_long")])
def test_bad_input_is_a_400(api, user, body, code):
    response = api.post("/api/auth/delete-account/", body, format="json", **bearer(open_session(user).access))
    assert_error(response, 400, "invalid")
    assert response.json()["errors"][0]["code"] == code
    assert User.objects.filter(pk=user.pk).exists()


def test_it_needs_a_live_session(api, user):
    assert_error(api.post("/api/auth/delete-account/", {"password": PASSWORD}), 401, "not_authenticated")


def test_a_refresh_cookie_is_cleared(api, user):
    response = delete(api, open_session(user).access)
    cookies = [cookie for cookie in response.cookies.values() if cookie["max-age"] == 0]
    assert cookies, response.cookies


# --- operators ------------------------------------------------------------------------------------------------
@pytest.fixture
def operator(make_user):
    return make_user("operator@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def operator_browser(operator) -> Client:
    browser = Client()
    browser.force_login(operator)
    return browser


def test_an_operator_deletes_from_the_admin_with_the_same_effect(api, user, operator, operator_browser):
    tokens = open_session(user)

    response = operator_browser.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert_error(me(api, tokens.access), 401, "token_not_valid")
    deleted = SecurityEvent.objects.get(kind=account_events.ACCOUNT_DELETED)
    assert deleted.actor_id == operator.pk
    assert only_email_to("alice@example.com").subject == "Your Auth Service account was deleted"


def test_the_delete_selected_action_deletes_each_the_same_way(api, user, make_user, operator, operator_browser):
    bob = make_user("bob@example.com")
    tokens = [open_session(user), open_session(bob)]

    operator_browser.post(reverse("admin:accounts_user_changelist"), {
        "action": "delete_selected", "post": "yes", "_selected_action": [str(user.pk), str(bob.pk)]})

    assert not User.objects.filter(pk__in=[user.pk, bob.pk]).exists()
    assert all(me(api, t.access).status_code == 401 for t in tokens)
    assert SecurityEvent.objects.filter(kind=account_events.ACCOUNT_DELETED, actor=operator).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]


def test_an_operator_cannot_delete_their_own_account_from_the_admin(operator, operator_browser):
    response = operator_browser.post(reverse("admin:accounts_user_delete", args=[operator.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=operator.pk).exists()


# --- races with a deletion ----------------------------------------------------------------------------------
def test_a_login_whose_account_is_deleted_after_the_password_check_gets_no_session(user):
    """The password was checked, then the account went: the login answers 401, never a 500."""
    from accounts.flows import login
    from authcore.errors import ServiceError
    from authcore.requestmeta import ClientInfo

    stale = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).delete()
    with pytest.raises(ServiceError) as raised, pytest.MonkeyPatch.context() as patch:
        proven = login.ProvenCredentials(user=stale, device_token="token", device_id="device", known_device=False,
                                         second_factor_methods=[])
        patch.setattr(login, "check_credentials", lambda **kwargs: proven)
        login.log_in(email="alice@example.com", password=PASSWORD, client=ClientInfo())
    assert raised.value.code == "invalid_credentials"
    assert not Session.objects.filter(user_id=user.pk).exists()



def test_the_admin_confirmation_page_counts_sessions_instead_of_listing_them(user, operator_browser,
                                                                          django_assert_max_num_queries):
    for _ in range(3):
        open_session(user)
    with django_assert_max_num_queries(12):
        page = operator_browser.get(reverse("admin:accounts_user_delete", args=[user.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "3 sessions and their refresh tokens" in html
    assert "Refresh token" not in html  # no row of the refresh-token history is loaded or shown


def test_password_guesses_share_one_budget_across_the_flows_that_prove_it(api, user):
    """A stolen access token does not get 5 guesses a minute per flow (change password, change email,
    delete): the sixth wrong guess in a minute, in any of them, is refused."""
    access = open_session(user).access
    guesses = [
        api.post("/api/auth/change-password/", {"current_password": "guess 1", "new_password": "x" * 20},
                 format="json", **bearer(access)),
        api.post("/api/auth/change-email/", {"password": "guess 2", "new_email": "n@example.org"}, format="json",
                 **bearer(access)),
        delete(api, access, password="guess 3"),
        api.post("/api/auth/change-email/", {"password": "guess 4", "new_email": "m@example.org"}, format="json",
                 **bearer(access)),
        delete(api, access, password="guess 5"),
    ]
    assert [response.status_code for response in guesses] == [400] * 5
    assert_error(delete(api, access, password="guess 6"), 429, "rate_limited")
    assert User.objects.filter(pk=user.pk).exists()
