"""One canonical form per email address (accounts.addresses): the rule itself, then what it means for
registration, login, reset, the browser pages, the admin and createsuperuser."""
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
import pytest

from accounts.addresses import canonical_email
from accounts.flows import registration
from accounts.testing import login
from authcore.errors import FIELD_ERROR_CODES, ServiceError
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD

from .helpers import only_email_to, token_in

User = get_user_model()
NEW_PASSWORD = "plum tree orbit cascade"
FULLWIDTH = "mallory@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"  # mallory@ｅｘａｍｐｌｅ.com
KELVIN = "\u212aate@example.com"  # KELVIN SIGN, which Python and PostgreSQL lower-case to "k"
REGISTERED = {"detail": "Check your email: we sent a link to finish setting up your account."}
NOTICE_SUBJECT = "Someone tried to register with your address at Auth Service"


def refused(raw: str) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        canonical_email(raw)
    assert error.value.code == "email_unsupported"
    return error.value


# --- the rule ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [FULLWIDTH, "mallory@\uff25xample.com", "mallory\uff20example.com",
                                 "  mallory@example.com\u3000", "mallory@EXAMPLE.com", "mallory@ex\u00adample.com"])
def test_look_alike_spellings_have_the_plain_canonical_form(raw):
    assert canonical_email(raw) == "mallory@example.com"


def test_kelvin_sign_becomes_the_letter_k_and_keeps_its_case():
    assert canonical_email(KELVIN) == "Kate@example.com"
    assert canonical_email("\u017fam@example.com") == "sam@example.com"  # LATIN SMALL LETTER LONG S


def test_local_part_keeps_its_case_and_the_domain_is_lower_cased():
    assert canonical_email("Alice@Example.COM") == "Alice@example.com"
    assert canonical_email("Alice@Example.COM").lower() == canonical_email("alice@example.com").lower()


@pytest.mark.parametrize("raw", ["\u0131van@example.com", "\u0130van@example.com", "jos\u00e9@example.com",
                                 "\u0441@example.com"])
def test_non_ascii_local_part_is_refused(raw):
    # Django's validator lets the dotless ı and the dotted İ through (Python's case-insensitive [a-z]).
    assert "before the @" in refused(raw).messages[0]


def test_dotless_i_in_a_domain_is_a_different_valid_domain():
    """ı is a valid IDNA 2008 character, so "ımage.com" is a domain of its own (its A-label), not image.com."""
    assert canonical_email("ivan@\u0131mage.com") == "ivan@xn--mage-kza.com"
    assert canonical_email("ivan@\u0131mage.com").lower() != canonical_email("ivan@image.com").lower()


@pytest.mark.parametrize("raw", [
    "pay@\u0440\u0430ypal.com",  # Cyrillic р and а among Latin letters
    "pay@xn--pypal-4ve.com",  # the same trick given as an A-label
    "a@g\u03bf\u03bfgle.com",  # Greek omicrons
    "a@g\u0966\u0966gle.com",  # Devanagari digit zeros
    "a@ex\u30fcample.com",  # a Katakana prolonged sound mark, which looks like a hyphen
])
def test_a_domain_label_that_mixes_scripts_is_refused(raw):
    assert "mixes letters" in refused(raw).messages[0]


