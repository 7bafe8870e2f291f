"""Display names (accounts.names): one line, NFC, no control or bidirectional characters, the same rule in
the API, the pages, the admin and the model; and the emails that may reach someone other than the owner of
the account carry no name at all."""
import json
import re
import sys
import unicodedata
from unittest.mock import ANY

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client
import pytest

from accounts.models import User
from accounts.names import (
    DISPLAY_NAME_MAX_LENGTH,
    DISPLAY_NAME_PATTERN,
    INVALID_CHARACTERS_CODE,
    clean_display_name,
)
from authcore.errors import FIELD_ERROR_CODES
from authcore.testing import PASSWORD, bearer
from sessions_app.tests.helpers import open_session

from .helpers import plain_text
from .test_admin_users import ADD, change_form_data, change_url

pytestmark = pytest.mark.django_db

# What an attacker would like a stranger's mailbox to show, as one line (which the rule allows) and as
# the several lines of a stored name from before the rule.
LURE = "SECURITY NOTICE: call +1-555-0100 or visit https://evil.example"
LURE_LINES = "SECURITY NOTICE\ncall +1-555-0100\nvisit https://evil.example"
LURE_PARTS = ("SECURITY NOTICE", "555-0100", "evil.example")
# The emails that may reach someone other than the owner of the account.
STRANGER_EMAILS = ("account_exists", "password_reset", "verify_email", "confirm_email_change", "email_change_taken")
REGISTER = {"email": "victim@example.com", "password": "plum tree orbit cascade"}

REFUSED = {
    "line feed": "Alice\nBob", "carriage return": "Alice\rBob", "CRLF": "Alice\r\nBob", "NEL": "Alice\x85Bob",
    "line separator": "Alice\u2028Bob", "paragraph separator": "Alice\u2029Bob", "tab": "Alice\tBob",
    "bell": "Alice\x07", "escape": "\x1b[31mAlice", "DEL": "Alice\x7f", "C1": "Alice\x9b",
    "trailing line feed": "Alice\n", "line feed alone": "\n",
    "RLO": "Alice\u202egnp.exe", "LRE": "\u202aAlice", "RLE": "\u202bAlice", "PDF": "Alice\u202c",
    "LRO": "\u202dAlice", "LRI": "\u2066Alice", "RLI": "\u2067Alice", "FSI": "\u2068Alice", "PDI": "Alice\u2069",
    "LRM": "Alice\u200e", "RLM": "Alice\u200f", "ALM": "Alice\u061c",
}
ACCEPTED = {
    "emoji ZWJ sequence": "Sam \U0001f469\u200d\U0001f469\u200d\U0001f467",
    "flag and skin tone": "Ana \U0001f1f5\U0001f1f9 \U0001f44b\U0001f3fd",
    "Persian with ZWNJ": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    "Arabic": "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",
    "Hebrew": "\u05d3\u05d5\u05d3 \u05db\u05d4\u05df",
    "Devanagari with ZWJ": "\u0915\u094d\u200d\u0937",
    "accents": "Zo\u00eb O'Brien-M\u00fcller",
    "no-break space inside": "Jean\u00a0Dupont",
}


def field_errors(response) -> list[dict]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid", body
    return body["errors"]


def patch_name(api, user, name: str):
    return api.patch("/api/auth/me/", {"name": name}, **bearer(open_session(user).access))


def mailed_text(message) -> str:
    """Everything a recipient reads: subject, plain text and HTML."""
    html = message.get_body(preferencelist=("html",)).get_content()
    return "\n".join([message["Subject"], plain_text(message), html])


# --- the reported case, end to end ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_no_attacker_text_reaches_the_victims_mailbox(api, ses):
    """Someone registers the victim's address with a name meant as a message, then registers it again and asks
    for a reset: the victim's mailbox (through django-ses) shows none of that name."""
    refused = api.post("/api/auth/register/", {**REGISTER, "name": LURE_LINES})
    assert field_errors(refused) == [{"field": "name", "code": INVALID_CHARACTERS_CODE, "message": ANY}]
    assert not User.objects.exists() and ses.messages == []

    # The single-line version is a valid name; it still must not reach the mailbox.
    assert api.post("/api/auth/register/", {**REGISTER, "name": LURE}).status_code == 202
    assert api.post("/api/auth/register/", {**REGISTER, "name": LURE,
                                            "password": "another plum tree orbit"}).status_code == 202
    assert api.post("/api/auth/password-reset/", {"email": "victim@example.com"}).status_code == 202

    messages = ses.messages
    assert [message["Subject"] for message in messages] == [
        "Verify your email address for Auth Service", "Someone tried to register with your address at Auth Service",
        "Reset your Auth Service password"]
    for message in messages:
        assert message["To"] == "victim@example.com"
        assert plain_text(message).startswith("Hello,\r\n")  # CRLF, as SMTP carries it
        text = mailed_text(message)
        assert not any(part in text for part in LURE_PARTS), text


