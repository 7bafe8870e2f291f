"""Every word in the reader's language: each page, each email and the API's errors in each shipped locale.

"Translated" is checked against the English render of the same thing: no line of the English page's text or
labelling attributes that holds a word (three letters or more) may appear unchanged in the German, Spanish,
French or Arabic one. Values that are data, not words (the site name, an address, a device label, the
languages' own names), are the same in every language and are left out first.
"""
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
import re

from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone, translation
import pytest

from accounts.conf import app_settings
from accounts.emails import CHANGES, _render, deliver_account_email, human_duration
from accounts.flows import not_me
from accounts.models import User
from accounts.tokens import email_change_tokens, make_link_token, password_reset_tokens
from authcore.errors import ERRORS
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db

LOCALES = [code for code, _ in settings.LANGUAGES if code != "en"]
SENTENCE = re.compile(r"[^\W\d_]{3,}")  # a word of three letters or more
URL = re.compile(r"\S+://\S*")  # an address, the same in every language
LABELLING = {"aria-label", "title", "alt", "placeholder"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        self._skipping += tag in ("script", "style")
        self.parts += [value for name, value in attrs if name in LABELLING and value]

    def handle_endtag(self, tag):
        self._skipping -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def phrases(html: str, data: set[str]) -> set[str]:
    """The human-readable phrases of a page or an email: its text and labelling attributes, one line at a time,
    without the values that are data."""
    parser = _Text()
    parser.feed(html)
    lines = {" ".join(URL.sub(" ", line).split()) for part in parser.parts for line in part.splitlines()}
    for value in data:
        lines = {line.replace(value, " ").strip() for line in lines}
    return {line for line in lines if SENTENCE.search(line)}


def untranslated(english: str, translated: str, data: set[str]) -> set[str]:
    return phrases(english, data) & phrases(translated, data)


# The session the "this wasn't me" page shows was opened from this device (sessions_app.tests.helpers.CLIENT).
# The switcher names each language in that language, on every page.
DATA = {app_settings.SITE_NAME, "alice@example.com", "new@example.com", "Chrome on Linux",
        *(translation.get_language_info(code)["name_local"] for code, _ in settings.LANGUAGES),
        # The account's language choices: each language named in itself, as settings.LANGUAGES names it.
        *(str(name) for _, name in settings.LANGUAGES)}


# --- pages ---------------------------------------------------------------------------------------------------
def _reset_link(user):
    return f"/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/"


def _change_email_link(user):
    User.objects.filter(pk=user.pk).update(pending_email="new@example.com", pending_email_requested_at=timezone.now())
    user.refresh_from_db()
    return f"/accounts/change-email/{make_link_token(email_change_tokens, user)}/"


def _not_me_link(user):
    return f"/accounts/not-me/{not_me.not_me_token(open_session(user).session.id)}/"


PAGES = {
    "home": lambda user: "/",
    "register": lambda user: "/accounts/register/",
    "register sent": lambda user: "/accounts/register/sent/",
    "resend verification": lambda user: "/accounts/verify-email/resend/",
    "verification resent": lambda user: "/accounts/verify-email/resend/sent/",
    "password reset": lambda user: "/accounts/password-reset/",
    "password reset sent": lambda user: "/accounts/password-reset/sent/",
    "password reset link": _reset_link,
    "change email link": _change_email_link,
    "not me link": _not_me_link,
    "a link that does not work": lambda user: "/accounts/verify-email/MQ.c1w2x3-0123456789abcdef0123/",
    "verify email confirm": lambda user: "/accounts/verify-email/confirm/",
    "password reset done": lambda user: "/accounts/password-reset/done/",
    "connect callback": lambda user: "/connections/example/callback/",  # no state, no code: "not connected"
    "page not found": lambda user: "/no-such-page/",
}


def page(path: str, language: str) -> str:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(path, follow=True)
    assert response.status_code < 500
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", LOCALES)
@pytest.mark.parametrize("name", PAGES)
def test_each_page_is_translated(name, language, user):
    path = PAGES[name](user)
    english = page(path, "en")
    assert phrases(english, DATA), "the English page has text to compare with"
    assert f'lang="{language}"' in (translated := page(path, language))
    assert untranslated(english, translated, DATA) == set()


@pytest.mark.parametrize("language", LOCALES)
def test_form_errors_are_translated(language):
    def refused(accept: str) -> str:
        browser = Client(HTTP_ACCEPT_LANGUAGE=accept)
        form = browser.get("/accounts/register/")
        response = browser.post("/accounts/register/", {"csrfmiddlewaretoken": form.context["csrf_token"],
                                                        "email": "not an address", "password": "short"})
        assert response.status_code in (200, 400) and 'aria-invalid="true"' in response.content.decode()
        return response.content.decode()

    english, translated = refused("en"), refused(language)
    assert untranslated(english, translated, DATA) == set()


@pytest.mark.parametrize("language", LOCALES)
def test_the_too_many_attempts_page_is_translated(language, user, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset_confirm": {"ip": "1/h"}}}
    link = _reset_link(user)
    assert Client().get(link, follow=True).status_code == 200  # the one look the hour allows
    refused = {accept: Client(HTTP_ACCEPT_LANGUAGE=accept).get(link, follow=True) for accept in ("en", language)}
    assert [response.status_code for response in refused.values()] == [429, 429]
    english, translated = (response.content.decode() for response in refused.values())
    assert untranslated(english, translated, DATA) == set()


@pytest.mark.parametrize("language", LOCALES)
def test_a_page_refused_before_any_view_is_translated(language):
    """A Host header not in ALLOWED_HOSTS is refused by a middleware, not a view: the page is still in the
    reader's language, because the language is chosen above every middleware that can answer."""
    def refused(accept):
        response = Client(HTTP_ACCEPT_LANGUAGE=accept).get("/accounts/register/", HTTP_HOST="evil.example")
        assert response.status_code == 400 and response["Content-Language"] == accept
        return response.content.decode()

    english, translated = refused("en"), refused(language)
    assert phrases(english, DATA) and untranslated(english, translated, DATA) == set()


def test_arabic_pages_are_right_to_left():
    assert '<html lang="ar" dir="rtl">' in page("/accounts/register/", "ar")
    assert '<html lang="de" dir="ltr">' in page("/accounts/register/", "de")


def test_an_unknown_language_falls_back_to_english():
    assert '<html lang="en" dir="ltr">' in page("/accounts/register/", "en")
    response = Client(HTTP_ACCEPT_LANGUAGE="xx, ja;q=0.5").get("/accounts/register/")
    assert response["Content-Language"] == "en"
    assert untranslated(page("/accounts/register/", "en"), response.content.decode(), DATA) == \
        phrases(page("/accounts/register/", "en"), DATA)


# --- emails ----------------------------------------------------------------------------------------------------
EMAIL_CONTEXT = {"site_name": "Example Site", "site_url": "https://auth.example.com", "login_url": "https://app.example.com/",
                 "reset_url": "https://auth.example.com/accounts/password-reset/", "link": "https://example.com/l/x",
                 "lifetime": "1", "device": "Chrome on Linux", "ip_address": "203.0.113.5",
                 "signed_in_at": timezone.now(), "ended_at": timezone.now(), "new_email": "new@example.com",
                 "old_email": "alice@example.com",
                 "masked_email": "a***@e***.com", "failures": 5, "not_me_url": "https://example.com/n/x",
                 "left": 2, "running_low": True}
EMAIL_DATA = DATA | {"Example Site"}


def rendered(template: str, language: str, user, **context) -> tuple[str, str, str]:
    with translation.override(language):
        message = _render(template, {**EMAIL_CONTEXT, "user": user, **context}, to=user.email)
    return message.subject, message.body, message.alternatives[0][0]


@pytest.mark.parametrize("language", LOCALES)
@pytest.mark.parametrize("template", sorted({change.template for change in CHANGES.values()}))
def test_each_email_is_translated(template, language, user):
    english, translated = rendered(template, "en", user), rendered(template, language, user)
    for english_part, translated_part in zip(english, translated, strict=True):
        assert phrases(english_part, EMAIL_DATA), "the English email has text to compare with"
        assert untranslated(english_part, translated_part, EMAIL_DATA) == set()
    assert f'lang="{language}"' in translated[2]


@pytest.mark.parametrize(("language", "lifetimes"), [
    ("en", ["1 hour", "2 hours", "1 day", "7 days", "30 minutes"]),
    ("de", ["1 Stunde", "2 Stunden", "1 Tag", "7 Tage", "30 Minuten"]),
    ("es", ["1 hora", "2 horas", "1 día", "7 días", "30 minutos"]),
    ("fr", ["1 heure", "2 heures", "1 jour", "7 jours", "30 minutes"]),
])
def test_a_links_lifetime_is_counted_in_the_locales_plurals(language, lifetimes):
    """The lifetime an emailed link states ("the link works for 2 hours"), with each language's plural forms."""
    durations = [timedelta(hours=1), timedelta(hours=2), timedelta(days=1), timedelta(days=7), timedelta(minutes=30)]
    with translation.override(language):
        assert [human_duration(duration) for duration in durations] == lifetimes


def test_arabic_counts_a_lifetime_in_its_own_plural_forms():
    """Arabic has six plural forms: "hour" takes at least three different words for 1, 2, 3-10, 11-99 and 100
    hours, where English has two."""
    def words(language):
        with translation.override(language):
            return [human_duration(timedelta(hours=count)).lstrip("0123456789 ")
                    for count in (1, 2, 3, 11, 100)]

    assert len(set(words("en"))) == 2 and len(set(words("ar"))) >= 3
    assert not set(words("ar")) & set(words("en"))


@pytest.mark.parametrize(("language", "written"), [("en", "6 December 2026, 19:30 UTC"),
                                                   ("de", "6. Dezember 2026, 19:30 UTC"),
                                                   ("es", "6 de diciembre de 2026, 19:30 UTC"),
                                                   ("fr", "6 décembre 2026, 19:30 UTC"),
                                                   ("ar", "6 ديسمبر 2026، 19:30 UTC")])
def test_dates_are_written_the_locales_way(language, written, user):
    when = datetime(2026, 12, 6, 19, 30, tzinfo=UTC)
    subject, text, html = rendered("new_sign_in", language, user, signed_in_at=when)
    assert written in text and written in html


@pytest.mark.django_db(transaction=True)  # the email is queued on commit
def test_an_email_is_in_its_recipients_language_not_the_requests(api, user):
    """A German user's reset email, asked for by a request in Spanish, arrives in German."""
    User.objects.filter(pk=user.pk).update(language="de")
    response = api.post("/api/auth/password-reset/", {"email": user.email}, format="json",
                        HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 202 and response["Content-Language"] == "es"
    (message,) = mail.outbox
    german, spanish = (rendered("password_reset", language, user, site_name=app_settings.SITE_NAME)[0]
                       for language in ("de", "es"))
    assert german != spanish
    assert message.subject == german
    assert 'lang="de"' in message.alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_registration_keeps_the_requests_language(api):
    response = api.post("/api/auth/register/", {"email": "bob@example.com", "password": "violet tangerine harbour"},
                        format="json", HTTP_ACCEPT_LANGUAGE="fr-CA, fr;q=0.9")
    assert response.status_code in (201, 202)
    assert User.objects.get(email="bob@example.com").language == "fr"
    (message,) = mail.outbox  # the verification email, in French
    assert 'lang="fr"' in message.alternatives[0][0]


# --- the API ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LOCALES)
def test_an_api_error_speaks_the_requests_language_with_the_same_code(api, language):
    english = api.post("/api/auth/login/", {"email": "nobody@example.com", "password": "wrong password"},
                       format="json", HTTP_ACCEPT_LANGUAGE="en")
    translated = api.post("/api/auth/login/", {"email": "nobody@example.com", "password": "wrong password"},
                          format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert_error(english, 401, "invalid_credentials")
    assert_error(translated, 401, "invalid_credentials")
    assert translated["Content-Language"] == language and "Accept-Language" in translated["Vary"]
    with translation.override(language):
        assert translated.json()["detail"] == str(ERRORS["invalid_credentials"].message)
    assert translated.json()["detail"] != english.json()["detail"] == "Invalid email or password."


@pytest.mark.parametrize("language", LOCALES)
def test_field_messages_are_translated_and_keep_their_codes(api, language):
    def refused(accept):
        response = api.post("/api/auth/register/", {"email": "not an address", "password": ""}, format="json",
                            HTTP_ACCEPT_LANGUAGE=accept)
        body = assert_error(response, 400, "invalid")
        return {(error["field"], error["code"]): error["message"] for error in body["errors"]}

    english, translated = refused("en"), refused(language)
    assert english.keys() == translated.keys()
    assert all(translated[key] != english[key] for key in english)


def test_an_unknown_language_gets_english_errors(api):
    response = api.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="xx")
    body = assert_error(response, 401, "not_authenticated")
    assert response["Content-Language"] == "en"
    assert body["detail"] == "Authentication credentials were not provided."


# --- the user's language ---------------------------------------------------------------------------------------
def test_patch_me_sets_the_language_and_refuses_one_not_offered(api, sessions):
    user, access = sessions[0].session.user, sessions[0].access
    changed = api.patch("/api/auth/me/", {"language": "ar"}, format="json", **bearer(access))
    assert changed.status_code == 200 and changed.json()["language"] == "ar"
    assert User.objects.get(pk=user.pk).language == "ar"
    refused = api.patch("/api/auth/me/", {"language": "xx"}, format="json", **bearer(access))
    body = assert_error(refused, 400, "invalid")
    assert [(error["field"], error["code"]) for error in body["errors"]] == [("language", "invalid_choice")]
    assert User.objects.get(pk=user.pk).language == "ar"
    cleared = api.patch("/api/auth/me/", {"language": ""}, format="json", **bearer(access))
    assert cleared.json()["language"] == ""


def test_the_admin_shows_the_language(admin_client, user):
    User.objects.filter(pk=user.pk).update(language="es")
    response = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert response.status_code == 200
    assert '<option value="es" selected>' in response.content.decode()


def test_one_requests_language_does_not_stay_for_the_next(api):
    """The active language is kept per thread: each request sets its own, whatever the one before it spoke."""
    german = api.get("/api/auth/me/", HTTP_ACCEPT_LANGUAGE="de")
    plain = api.get("/api/auth/me/")
    assert german["Content-Language"] == "de" and plain["Content-Language"] == "en"
    assert plain.json()["detail"] == "Authentication credentials were not provided." != german.json()["detail"]
    assert plain["Vary"] == german["Vary"] and "Accept-Language" in plain["Vary"]


# --- the recipient's language, in each case ----------------------------------------------------------------------
def _signed_in(api, email: str = "alice@example.com") -> dict:
    response = api.post("/api/auth/login/", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return bearer(response.json()["access"])


def test_the_recipients_language_is_read_when_the_email_is_written(user):
    """Queued while the account read Spanish, written after it chose German: German."""
    User.objects.filter(pk=user.pk).update(language="de")
    deliver_account_email.call(str(user.pk), "password_changed", {}, language="es")
    (message,) = mail.outbox
    assert message.subject == rendered("password_changed", "de", user, site_name=app_settings.SITE_NAME)[0]


def test_an_email_queued_before_languages_existed_is_in_the_default_language(user):
    deliver_account_email.call(str(user.pk), "password_changed", {})  # the arguments of a task queued by 0.1.0
    (message,) = mail.outbox
    assert message.subject == rendered("password_changed", "en", user, site_name=app_settings.SITE_NAME)[0]


@pytest.mark.django_db(transaction=True)
def test_an_account_without_a_language_hears_in_the_default_not_in_the_requests(api, user):
    """Whoever triggers a security email (here a reset asked for in Arabic) does not choose its language."""
    assert user.language == ""
    api.post("/api/auth/password-reset/", {"email": user.email}, format="json", HTTP_ACCEPT_LANGUAGE="ar")
    (message,) = mail.outbox
    assert 'lang="en"' in message.alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_the_deletion_notice_is_in_the_deleted_accounts_language(api, user):
    User.objects.filter(pk=user.pk).update(language="de")
    response = api.post("/api/auth/delete-account/", {"password": PASSWORD}, format="json",
                        HTTP_ACCEPT_LANGUAGE="es", **_signed_in(api))
    assert response.status_code == 204, response.content
    (message,) = [message for message in mail.outbox if message.to == ["alice@example.com"]]
    assert message.subject == rendered("account_deleted", "de", user, site_name=app_settings.SITE_NAME)[0]


@pytest.mark.django_db(transaction=True)
def test_the_taken_address_notice_is_in_its_owners_language(api, user, make_user):
    """Someone (reading French) asks to move their account onto an address another account has: that account's
    owner (reading German) is told, in German."""
    make_user("bob@example.com", language="de")
    User.objects.filter(pk=user.pk).update(language="fr")
    mail.outbox.clear()
    response = api.post("/api/auth/change-email/", {"password": PASSWORD, "new_email": "bob@example.com"},
                        format="json", HTTP_ACCEPT_LANGUAGE="fr", **_signed_in(api))
    assert response.status_code == 202, response.content
    (message,) = [message for message in mail.outbox if message.to == ["bob@example.com"]]
    assert 'lang="de"' in message.alternatives[0][0]
    assert message.subject == rendered("email_change_taken", "de", user, site_name=app_settings.SITE_NAME)[0]


SIGNED_IN_PAGES = ["/accounts/", "/accounts/sessions/", "/accounts/confirm-password/", "/accounts/password-change/",
                   "/accounts/change-email/", "/accounts/delete/", "/connections/", "/accounts/mfa/"]


def signed_in_page(path: str, language: str) -> str:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert browser.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    response = browser.get(path)
    assert response.status_code == 200 and response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", LOCALES)
@pytest.mark.parametrize("path", ["/accounts/login/", *SIGNED_IN_PAGES])
def test_each_account_page_is_translated(path, language, user):
    show = page if path == "/accounts/login/" else signed_in_page
    english = show(path, "en")
    assert phrases(english, DATA), "the English page has text to compare with"
    assert untranslated(english, show(path, language), DATA) == set()


def second_factor_pages(language: str) -> list[str]:
    """Every page of two-step sign-in as one account sees them in `language`: setting up the app, the recovery codes,
    the factors' page with the app on, the confirmation that asks for a factor, and the second step of signing in."""
    import pyotp

    from mfa.models import Authenticator

    Authenticator.objects.all().delete()
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    browser.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})
    browser.post("/accounts/confirm-password/", {"password": PASSWORD})
    browser.post("/accounts/mfa/totp/start/")
    setup = browser.get("/accounts/mfa/totp/").content.decode()
    secret = setup.split('<code class="secret">')[1].split("</code>")[0]
    wrong = browser.post("/accounts/mfa/totp/", {"code": "000000"}).content.decode()
    codes = browser.post("/accounts/mfa/totp/", {"code": pyotp.TOTP(secret).now()}).content.decode()
    pages = [setup.replace(secret, ""), wrong.replace(secret, ""), codes,
             browser.get("/accounts/mfa/").content.decode(),
             browser.get("/accounts/confirm-password/?factor=1").content.decode(),
             browser.get("/accounts/confirm-password/").content.decode()]
    browser.post("/accounts/logout/")
    step = browser.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})["Location"]
    pages.append(browser.post(step, {"code": "000000"}).content.decode())
    return pages


@pytest.mark.parametrize("language", LOCALES)
def test_the_second_factor_pages_are_translated(language, user):
    for english, translated in zip(second_factor_pages("en"), second_factor_pages(language), strict=True):
        assert phrases(english, DATA), "the English page has text to compare with"
        assert untranslated(english, translated, DATA) == set()


@pytest.mark.parametrize("language", LOCALES)
def test_the_account_pages_messages_are_translated(language, user):
    def saved(accept: str) -> str:
        browser = Client(HTTP_ACCEPT_LANGUAGE=accept)
        browser.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})
        browser.post("/accounts/sessions/end-others/")
        return browser.get("/accounts/sessions/").content.decode()

    english = saved("en")
    assert "Every other session is signed out." in english
    assert untranslated(english, saved(language), DATA) == set()
