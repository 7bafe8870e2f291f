from functools import lru_cache
import gzip
from pathlib import Path
import re
import unicodedata

from django.contrib.auth import password_validation as django_password_validation
from django.contrib.auth.password_validation import MinimumLengthValidator, get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext

from .conf import app_settings


class MaximumLengthValidator:
    """A documented hard cap (default 1024 characters) instead of silent truncation: longer passwords are
    refused with a clear error, and nothing pathological reaches the hasher."""

    def __init__(self, max_length: int | None = None) -> None:
        self._max_length = max_length

    @property
    def max_length(self) -> int:
        return self._max_length or app_settings.PASSWORD_MAX_LENGTH

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext("This password is too long. It must contain at most %(max_length)d character.",
                         "This password is too long. It must contain at most %(max_length)d characters.",
                         self.max_length),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def __call__(self, password: str) -> None:
        """As a form field validator (accounts.forms.PasswordLengthCapMixin)."""
        self.validate(password)

    def get_help_text(self) -> str:
        return ngettext("Your password must contain at most %(max_length)d character.",
                        "Your password must contain at most %(max_length)d characters.",
                        self.max_length) % {"max_length": self.max_length}


def is_over_max_length(password: str) -> bool:
    """True for a password longer than ACCOUNTS PASSWORD_MAX_LENGTH.

    Django's validate_password runs every validator even after one has failed, and Django's own forms and
    commands (admin, createsuperuser, changepassword) call it on input of any length. So each validator
    that does more than len() returns at once for such a password: MaximumLengthValidator reports it, and
    nothing else spends time on megabytes."""
    return len(password) > app_settings.PASSWORD_MAX_LENGTH


class UserAttributeSimilarityValidator(django_password_validation.UserAttributeSimilarityValidator):
    """Django's validator (same rule, code and message), bounded: see is_over_max_length."""

    def validate(self, password: str, user=None) -> None:
        if is_over_max_length(password):
            return  # MaximumLengthValidator reports it
        super().validate(password, user)


DATA_DIR = Path(__file__).resolve().parent / "data"
# Royce Williams' 20,000 most common passwords (shipped with Django) and our long passphrases, built by
# accounts/data/build_password_blocklist.py (see there for what it holds and why).
DEFAULT_PASSWORD_LISTS = (
    Path(django_password_validation.__file__).resolve().parent / "common-passwords.txt.gz",
    DATA_DIR / "common-passphrases.txt.gz",
)
CONTEXT_WORD_MIN_LENGTH = 4


def _normalise(text: str) -> str:
    """Lower case, compatibility-folded, with spaces, punctuation and underscores removed."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _repeated_unit(text: str) -> str:
    """"dragondragondragon" -> "dragon"; text that is no repetition comes back unchanged.

    The shortest unit is the first offset after 0 at which `text` occurs in `text + text`, found in linear
    time (str.find switches to the Two-Way algorithm on hard inputs). Not a backtracking regexp such as
    r"(.+?)\1+": that tries every unit length against the whole text, quadratic time."""
    period = (text + text).find(text, 1)
    return text[:period] if 0 < period < len(text) else text


@lru_cache(maxsize=4)
def _load_password_lists(paths: tuple[str, ...]) -> frozenset[str]:
    entries: set[str] = set()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            entries.update(_normalise(line) for line in lines)
    entries.discard("")
    return frozenset(entries)


class PasswordBlocklistValidator:
    """Refuse common and breached passwords, and passwords built from context words (docs/security.md 6;
    NIST SP 800-63B §3.1.1.2).

    Passwords are compared in the disguises people use to reach a length rule: any case, spaces and
    punctuation ("Correct Horse Battery Staple"), repetition ("dragondragondragon") and digits or symbols
    around a common core ("Password123456789!"). Context words are the service name (ACCOUNTS SITE_NAME)
    and the local part of the user's email address, refused anywhere inside the password."""

    def __init__(self, password_lists: list[str] | None = None) -> None:
        self.password_lists = tuple(str(path) for path in (password_lists or DEFAULT_PASSWORD_LISTS))

    @property
    def passwords(self) -> frozenset[str]:
        return _load_password_lists(self.password_lists)

    def validate(self, password: str, user=None) -> None:
        if is_over_max_length(password):
            return  # MaximumLengthValidator reports it; see is_over_max_length
        if self._candidates(password) & self.passwords:
            raise ValidationError(gettext("This password is too common."), code="password_too_common")
        compact = _normalise(password)
        if any(word in compact for word in self._context_words(user)):
            raise ValidationError(
                gettext("This password contains the name of this service or of your email address."),
                code="password_contains_context",
            )

    @staticmethod
    def _candidates(password: str) -> set[str]:
        compact = _normalise(password)
        # Digits at either end of the core (letters) are padding: "2024dragon123!" -> "dragon".
        core = compact.strip("0123456789")
        candidates = {compact, _repeated_unit(compact)}
        if len(core) >= CONTEXT_WORD_MIN_LENGTH:
            candidates |= {core, _repeated_unit(core)}
        return candidates

    @staticmethod
    def _context_words(user) -> list[str]:
        words = [_normalise(app_settings.SITE_NAME)]
        email = getattr(user, "email", "") or ""
        local_part = email.rpartition("@")[0] if "@" in email else email
        words.append(_normalise(local_part))
        # "jane.doe" also gives "jane" and "doe" (when long enough to mean something).
        words += [_normalise(part) for part in re.split(r"[\W_]+", local_part)]
        return [word for word in words if len(word) >= CONTEXT_WORD_MIN_LENGTH]

    def get_help_text(self) -> str:
        return gettext("Your password can't be a commonly used password or contain the service name or your email "
                       "address.")


def password_min_length() -> int:
    """The shortest password the policy accepts: the MinimumLengthValidator of settings.AUTH_PASSWORD_VALIDATORS,
    the same validator objects the services run (1, the non-blank rule, without one)."""
    return max([1, *(validator.min_length for validator in get_default_password_validators()
                     if isinstance(validator, MinimumLengthValidator))])
