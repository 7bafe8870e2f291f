"""Every page offers a language switcher (a plain form to Django's set_language view), and answers in the
language chosen, or else the browser's, with <html lang dir> saying which. Nothing here reads translated
words: the catalogs change independently, so only codes, attributes and cookies are checked."""
from html.parser import HTMLParser

from django.conf import settings
import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/accounts/register/"]


class Page(HTMLParser):
    """The attributes a test needs: <html>'s, the switcher form's, its select's options, its hidden inputs."""

    def __init__(self, source: str):
        super().__init__()
        self.html: dict = {}
        self.forms: list[dict] = []
        self.options: list[dict] = []
        self.inputs: list[dict] = []
        self.labels: list[dict] = []
        self.selects: list[dict] = []
        self.navs: list[dict] = []
        self.feed(source)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.html = attributes
        collected = {"form": self.forms, "option": self.options, "input": self.inputs, "label": self.labels,
                     "select": self.selects, "nav": self.navs}.get(tag)
        if collected is not None:
            collected.append(attributes)


def switcher_of(page: Page) -> dict:
    [form] = [form for form in page.forms if form.get("action") == "/i18n/setlang/"]
    return form


@pytest.mark.parametrize("path", PAGES)
def test_the_switcher_is_on_the_page(client, path):
    page = Page(client.get(path).content.decode())
    form = switcher_of(page)
    assert form["method"] == "post"
    [select] = [select for select in page.selects if select.get("name") == "language"]
    # The select is labelled: a <label for> names its id.
    assert any(label.get("for") == select["id"] for label in page.labels)
    assert any(nav.get("aria-label") for nav in page.navs)
    # Every language of the settings, each option marked with its own language, the current one selected.
    assert [(option["value"], option["lang"]) for option in page.options] == [
        (code, code) for code, _name in settings.LANGUAGES]
    assert [option["value"] for option in page.options if "selected" in option] == ["en"]
    hidden = {field["name"]: field.get("value") for field in page.inputs if field.get("type") == "hidden"}
    assert hidden["next"] == path
    assert hidden["csrfmiddlewaretoken"]


def test_the_next_field_keeps_the_query_string(client):
    page = Page(client.get("/accounts/register/?from=app").content.decode())
    hidden = {field["name"]: field.get("value") for field in page.inputs if field.get("type") == "hidden"}
    assert hidden["next"] == "/accounts/register/?from=app"


def test_the_current_language_is_selected(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = Page(client.get("/accounts/register/").content.decode())
    assert [option["value"] for option in page.options if "selected" in option] == ["es"]


def test_posting_the_switcher_sets_the_cookie_and_goes_back(client):
    client.get("/accounts/register/")
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/accounts/register/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "de"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"  # no script reads it; not sent cross-site
    # Over https only, as the session cookie (DEBUG is off here).
    assert settings.SESSION_COOKIE_SECURE and cookie["secure"]
    page = Page(client.get(response["Location"]).content.decode())
    assert page.html == {"lang": "de", "dir": "ltr"}


def test_the_switcher_refuses_a_foreign_next(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(("accept_language", "lang", "direction"), [
    ("fr", "fr", "ltr"),
    ("fr-CA,fr;q=0.9", "fr", "ltr"),
    ("xx", "en", "ltr"),  # a language the service does not speak: the default
    ("ar", "ar", "rtl"),
])
def test_the_browser_language_sets_lang_and_dir(client, accept_language, lang, direction):
    for path in PAGES:
        page = Page(client.get(path, HTTP_ACCEPT_LANGUAGE=accept_language).content.decode())
        assert page.html == {"lang": lang, "dir": direction}


def test_the_cookie_wins_over_the_browser_language(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = Page(client.get("/accounts/register/", HTTP_ACCEPT_LANGUAGE="ar").content.decode())
    assert page.html == {"lang": "de", "dir": "ltr"}


def test_a_host_without_the_i18n_urls_still_renders_pages(client, settings):
    settings.ROOT_URLCONF = "authcore.tests.urls_without_i18n"
    response = client.get("/accounts/register/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert page.html == {"lang": "fr", "dir": "ltr"}
    assert not page.selects  # no switcher: there is nowhere to post it
    assert any(form.get("method") == "post" for form in page.forms)  # the page's own form is still there


def hidden_fields(response) -> dict:
    return {field["name"]: field.get("value") for field in Page(response.content.decode()).inputs
            if field.get("type") == "hidden"}


def test_the_connect_callback_page_does_not_copy_the_code_into_the_switcher(client, settings):
    from connections.crypto import generate_key

    provider = {"client_id": "client", "client_secret": "secret", "scopes": ["read"],
                "authorization_url": "https://provider.example/authorize", "token_url": "https://provider.example/token"}
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": provider},
                            "ENCRYPTION_KEYS": [generate_key()], "APP_URL": ""}
    # A state this browser never started: the "not connected" page, at an address holding a code.
    response = client.get("/connections/demo/callback/?code=one-time-code&state=some-state")
    assert response.status_code == 400
    assert hidden_fields(response)["next"] == "/"
    assert b"one-time-code" not in response.content


def test_the_too_many_attempts_page_copies_no_part_of_its_address(client, user, settings):
    """A refused look at an emailed link answers at the link's own address, token in the path: the switcher
    goes home instead of copying it."""
    from accounts.tokens import make_link_token, password_reset_tokens

    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset_confirm": {"ip": "1/h"}}}
    token = make_link_token(password_reset_tokens, user)
    confirm = client.get(f"/accounts/password-reset/{token}/")["Location"]
    client.get(confirm)
    response = client.get(f"{confirm}?secret=value")
    assert response.status_code == 429
    assert hidden_fields(response)["next"] == "/"
    assert b"secret=value" not in response.content and token.encode() not in response.content


def test_an_invalid_link_page_copies_no_token(client):
    token = "not-a-token-but-could-be-a-mistyped-one"  # answered at its own address, not redirected
    response = client.get(f"/accounts/not-me/{token}/")
    assert response.status_code == 400
    assert hidden_fields(response)["next"] == "/" and token.encode() not in response.content
