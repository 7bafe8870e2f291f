"""A device name the client chooses at login ("Alice's iPhone"): kept on the session, listed with it, shown
to operators, and refused with a field error when it is not a plain short name."""
import re

import pytest
from rest_framework.test import APIClient

from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import Session

pytestmark = pytest.mark.django_db


def log_in(api, headers=None, **fields):
    return api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD, **fields},
                    format="json", **(headers or {}))


def test_the_name_is_kept_and_listed_next_to_the_parsed_device(api, user):
    login = log_in(api, device_name="  Alice's iPhone ", headers={"HTTP_USER_AGENT": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1")})
    assert login.status_code == 200, login.content

    listed = api.get("/api/auth/sessions/", **bearer(login.json()["access"])).json()

    assert listed[0]["device_name"] == "Alice's iPhone"
    assert listed[0]["device"] == "Mobile Safari on iOS"  # parsed from the user agent, shown beside it


def test_without_a_name_the_field_is_empty(api, user):
    login = log_in(api)
    assert api.get("/api/auth/sessions/", **bearer(login.json()["access"])).json()[0]["device_name"] == ""


@pytest.mark.parametrize("name", ["tab\there", "line\nbreak", "nul\x00", "bell\x07", "del\x7f", "x" * 65, 42,
                                  "bidi\u202eoverride"])
def test_a_name_that_is_not_a_plain_short_name_is_a_field_error(api, user, name):
    body = assert_error(log_in(api, device_name=name), 400, "invalid")
    assert {error["field"] for error in body["errors"]} == {"device_name"}
    assert not Session.objects.exists()


def test_operators_see_the_name_in_the_admin(client, user, django_user_model):
    login_response = log_in(APIClient(), device_name="Kitchen tablet")
    assert login_response.status_code == 200
    operator = django_user_model.objects.create_superuser("ops@example.com", PASSWORD)
    client.force_login(operator)

    listing = client.get("/admin/sessions_app/session/").content.decode()
    detail = client.get(f"/admin/sessions_app/session/{Session.objects.get().pk}/change/").content.decode()
    user_page = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()

    assert '<td class="field-device_name">Kitchen tablet</td>' in listing
    assert "Kitchen tablet" in detail and "HttpOnly cookie" not in detail and "JSON body" in detail
    assert re.search(r'<td class="field-device_name">\s*<p>Kitchen tablet</p>', user_page)  # the live inline
