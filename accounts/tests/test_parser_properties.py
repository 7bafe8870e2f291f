"""Property-based tests (hypothesis) of the parsers that take attacker-chosen text: the email normaliser,
the emailed-link token parser and the device-cookie parser. Whatever the input, they answer (a value,
None, or ValidationError for the normaliser), and what they accept behaves as the rules say."""
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
import pytest

from accounts.addresses import EMAIL_MAX_LENGTH, canonical_email, email_identity
from accounts.login_throttle import _device_for, account_key, device_token_for
from accounts.tokens import email_verification_tokens, make_link_token, user_for_link_token

PROPERTIES = settings(max_examples=200, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])

ascii_local = st.from_regex(r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[A-Za-z0-9_-]{1,10}){0,2}\Z")
label = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?\Z").filter(lambda text: "--" not in text)
domain = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(label, min_size=1, max_size=3),
                   st.from_regex(r"\A[a-zA-Z]{2,6}\Z"))
addresses = st.builds(lambda local, host: f"{local}@{host}", ascii_local, domain)


@PROPERTIES
@given(st.text(max_size=300))
@example("\ud800@example.com")
@example('"a b"@example.com')
@example("@")
def test_any_text_is_normalised_or_refused_with_a_validation_error(text):
    try:
        canonical = canonical_email(text)
    except ValidationError:
        return
    assert canonical.isascii() and len(canonical) <= EMAIL_MAX_LENGTH
    assert canonical_email(canonical) == canonical  # a fixed point: stored values normalise to themselves


@PROPERTIES
@given(addresses)
def test_spellings_of_one_address_share_one_identity(address):
    local, _, host = address.rpartition("@")
    canonical = canonical_email(address)
    assert canonical.lower() == canonical_email(f"  {local}@{host.upper()}  ").lower()
    assert email_identity(address) == email_identity(address.upper()) == email_identity(f" {address}\t")
    # Fullwidth forms of the domain are the same domain (NFKC), not a look-alike mailbox.
    fullwidth = "".join(chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character
                        for character in host)
    assert canonical_email(f"{local}@{fullwidth}") == canonical


@pytest.fixture
def member(db, make_user):
    return make_user("member@example.com", password=None)


@PROPERTIES
@given(st.text(max_size=200))
@example("MQ.abc-0123")
@example("." * 129)
def test_any_text_as_a_link_token_is_just_no_user(member, text):
    assert user_for_link_token(email_verification_tokens, text) is None


@PROPERTIES
@given(st.data())
def test_a_link_token_with_any_one_character_changed_is_refused(member, data):
    token = make_link_token(email_verification_tokens, member)
    assert user_for_link_token(email_verification_tokens, token) == member
    # The draws must not depend on the token, which changes with the clock from one example to the next.
    position = data.draw(st.integers(0, 10_000)) % len(token)
    replacement = data.draw(st.characters(codec="ascii"))
    assume(replacement != token[position])
    forged = token[:position] + replacement + token[position + 1:]
    assert user_for_link_token(email_verification_tokens, forged) is None


@PROPERTIES
@given(st.one_of(st.none(), st.text(max_size=400)))
def test_any_text_as_a_device_cookie_vouches_for_no_device(text):
    assert _device_for(account_key("member@example.com"), text) is None


@PROPERTIES
@given(st.data())
def test_a_device_token_vouches_only_for_its_own_account(member, data):
    token = device_token_for(member)
    assert _device_for(account_key("member@example.com"), token) is not None
    other = data.draw(addresses)
    assume(email_identity(other) != "member@example.com")
    assert _device_for(account_key(other), token) is None
