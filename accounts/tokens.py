"""Email verification, email change and password reset tokens.

Both are Django's `PasswordResetTokenGenerator` design: an HMAC (keyed with SECRET_KEY) over the user's
current state and a timestamp. Nothing is stored; a token dies by itself when the state it was made from
changes (the email gets verified, the password changes) or when its lifetime runs out. That makes every
token single use without a table of spent tokens.

The emailed link carries one opaque string, "<uidb64>.<timestamp>-<hmac>", and the API's `token` field
accepts exactly that string. base64url never contains ".", so the split is unambiguous.
"""
from datetime import datetime, timedelta

from django.contrib.auth import tokens as django_tokens
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from . import emails
from .conf import app_settings
from .models import User

# Longest token string accepted as input: a UUID's uidb64 (48) + "." + a timestamp and HMAC (~40).
TOKEN_MAX_LENGTH = 128
# The shape make_link_token writes, "<uidb64>.<timestamp>-<hmac>": the user's id in unpadded URL-safe base64,
# Django's base36 timestamp (at most 13 digits, as base36_to_int takes) and the hex HMAC. The API refuses
# another shape as a malformed field, and its schema declares the same pattern.
LINK_TOKEN_PATTERN = r"^[A-Za-z0-9_-]+\.[0-9a-z]{1,13}-[0-9a-f]+$"


def _seconds(value: datetime | None) -> str:
    # Truncated to the second and naive, as Django does, so the hash is the same whatever precision
    # the database keeps.
    return "" if value is None else str(value.replace(microsecond=0, tzinfo=None))


class _LifetimeTokenGenerator(django_tokens.PasswordResetTokenGenerator):
    """A generator whose lifetime comes from an ACCOUNTS setting instead of PASSWORD_RESET_TIMEOUT
    (Django's 3-day default is far too long for either purpose)."""

    lifetime_setting: str

    @property
    def lifetime(self) -> timedelta:
        return getattr(app_settings, self.lifetime_setting)

    def check_token(self, user, token) -> bool:
        # Django's check_token, with our lifetime in place of settings.PASSWORD_RESET_TIMEOUT.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return self._num_seconds(self._now()) - ts <= self.lifetime.total_seconds()


class EmailVerificationTokenGenerator(_LifetimeTokenGenerator):
    key_salt = "accounts.tokens.EmailVerificationTokenGenerator"
    lifetime_setting = "VERIFY_EMAIL_TOKEN_LIFETIME"

    def _make_hash_value(self, user, timestamp) -> str:
        # Setting email_verified_at spends the token; a changed address makes it useless too.
        return f"{user.pk}{user.email}{_seconds(user.email_verified_at)}{timestamp}"


class PasswordResetTokenGenerator(_LifetimeTokenGenerator):
    key_salt = "accounts.tokens.PasswordResetTokenGenerator"
    lifetime_setting = "PASSWORD_RESET_TOKEN_LIFETIME"

    def _make_hash_value(self, user, timestamp) -> str:
        # A new password (new salt, even for the same password), a later login or a changed address
        # all spend the token: the first successful reset kills every other link sent before it.
        return (
            f"{user.pk}{user.password}{_seconds(user.last_login)}{_seconds(user.password_changed_at)}"
            f"{user.email}{user.is_active}{timestamp}"
        )


class EmailChangeTokenGenerator(_LifetimeTokenGenerator):
    key_salt = "accounts.tokens.EmailChangeTokenGenerator"
    lifetime_setting = "EMAIL_CHANGE_TOKEN_LIFETIME"

    def _make_hash_value(self, user, timestamp) -> str:
        # Confirming clears the pending address and a newer request replaces it (with a new request time),
        # so a link works once, and only the latest one; a changed password (someone else got in) kills it.
        return (f"{user.pk}{user.email}{user.pending_email}{_seconds(user.pending_email_requested_at)}"
                f"{user.password}{user.is_active}{timestamp}")


email_verification_tokens = EmailVerificationTokenGenerator()
email_change_tokens = EmailChangeTokenGenerator()
password_reset_tokens = PasswordResetTokenGenerator()


def make_link_token(generator: _LifetimeTokenGenerator, user: User) -> str:
    """The opaque string for an emailed link (and the API's `token` field)."""
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{generator.make_token(user)}"


def user_for_link_token(generator: _LifetimeTokenGenerator, token: str, *, queryset=None) -> User | None:
    """The user a valid token belongs to, or None for a malformed, forged, spent or expired token."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX_LENGTH:
        return None
    uidb64, _, user_token = token.partition(".")
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = (queryset if queryset is not None else User.objects.all()).get(pk=pk)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        return None
    # Only the uid exactly as we encode it: other spellings of the same user (a UUID's letters in another
    # case, say) would make one link many, each with its own per-account rate-limit key.
    if urlsafe_base64_encode(force_bytes(user.pk)) != uidb64:
        return None
    return user if generator.check_token(user, user_token) else None


def link_token_account_key(token: str) -> str | None:
    """The uid part of a token, for the per-account rate limit on token endpoints."""
    if not isinstance(token, str):
        return None
    return token.partition(".")[0] or None


def link_rendering(generator: _LifetimeTokenGenerator, link_setting: str) -> dict:
    """What an email carrying a link of `generator` registers (emails.register_rendering): the link, minted
    when the email is rendered, and its lifetime (`link_setting` names the single-page app's template)."""
    def context(user: User, details: dict) -> dict:
        return {"link": emails.emailed_link(link_setting, make_link_token(generator, user)),
                "lifetime": emails.human_duration(generator.lifetime)}

    return {"context": context, "link_lifetime": lambda: generator.lifetime}
