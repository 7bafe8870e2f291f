import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .addresses import canonical_email, canonical_email_or_none


def normalize_email(email: str) -> str:
    """The canonical form of an address, the one stored, looked up and mailed (accounts.addresses): the
    local part ASCII with its case as typed, the domain in lower-case ASCII (A-labels). Uniqueness ignores
    case entirely (see the constraint). Raises ValidationError (code `email_unsupported`) for an address
    that has no canonical form."""
    return canonical_email(email or "")


class UserQuerySet(models.QuerySet):
    def with_email(self, email: str) -> "UserQuerySet":
        canonical = canonical_email_or_none(email)
        if canonical is None:
            # No account can have an address without a canonical form: match nothing, and answer exactly
            # as for an unknown address (login, reset and resend must not tell the difference).
            return self.none()
        # Compares lower(email) so the lookup uses the same expression as the unique index.
        return self.alias(email_lower=Lower("email")).filter(email_lower=canonical.lower())

    def update(self, **kwargs) -> int:
        """An update that deactivates users also ends their live sessions, in the same transaction, so that
        reactivating them later does not revive their old tokens. `bulk_update` comes through here too."""
        deactivated = self._deactivated_by(kwargs["is_active"]) if "is_active" in kwargs else None
        if deactivated is None:
            return super().update(**kwargs)
        # Imported here: sessions_app's models refer to this model, so a module-level import is a cycle.
        from sessions_app.models import Session
        from sessions_app.services import end_sessions_of_users

        with transaction.atomic(using=self.db):
            # Sessions first: once updated, the users may no longer match the filter (is_active=True, say).
            end_sessions_of_users(users=deactivated, reason=Session.RevokeReason.USER_DEACTIVATED)
            return super().update(**kwargs)

    def _deactivated_by(self, is_active) -> "UserQuerySet | None":
        """The users of this queryset that `update(is_active=...)` deactivates, or None for an activation."""
        if hasattr(is_active, "resolve_expression"):
            # An expression (bulk_update's CASE per row): exactly the rows where it is false.
            return self.alias(new_is_active=is_active).filter(new_is_active=False)
        return self if self.model._meta.get_field("is_active").to_python(is_active) is False else None


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        return self.with_email(email).get()

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **fields)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
            user.password_changed_at = timezone.now()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("email_verified_at", timezone.now())
        if not fields["is_staff"] or not fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # unique=True satisfies Django's USERNAME_FIELD check; the constraint below is the real rule
    # (unique regardless of case), enforced by the database.
    email = models.EmailField(max_length=254, unique=True,
                              error_messages={"unique": "A user with this email already exists."})
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the admin site.")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    password_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique",
                                    violation_error_message="A user with this email already exists."),
        ]

    def __str__(self) -> str:
        return self.email

    # Set by set_unusable_password(): Django's own marker of a new password (`_password`) is set only by
    # set_password(), and disabling password login is a password change too.
    _password_disabled = False
    # How the password being saved was changed (services.PasswordChange), when a flow knows more than
    # "someone set it": who, from where, and why (a reset, say). Consumed by the save.
    pending_password_change = None

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_disabled = True

    def save(self, *args, **kwargs) -> None:
        """Two rules hold whoever saves the user (a flow, the admin, Django's `changepassword`, a shell):

        - A new password (or password login disabled) ends every session of the user, is audited and is
          told to the user: services.password_replaced. Django sets `_password` in set_password() and
          clears it before the hash upgrade at login, so a rehash is no password change; creating a user
          is none either.
        - Saving an existing user as inactive ends their live sessions, so that reactivating the account
          later does not revive tokens issued before.

        Both happen in the same transaction as the save."""
        adding = self._state.adding
        update_fields = kwargs.get("update_fields")
        password_replaced = not adding and (self._password is not None or self._password_disabled)
        if password_replaced:
            self.password_changed_at = timezone.now()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        writes_is_active = ("is_active" not in self.get_deferred_fields() if update_fields is None
                            else "is_active" in update_fields)
        deactivating = not adding and writes_is_active and not self.is_active
        if not (password_replaced or deactivating):
            super().save(*args, **kwargs)
            self._password_disabled = False  # as Django forgets `_password` once saved
            return
        # Imported here: sessions_app's models refer to this model, and services import this module.
        from sessions_app.models import Session
        from sessions_app.services import end_user_sessions

        from . import services

        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            if deactivating:
                # One UPDATE; an audit record only if it ended something (deactivate_user ends them first).
                end_user_sessions(user=self, reason=Session.RevokeReason.USER_DEACTIVATED)
            if password_replaced:
                change, self.pending_password_change = self.pending_password_change, None
                self._password_disabled = False
                self.sessions_ended_by_password_change = services.password_replaced(user=self, change=change)

    def clean(self) -> None:
        super().clean()
        if self.email:  # an empty address is the field's own "required" error
            try:
                self.email = normalize_email(self.email)
            except ValidationError as error:
                raise ValidationError({"email": error}) from None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email
