"""Where an admin login lands: the `next` it was sent with when that is a URL of this site, else the admin
index (never LOGIN_REDIRECT_URL, the host project's page, which this project does not have)."""
from django.test import Client
import pytest

from authcore.testing import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
ADMIN_INDEX = "/admin/"


@pytest.fixture
def staff(make_user):
    return make_user("staff@example.com", is_staff=True, is_superuser=True)


def log_in(client, **query):
    return client.post(LOGIN, {"username": "staff@example.com", "password": PASSWORD, **query})


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "http://evil.example/admin/",
                                      "javascript:alert(1)"])
def test_a_refused_next_lands_on_the_admin_index(staff, next_url):
    client = Client()
    response = log_in(client, next=next_url)

    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert client.get(response["Location"]).status_code == 200


def test_a_refused_next_in_the_query_string_lands_on_the_admin_index(staff):
    response = Client().post(f"{LOGIN}?next=https://evil.example/",
                             {"username": "staff@example.com", "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)


def test_a_login_without_next_lands_on_the_admin_index(staff):
    assert log_in(Client())["Location"] == ADMIN_INDEX


@pytest.mark.parametrize("next_url", ["/admin/accounts/user/", "/admin/accounts/user/?q=alice",
                                      "http://testserver/admin/sessions_app/session/"])
def test_a_next_on_this_site_is_honoured(staff, next_url):
    response = log_in(Client(), next=next_url)
    assert (response.status_code, response["Location"]) == (302, next_url)


def test_a_next_asking_for_the_login_redirect_url_itself_is_honoured(staff, settings):
    settings.LOGIN_REDIRECT_URL = "/somewhere/"
    assert log_in(Client(), next="/somewhere/")["Location"] == "/somewhere/"
    assert log_in(Client(), next="https://evil.example/")["Location"] == ADMIN_INDEX


def test_a_failed_login_is_the_form_again(staff):
    response = Client().post(LOGIN, {"username": "staff@example.com", "password": "wrong",
                                     "next": "https://evil.example/"})
    assert response.status_code == 200
