"""The language a person reads. Pages and API answers follow the request (authcore.locale: the language
cookie, then Accept-Language); emails follow their recipient: the account keeps a `language`, set at
registration from the request's and changed through `PATCH me/`, and the worker writes each email in it, never
in the language of whichever request queued it (accounts.emails).

The choices are settings.LANGUAGES, read when used (a host project narrows or widens them); a stored code the
host later drops from LANGUAGES falls back to LANGUAGE_CODE when an email is written."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

# Longer than any code in Django's LANG_INFO ("zh-hant", "sr-latn"); a code is never free text.
LANGUAGE_MAX_LENGTH = 15


def language_choices() -> list[tuple[str, str]]:
    """(code, name in that language) for every language the service speaks."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def validate_language(value: str) -> None:
    """The model field's validator: empty (no choice made) or one of settings.LANGUAGES."""
    if value and value not in dict(settings.LANGUAGES):
        raise ValidationError(gettext("Choose one of the available languages."), code="invalid_choice")


def supported(code: str | None) -> str:
    """`code` as one of settings.LANGUAGES ("de-at" -> "de"), or LANGUAGE_CODE when none fits."""
    try:
        return translation.get_supported_language_variant(code or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def request_language() -> str:
    """The language the current request is answered in (the language middleware activated it): what a new account
    starts with, and what an email to an address without an account is written in."""
    return supported(translation.get_language())


def recipient_language(user, queued_language: str | None) -> str:
    """What an email is written in: the recipient account's language as it is now (empty: LANGUAGE_CODE, never
    the language of whoever caused the email), or, without an account to read, the language recorded when
    the email was queued."""
    if user is not None:
        return supported(getattr(user, "language", "") or None)
    return supported(queued_language)
