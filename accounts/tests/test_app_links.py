"""No dead ends: the pages that end a flow, the home page and the emails lead on to the application
(ACCOUNTS["APP_URL"]), or to this service's home page when no application is configured."""
from django.test import Client
import pytest

from accounts.flows import verification
from accounts.tokens import email_verification_tokens, make_link_token
from authcore.requestmeta import ClientInfo

from .helpers import emails_to

pytestmark = pytest.mark.django_db

APP = "https://app.example.com/login"


@pytest.fixture
def app_url(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "APP_URL": APP}
    return APP


def test_the_home_page_leads_to_the_account_pages_and_the_docs(client):
    html = client.get("/").content.decode()
    for link in ('href="/accounts/register/"', 'href="/accounts/password-reset/"',
                 'href="/accounts/verify-email/resend/"', 'href="/api/docs/"'):
        assert link in html
    assert "app.example.com" not in html


def test_the_home_page_leads_to_the_app(client, app_url):
    assert f'href="{APP}"' in client.get("/").content.decode()


def verified_page(make_user) -> str:
    user = make_user("new@example.com", verified=False)
    client = Client()
    client.get(f"/accounts/verify-email/{make_link_token(email_verification_tokens, user)}/")
    return client.post("/accounts/verify-email/confirm/").content.decode()


def test_the_verified_page_leads_on(make_user, app_url):
    html = verified_page(make_user)
    assert "Email address verified" in html and f'href="{APP}"' in html


def test_without_an_app_the_verified_page_leads_to_sign_in(make_user, settings):
    html = verified_page(make_user)
    assert 'href="/accounts/login/"' in html and APP not in html


def test_the_reset_done_page_leads_on(client, app_url):
    html = client.get("/accounts/password-reset/done/").content.decode()
    assert "Password changed" in html and f'href="{APP}"' in html


def test_the_welcome_email_leads_to_the_app(make_user, app_url, django_capture_on_commit_callbacks):
    user = make_user("new@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        verification.verify_email(token=make_link_token(email_verification_tokens, user), client=ClientInfo())

    welcome = emails_to("new@example.com")[-1]
    assert welcome.subject == "Welcome to Auth Service"
    assert APP in welcome.body
    html = welcome.alternatives[0][0]
    assert f'href="{APP}"' in html