@pytest.mark.parametrize("raw, expected", [
    ("zoe@B\u00fccher.DE", "zoe@xn--bcher-kva.de"),
    ("zoe@XN--BCHER-KVA.de", "zoe@xn--bcher-kva.de"),
    ("a@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "a@xn--e1afmkfd.xn--p1ai"),  # all Cyrillic
    ("a@\u65e5\u672c\u8a9e\u30c9\u30e1\u30a4\u30f3.jp", "a@xn--eckwd4c7c5976acvb2w6i.jp"),  # Han with Katakana
    ("a@\uff46\uff49le.com", "a@file.com"),
])
def test_internationalised_domains_are_stored_as_a_labels(raw, expected):
    assert canonical_email(raw) == expected
    assert canonical_email(expected) == expected  # canonical forms are fixed points


@pytest.mark.parametrize("raw", ["a@example.com.", "a@[127.0.0.1]", "a@ex_ample.com", "a@example..com",
                                 "a@xn--zz.com", "a@-example.com", "a@" + "b" * 64 + ".com",
                                 "a" * 250 + "@example.com", "x" * 5000, "no-at-sign", "@example.com", "a@",
                                 "a\x00b@example.com", "", None])
def test_what_cannot_be_canonicalised_is_refused(raw):
    refused(raw)


def test_the_field_error_code_is_documented():
    assert "email_unsupported" in FIELD_ERROR_CODES


# --- accounts: one per canonical address ----------------------------------------------------------------------
# Transactional: emails leave on commit.
transactional = pytest.mark.django_db(transaction=True)


def register(api, email, password=NEW_PASSWORD):
    return api.post("/api/auth/register/", {"email": email, "password": password})


def addresses_mailed() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


@transactional
def test_case_variants_are_one_account(api):
    answers = [register(api, email).json()
               for email in ("Alice@Example.COM", "alice@example.com",
                             "ALICE@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com")]

    assert answers == [REGISTERED] * 3
    assert list(User.objects.values_list("email", flat=True)) == ["Alice@example.com"]
    assert User.objects.with_email("ALICE@EXAMPLE.COM").get().email == "Alice@example.com"


@transactional
@pytest.mark.parametrize("look_alike", [FULLWIDTH, "mallory@\uff25xample.com"])
def test_a_look_alike_registration_sends_the_owner_the_notice(api, make_user, look_alike):
    owner = make_user(email="mallory@example.com")
    fresh = register(api, "someone.else@example.com")
    mail.outbox.clear()

    response = register(api, look_alike)

    assert (response.status_code, response.content) == (fresh.status_code, fresh.content)
    assert User.objects.filter(email__icontains="mallory").get() == owner
    assert only_email_to("mallory@example.com").subject == NOTICE_SUBJECT
    assert addresses_mailed() == {"mallory@example.com"}


@transactional
def test_a_kelvin_sign_registration_cannot_block_kate(api):
    """The attacker registers first with the Kelvin sign: that is Kate's own address, so its mail reaches
    her mailbox, and when she registers she gets the notice, resets, and owns the account."""
    assert register(api, KELVIN, password="attacker chosen passphrase").json() == REGISTERED
    assert register(api, "kate@example.com").json() == REGISTERED

    account = User.objects.get()
    assert account.email == "Kate@example.com"
    # The verification link of the attacker's registration and the notice both reach Kate's mailbox;
    # nothing goes to the Kelvin spelling.
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["Kate@example.com"], "Verify your email address for Auth Service"),
        (["Kate@example.com"], NOTICE_SUBJECT),
    ]

    assert api.post("/api/auth/password-reset/", {"email": "kate@example.com"}).status_code == 202
    reset_mail = [m for m in mail.outbox if m.subject == "Reset your Auth Service password"]
    assert [m.to for m in reset_mail] == [["Kate@example.com"]]
    confirmed = api.post("/api/auth/password-reset/confirm/",
                         {"token": token_in(reset_mail[0].body), "new_password": NEW_PASSWORD})
    assert confirmed.status_code == 200, confirmed.content
    assert login(api, "kate@example.com", NEW_PASSWORD)["user"]["id"] == str(account.pk)
    assert login(api, KELVIN, NEW_PASSWORD)["user"]["id"] == str(account.pk)


@transactional
def test_login_reset_and_resend_with_the_fullwidth_form_reach_the_same_account(api, make_user):
    owner = make_user(email="mallory@example.com")
    unverified = make_user(email="una@example.com", verified=False)

    assert login(api, FULLWIDTH)["user"]["id"] == str(owner.pk)
    assert api.post("/api/auth/password-reset/", {"email": FULLWIDTH}).status_code == 202
    assert only_email_to("mallory@example.com").subject == "Reset your Auth Service password"
    resend = api.post("/api/auth/verify-email/resend/", {"email": "una@\uff45xample.com"})
    assert resend.status_code == 202
    assert only_email_to(unverified.email).subject == "Verify your email address for Auth Service"


@transactional
def test_an_idn_domain_is_stored_as_its_a_label(api):
    assert register(api, "zoe@B\u00fccher.de").json() == REGISTERED

    assert User.objects.get().email == "zoe@xn--bcher-kva.de"
    assert addresses_mailed() == {"zoe@xn--bcher-kva.de"}
    assert User.objects.with_email("zoe@b\u00fccher.DE").exists()


# --- addresses with no canonical form ---------------------------------------------------------------------------
UNSUPPORTED = ["\u0131van@example.com", "pay@\u0440\u0430ypal.com"]  # both pass Django's EmailValidator


