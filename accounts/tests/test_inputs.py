"""One input per flow: the browser page and the JSON endpoint of a flow validate with the same form
(accounts.forms), so they refuse the same input with the same field error codes."""
from django.test import Client
import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

GOOD = {"email": "new@example.com", "password": "plum tree orbit cascade", "name": "New"}


def page_errors(response) -> dict[str, set[str]]:
    form = response.context["form"]
    return {field: {error.code for error in errors} for field, errors in form.errors.as_data().items()}


def api_errors(response) -> dict[str, set[str]]:
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.content
    errors: dict[str, set[str]] = {}
    for error in response.json()["errors"]:
        errors.setdefault(error["field"], set()).add(error["code"])
    return errors


@pytest.mark.parametrize("changes, expected", [
    ({"name": "n" * 151}, {"name": {"max_length"}}),
    ({"email": "not-an-address"}, {"email": {"invalid"}}),
    ({"email": "a" * 250 + "@example.com"}, {"email": {"max_length"}}),
    ({"email": ""}, {"email": {"required"}}),
    ({"password": "p" * 1025}, {"password": {"password_too_long"}}),
    ({"name": "Nul\x00byte"}, {"name": {"null_characters_not_allowed"}}),
], ids=["long-name", "bad-email", "long-email", "no-email", "long-password", "nul"])
def test_register_page_and_api_refuse_the_same_input_the_same_way(api, changes, expected):
    body = {**GOOD, **changes}

    page = Client().post("/accounts/register/", body)
    endpoint = api.post("/api/auth/register/", body)

    assert page.status_code == 200  # the form again, with its errors
    assert page_errors(page) == expected == api_errors(endpoint)
    assert not User.objects.exists()


def test_the_reset_page_never_renders_the_token(client, user):
    from accounts.tokens import make_link_token, password_reset_tokens

    token = make_link_token(password_reset_tokens, user)
    page = client.get(f"/accounts/password-reset/{token}/", follow=True)

    assert page.status_code == 200 and 'name="new_password"' in page.content.decode()
    assert token not in page.content.decode() and 'name="token"' not in page.content.decode()


def test_the_reset_page_shown_again_with_errors_never_renders_the_token(client, user):
    from accounts.tokens import make_link_token, password_reset_tokens

    token = make_link_token(password_reset_tokens, user)
    form_page = client.get(f"/accounts/password-reset/{token}/", follow=True)

    refused = client.post(form_page.request["PATH_INFO"], {"new_password": "short", "token": "forged.1-ab"})

    assert refused.status_code == 200 and "password_too_short" in {
        error.code for error in refused.context["form"].errors.as_data()["new_password"]}
    assert token not in refused.content.decode() and 'name="token"' not in refused.content.decode()