@pytest.mark.django_db(transaction=True)
def test_a_name_stored_before_the_rule_reaches_no_strangers_mailbox(api, ses, make_user):
    """Names already stored may hold anything: the emails that may reach a non-owner show none of it, sent
    through the real flows: registering again, a reset, a new verification link, and an address change (the
    confirmation to the new address, the notice to the owner of a taken one)."""
    victim = make_user("victim@example.com", verified=False)
    asker = make_user("asker@example.com")
    make_user("taken@example.com")
    # Stored as a migration or an old release could have stored it: update() runs no validator.
    User.objects.filter(pk__in=[victim.pk, asker.pk]).update(name=LURE_LINES)

    api.post("/api/auth/register/", REGISTER)
    api.post("/api/auth/password-reset/", {"email": "victim@example.com"})
    api.post("/api/auth/verify-email/resend/", {"email": "victim@example.com"})
    for new_email in ("asker.new@example.com", "taken@example.com"):
        response = api.post("/api/auth/change-email/", {"password": PASSWORD, "new_email": new_email},
                            **bearer(open_session(asker).access))
        assert response.status_code == 202, response.content

    sent = {(message["To"], message["Subject"]): message for message in ses.messages}
    assert set(sent) == {
        ("victim@example.com", "Someone tried to register with your address at Auth Service"),
        ("victim@example.com", "Reset your Auth Service password"),
        ("victim@example.com", "Verify your email address for Auth Service"),
        ("asker.new@example.com", "Confirm your new Auth Service email address"),
        ("taken@example.com", "Your Auth Service email address"),
    }
    for message in sent.values():
        assert not any(part in mailed_text(message) for part in LURE_PARTS), mailed_text(message)


def test_the_templates_of_emails_to_possible_strangers_show_nothing_of_the_user(make_user):
    user = make_user("victim@example.com")
    user.name = "Mallory Marker"
    context = {"user": user, "site_name": "Auth Service", "login_url": "https://auth.example/login/",
               "reset_url": "https://auth.example/reset/", "link": "https://auth.example/link/t.k/",
               "lifetime": "1 hour"}
    for template in STRANGER_EMAILS:
        for suffix in ("_subject.txt", ".txt", ".html"):
            rendered = render_to_string(f"accounts/emails/{template}{suffix}", context)
            assert "Marker" not in rendered and "victim@" not in rendered, (template, suffix, rendered)
        assert render_to_string(f"accounts/emails/{template}.txt", context).startswith("Hello,\n"), template
        assert "<p>Hello,</p>" in render_to_string(f"accounts/emails/{template}.html", context), template


# --- the API --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", REFUSED.values(), ids=REFUSED.keys())
def test_patch_me_refuses_line_breaks_controls_and_bidi_controls(api, user, name):
    user.name = "Alice"
    user.save(update_fields=["name"])

    response = patch_name(api, user, name)

    assert field_errors(response) == [{"field": "name", "code": INVALID_CHARACTERS_CODE, "message": ANY}]
    user.refresh_from_db()
    assert user.name == "Alice"


@pytest.mark.parametrize("name", ["Alice\nBob", "\u202eAlice", "Alice\x07"], ids=["LF", "RLO", "bell"])
def test_register_refuses_them_too(api, name):
    response = api.post("/api/auth/register/", {**REGISTER, "name": name})

    assert field_errors(response) == [{"field": "name", "code": INVALID_CHARACTERS_CODE, "message": ANY}]
    assert not User.objects.exists()


