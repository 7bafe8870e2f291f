"""The profile a user edits themselves: the display name (accounts.names) and the language their emails are
written in (accounts.languages)."""
from django.core.exceptions import ValidationError

from authcore.errors import validation_error
from authcore.requestmeta import ClientInfo

from ..languages import validate_language
from ..models import User
from ..names import clean_display_name
from ..rules import ChangedBy


def clean_name(name: str) -> str:
    """The display-name rule (accounts/names.py) inside the flows, whatever called them: 400 with the field
    code for a name the pages and the API would refuse."""
    try:
        return clean_display_name(name)
    except ValidationError as error:
        raise validation_error("name", error) from None


def clean_language(language: str) -> str:
    try:
        validate_language(language)
    except ValidationError as error:
        raise validation_error("language", error) from None
    return language


def update_profile(*, user: User, name: str | None = None, language: str | None = None,
                   client: ClientInfo | None = None) -> User:
    """Update the fields given (PATCH semantics); fields left out keep their value. The save audits what
    changed (rules.user_fields_changed)."""
    changed = []
    if name is not None:
        user.name = clean_name(name)
        changed.append("name")
    if language is not None:
        user.language = clean_language(language)
        changed.append("language")
    if changed:
        user.pending_changed_by = ChangedBy(client=client)
        user.save(update_fields=changed)
    return user