@transactional
@pytest.mark.parametrize("enumeration_protection", [True, False])
@pytest.mark.parametrize("email", UNSUPPORTED)
def test_api_registration_refuses_them_with_a_field_error(api, settings, email, enumeration_protection):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ENUMERATION_PROTECTION": enumeration_protection}

    response = register(api, email)

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], [(e["field"], e["code"]) for e in body["errors"]]) == (
        "invalid", [("email", "email_unsupported")])
    assert not User.objects.exists() and mail.outbox == []


@transactional
@pytest.mark.parametrize("email", UNSUPPORTED)
def test_login_reset_and_resend_treat_them_as_unknown_addresses(api, make_user, email):
    """Even an account stored with such an address by older code (the data migration reports it) is not
    reached through it: no account has it, as far as lookups are concerned."""
    legacy = make_user("legacy@example.com", verified=False)
    # Behind the model's back, as older code stored it: User.objects.update would apply the address rules.
    User._base_manager.filter(pk=legacy.pk).update(email=email)

    unknown_login = api.post("/api/auth/login/", {"email": "nobody@example.com", "password": PASSWORD})
    unsupported_login = api.post("/api/auth/login/", {"email": email, "password": PASSWORD})
    assert (unsupported_login.status_code, unsupported_login.json()) == (401, unknown_login.json())
    for path in ("/api/auth/password-reset/", "/api/auth/verify-email/resend/"):
        unknown, unsupported = (api.post(path, {"email": address}) for address in ("nobody@example.com", email))
        assert unknown.status_code == 202
        assert (unsupported.status_code, unsupported.content) == (unknown.status_code, unknown.content)
    assert mail.outbox == []
    assert not User.objects.with_email(email).exists()


@transactional
def test_the_browser_register_page_shows_the_error_next_to_the_email_field():
    response = Client().post("/accounts/register/", {"email": UNSUPPORTED[0], "password": NEW_PASSWORD})

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert [error.code for error in errors["email"]] == ["email_unsupported"] and "password" not in errors
    assert 'id="id_email_error"' in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_create_user_refuses_them(make_user):
    with pytest.raises(ValidationError) as error:
        make_user(email=UNSUPPORTED[1])
    assert error.value.code == "email_unsupported"
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key(UNSUPPORTED[1])


@pytest.mark.django_db
def test_full_clean_puts_the_error_on_the_email_field():
    user = User(email=UNSUPPORTED[0])
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert [e.code for e in error.value.error_dict["email"]] == ["email_unsupported"]


@transactional
def test_register_service_gives_the_field_error():
    with pytest.raises(ServiceError) as error:
        registration.register(email=UNSUPPORTED[1], password=NEW_PASSWORD, client=ClientInfo())
    assert [(e["field"], e["code"]) for e in error.value.field_errors] == [("email", "email_unsupported")]


# --- admin and createsuperuser --------------------------------------------------------------------------------
ADD = reverse("admin:accounts_user_add")
CHANGELIST = reverse("admin:accounts_user_changelist")
ADMIN_PASSWORD = "violet umbrellas drift over quiet harbours"


def add_user(admin_client, email):
    return admin_client.post(ADD, {"email": email, "usable_password": "true",
                                   "password1": ADMIN_PASSWORD, "password2": ADMIN_PASSWORD})


def email_error_codes(response) -> list[str]:
    return [error.code for error in response.context["adminform"].form.errors.as_data().get("email", [])]


@pytest.mark.django_db
def test_admin_add_form_stores_the_canonical_form(admin_client):
    assert add_user(admin_client, "Zoe@B\u00fccher.DE").status_code == 302
    assert User.objects.filter(email="Zoe@xn--bcher-kva.de").exists()


@pytest.mark.django_db
def test_admin_add_form_refuses_another_spelling_of_an_existing_address(admin_client, make_user):
    owners = {make_user("zoe@xn--bcher-kva.de", password=None), make_user("mallory@example.com", password=None)}

    for look_alike in ("Zoe@B\u00fccher.DE", FULLWIDTH):
        response = add_user(admin_client, look_alike)
        assert response.status_code == 200
        assert "A user with this email already exists." in str(response.context["adminform"].form.errors)
    assert set(User.objects.exclude(is_superuser=True)) == owners