def test_the_maximum_length_counts_the_stored_normalised_name(api, user):
    # U+0958 is one of the few characters NFC writes as two (it is excluded from composition).
    grows = "\u0958" * (DISPLAY_NAME_MAX_LENGTH // 2 + 1)
    assert len(grows) <= DISPLAY_NAME_MAX_LENGTH < len(unicodedata.normalize("NFC", grows))

    for name in ("n" * (DISPLAY_NAME_MAX_LENGTH + 1), grows):
        assert field_errors(patch_name(api, user, name)) == [{"field": "name", "code": "max_length", "message": ANY}]
    assert patch_name(api, user, "n" * DISPLAY_NAME_MAX_LENGTH).status_code == 200


def test_names_are_stored_nfc_normalised(api, user, register_user):
    response = patch_name(api, user, "  Re\u0301my Zoe\u0308  ")

    assert response.status_code == 200 and response.json()["name"] == "R\u00e9my Zo\u00eb"
    user.refresh_from_db()
    assert user.name == "R\u00e9my Zo\u00eb"
    assert register_user(email="new@example.com", name="Jose\u0301").status_code == 202
    assert User.objects.get(email="new@example.com").name == "Jos\u00e9"


@pytest.mark.parametrize("name", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_names_of_every_script_and_emoji_are_accepted(api, user, name):
    response = patch_name(api, user, name)

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.name == unicodedata.normalize("NFC", name)


def test_nul_and_surrogates_keep_their_own_codes(api, user):
    for name, code in [("Nul\x00byte", "null_characters_not_allowed"),
                       ("Lone\ud800", "surrogate_characters_not_allowed")]:
        body = json.dumps({"name": name})  # json escapes the lone surrogate
        response = api.generic("PATCH", "/api/auth/me/", body, content_type="application/json",
                               **bearer(open_session(user).access))
        assert field_errors(response) == [{"field": "name", "code": code, "message": ANY}]


def test_the_schema_states_the_rule_and_the_code(api):
    schema = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    for component in ("RegisterRequest", "PatchedProfileRequest"):
        field = schema[component]["properties"]["name"]
        assert (field["pattern"], field["maxLength"]) == (DISPLAY_NAME_PATTERN, DISPLAY_NAME_MAX_LENGTH)
        assert INVALID_CHARACTERS_CODE in field["description"]
    assert INVALID_CHARACTERS_CODE in schema["FieldError"]["properties"]["code"]["description"]
    assert INVALID_CHARACTERS_CODE in FIELD_ERROR_CODES


# --- the registration page ------------------------------------------------------------------------------------
def test_the_registration_page_refuses_it_next_to_the_field():
    response = Client().post("/accounts/register/", {**REGISTER, "name": LURE_LINES})

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["name"]] == [INVALID_CHARACTERS_CODE]
    html = response.content.decode()
    assert re.search(r'<ul class="errorlist" id="id_name_error"><li>Enter one line, without control characters', html)
    assert re.search(r'<input[^>]*name="name"[^>]*aria-describedby="id_name_error"', html)
    assert not User.objects.exists()


# --- the admin ------------------------------------------------------------------------------------------------
def admin_add(admin_client, name: str):
    return admin_client.post(ADD, {"email": "dora@example.com", "name": name, "usable_password": "false"})


def test_the_admin_add_form_refuses_it(admin_client):
    response = admin_add(admin_client, LURE_LINES)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.as_data()["name"][0].code == INVALID_CHARACTERS_CODE
    assert not User.objects.filter(email="dora@example.com").exists()

    assert admin_add(admin_client, "Do\u0301ra").status_code == 302
    assert User.objects.get(email="dora@example.com").name == "D\u00f3ra"


@pytest.mark.parametrize("name", ["Alice\nLiddell", "\u202eAlice"], ids=["LF", "RLO"])
def test_the_admin_change_form_refuses_it(admin_client, user, name):
    data = {**change_form_data(admin_client.get(change_url(user))), "name": name}

    response = admin_client.post(change_url(user), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.as_data()["name"][0].code == INVALID_CHARACTERS_CODE
    user.refresh_from_db()
    assert user.name == ""


# --- the rule itself ------------------------------------------------------------------------------------------
def test_the_rule_refuses_every_control_separator_and_bidi_control_and_the_pattern_agrees():
    controls = {chr(point) for point in range(sys.maxunicode + 1) if unicodedata.category(chr(point)) == "Cc"}
    separators = {"\n", "\r", "\x85", "\u2028", "\u2029"}
    bidi = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
    for character in sorted(controls | separators | bidi):
        name = f"a{character}b"
        with pytest.raises(ValidationError) as refused:
            clean_display_name(name)
        expected = "null_characters_not_allowed" if character == "\x00" else INVALID_CHARACTERS_CODE
        assert [error.code for error in refused.value.error_list] == [expected], repr(character)
        assert re.search(DISPLAY_NAME_PATTERN, name) is None, repr(character)
    for name in ACCEPTED.values():
        assert clean_display_name(name) == unicodedata.normalize("NFC", name)
        assert re.search(DISPLAY_NAME_PATTERN, name)


def test_the_model_field_carries_the_rule():
    field = User._meta.get_field("name")
    assert field.max_length == DISPLAY_NAME_MAX_LENGTH
    with pytest.raises(ValidationError) as refused:
        User(email="a@example.com", name=LURE_LINES).full_clean(exclude=["password"])
    assert [error.code for error in refused.value.error_dict["name"]] == [INVALID_CHARACTERS_CODE]


def test_clean_display_name_is_what_is_stored():
    assert clean_display_name("  Re\u0301my\u3000") == "R\u00e9my"
    assert clean_display_name("") == ""
    with pytest.raises(ValidationError) as refused:
        clean_display_name("n" * (DISPLAY_NAME_MAX_LENGTH + 1))
    assert [error.code for error in refused.value.error_list] == ["max_length"]
