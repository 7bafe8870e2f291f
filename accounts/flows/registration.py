"""Registration: an unverified account and a verification link, or, for an address already registered, a
notice to its owner and the same answer (ENUMERATION_PROTECTION)."""
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from authcore.audit import record_security_event
from authcore.errors import ServiceError, validation_error
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo

from .. import emails, events, limits
from ..addresses import canonical_email, email_identity
from ..conf import app_settings
from ..languages import request_language
from ..models import User
from .passwords import check_password_policy
from .profile import clean_name


@dataclass(frozen=True)
class Registration:
    """What `register` did. With ENUMERATION_PROTECTION on, interfaces must answer the same either way."""

    user: User
    created: bool


def _email_taken_error() -> ServiceError:
    return ServiceError("invalid", field_errors=[
        {"field": "email", "code": "email_taken", "message": gettext("A user with this email already exists.")},
    ])


def register(*, email: str, password: str, name: str = "", client: ClientInfo) -> Registration:
    """Create an unverified account and email a verification link.

    For an address that is already registered nothing is created: its owner gets a notice instead, and
    (with ENUMERATION_PROTECTION) the caller cannot tell the two cases apart. An address with no canonical
    form (accounts.addresses) is refused with the field error `email_unsupported`: that depends on the
    address alone, never on whether an account exists, so the 400 tells nothing about accounts."""
    enforce_rate_limit(scope=limits.REGISTER, client=client, account=email_identity(email))
    try:
        email = canonical_email(email)
    except ValidationError as error:
        raise validation_error("email", error) from None
    name = clean_name(name)
    # The policy is checked before the address is looked up, so a weak password gets the same 400 whether
    # or not the address is taken. The unsaved user lets the validators compare with email and name.
    check_password_policy(password, user=User(email=email, name=name))
    # The emails to come are written in the language the account was opened in (accounts.languages).
    language = request_language()
    existing = User.objects.with_email(email).first()
    if existing is None:
        try:
            # A savepoint, not a durable transaction: a host may register users inside its own transaction
            # (see the tests), and a lost race must leave that transaction usable.
            with transaction.atomic():
                user = User.objects.create_user(email, password, name=name, language=language)
                record_security_event(events.USER_REGISTERED, user=user, client=client)
                emails.announce("user_registered", user=user)
            return Registration(user=user, created=True)
        except IntegrityError:
            # A concurrent registration of the same address won (the unique index ignores case).
            existing = User.objects.with_email(email).get()
    if not app_settings.ENUMERATION_PROTECTION:
        raise _email_taken_error()
    # Hash once, as creating the account would, so the time taken does not tell the cases apart either.
    make_password(password)
    # The notice points the owner to a password reset, never to a verification link: if an attacker
    # registered the address first, verifying would hand them an account with their password.
    emails.announce("registration_attempted", user=existing)
    return Registration(user=existing, created=False)