@pytest.mark.django_db
def test_admin_add_form_refuses_an_address_with_no_canonical_form(admin_client):
    response = add_user(admin_client, UNSUPPORTED[1])

    assert response.status_code == 200 and email_error_codes(response) == ["email_unsupported"]
    assert not User.objects.filter(email__icontains="ypal").exists()


@pytest.mark.django_db
def test_admin_change_form_canonicalises_and_refuses(admin_client, make_user):
    from .test_admin_users import change_form_data, change_url

    user = make_user("bob@example.com", password=None)
    data = change_form_data(admin_client.get(change_url(user)))

    refused_response = admin_client.post(change_url(user), {**data, "email": UNSUPPORTED[0]})
    assert refused_response.status_code == 200 and email_error_codes(refused_response) == ["email_unsupported"]
    user.refresh_from_db()
    assert user.email == "bob@example.com"

    assert admin_client.post(change_url(user), {**data, "email": "Bob@\uff45xample.org"}).status_code == 302
    user.refresh_from_db()
    assert user.email == "Bob@example.org"


@pytest.mark.django_db
def test_admin_search_finds_canonical_addresses(admin_client, make_user):
    zoe = make_user("zoe@b\u00fccher.de", password=None)
    mallory = make_user(FULLWIDTH, password=None)

    assert list(admin_client.get(CHANGELIST, {"q": "xn--bcher"}).context["cl"].result_list) == [zoe]
    assert list(admin_client.get(CHANGELIST, {"q": "mallory@example.com"}).context["cl"].result_list) == [mallory]


@pytest.mark.django_db
def test_createsuperuser_refuses_an_address_with_no_canonical_form(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    with pytest.raises(CommandError, match="before the @"):
        call_command("createsuperuser", "--noinput", "--email", UNSUPPORTED[0], verbosity=0)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_createsuperuser_sees_a_look_alike_as_taken(monkeypatch, make_user):
    make_user("mallory@example.com", password=None)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", "--noinput", "--email", FULLWIDTH, verbosity=0)
    assert User.objects.count() == 1


# --- per-account limits: look-alike spellings share one budget -------------------------------------------
@pytest.mark.django_db
def test_reset_requests_for_look_alike_spellings_share_one_rate_limit(api):
    """Otherwise every spelling that reaches the same mailbox would get its own budget of reset emails."""
    spellings = ["mallory@example.com", FULLWIDTH, "mallory@\uff25xample.com", " MALLORY@example.com",
                 "mallory@EXAMPLE.com"]
    for n, email in enumerate(spellings):  # the default: 5 per hour per account
        assert api.post("/api/auth/password-reset/", {"email": email}, REMOTE_ADDR=f"198.51.100.{n}").status_code == 202

    response = api.post("/api/auth/password-reset/", {"email": "mallory@\uff45xample.com"}, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 429 and response.json()["code"] == "rate_limited"


@pytest.mark.django_db
def test_login_failures_for_look_alike_spellings_count_together(api, make_user, settings):
    make_user(KELVIN.replace("\u212a", "K"))  # Kate@example.com
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 2}
    for email in (KELVIN, "kate@\uff45xample.com"):
        response = api.post("/api/auth/login/", {"email": email, "password": "not her password at all"})
        assert response.status_code == 401

    refused = api.post("/api/auth/login/", {"email": "kate@example.com", "password": PASSWORD})

    assert refused.status_code == 429


# --- quoted local parts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, canonical", [
    ('"alice"@example.com', "alice@example.com"),
    ('"alice.smith"@Example.COM', "alice.smith@example.com"),
])
def test_a_quoted_dot_atom_is_the_same_mailbox_unquoted(raw, canonical):
    assert canonical_email(raw) == canonical


@pytest.mark.parametrize("raw", ['"al\\\\ice"@example.com', '"a b"@example.com', '"a@b"@example.com', '""@example.com'])
def test_other_quoted_local_parts_are_refused(raw):
    with pytest.raises(ValidationError) as raised:
        canonical_email(raw)
    assert raised.value.code == "email_unsupported"


@transactional  # the notice goes out on commit
def test_registering_a_quoted_spelling_reaches_the_existing_account(api, make_user):
    make_user("alice@example.com")

    response = api.post("/api/auth/register/", {"email": '"alice"@example.com', "password": NEW_PASSWORD})

    assert response.status_code == 202
    assert User.objects.count() == 1
    assert only_email_to("alice@example.com").subject == NOTICE_SUBJECT
