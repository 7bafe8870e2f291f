import contextlib
import contextvars
from dataclasses import dataclass, field
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.db.models.functions import Lower
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from authcore.backends import fetch_one_prepared

from . import rules, second_factor
from .addresses import canonical_email, canonical_email_or_none
from .languages import LANGUAGE_MAX_LENGTH, validate_language
from .names import NAME_VALIDATORS


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
        """The user rules of User.save hold for updates too (`bulk_update` comes through here), in the same
        transaction: an update that deactivates users, or reactivates users stored inactive, ends their
        live sessions; one that gives users a new password hash ends every session of those users, audits
        it and tells them; a new address is unverified, audited and told to the old one; privileges and
        names are audited (each compared row by row: listing a field is not changing it)."""
        deactivated = self._deactivated_by(kwargs["is_active"]) if "is_active" in kwargs else None
        reactivated = self._reactivated_by(kwargs["is_active"]) if "is_active" in kwargs else None
        compared = [name for name in ("password", "email", *User.AUDITED_FIELDS) if name in kwargs]
        if deactivated is None and reactivated is None and not compared:
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            # Picked before the update: once updated, the users may no longer match the filter.
            for users in (deactivated, reactivated):
                if users is not None:
                    rules.accounts_deactivated(users)
            extra = ["email_verified_at"] if "email" in compared else []
            before = {row["pk"]: row for row in self.values("pk", *compared, *extra)} if compared else {}
            updated = super().update(**kwargs)
            if not before:
                return updated
            rows = self.model._base_manager.using(self.db)
            now = timezone.now()
            for user in rows.filter(pk__in=before):
                old = before[user.pk]
                if "password" in compared and user.password != old["password"]:
                    rows.filter(pk=user.pk).update(password_changed_at=now)
                    user.password_changed_at = now
                    rules.password_replaced(user=user)
                if "email" in compared and rules.email_address_changed(user=user, previous_email=old["email"]):
                    rows.filter(pk=user.pk).update(email_verified_at=None)
                    rules.email_address_replaced(user=user, previous_email=old["email"],
                                                    previous_verified=old["email_verified_at"] is not None)
                audited = {name: (old[name], getattr(user, name)) for name in User.AUDITED_FIELDS
                           if name in compared and getattr(user, name) != old[name]}
                if audited:
                    rules.user_fields_changed(user=user, changes=audited)
            return updated

    def _reactivated_by(self, is_active) -> "UserQuerySet | None":
        """The users of this queryset, stored inactive, that `update(is_active=...)` makes active."""
        if hasattr(is_active, "resolve_expression"):
            return self.alias(new_is_active=is_active).filter(new_is_active=True, is_active=False)
        if self.model._meta.get_field("is_active").to_python(is_active) is True:
            return self.filter(is_active=False)
        return None

    def _deactivated_by(self, is_active) -> "UserQuerySet | None":
        """The users of this queryset that `update(is_active=...)` deactivates, or None for an activation."""
        if hasattr(is_active, "resolve_expression"):
            # An expression (bulk_update's CASE per row): exactly the rows where it is false.
            return self.alias(new_is_active=is_active).filter(new_is_active=False)
        return self if self.model._meta.get_field("is_active").to_python(is_active) is False else None


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # The user of a login (Django's ModelBackend asks here), read with whether they have a second factor: a
        # login without one needs no second statement (accounts.second_factor.methods_for).
        lookup = self._login_lookup()
        if lookup is None:
            return second_factor.with_factor_flag(self.with_email(email)).get()
        canonical = canonical_email_or_none(email)
        if canonical is None:  # as with_email: nothing matches, and nothing is asked
            raise self.model.DoesNotExist("User matching query does not exist.")
        sql, params, address, fields, annotations = lookup
        params = list(params)
        params[address] = canonical.lower()
        row = fetch_one_prepared(connections[self.db], sql, params)
        if row is None:
            raise self.model.DoesNotExist("User matching query does not exist.")
        user = self.model.from_db(self.db, fields, row[:len(fields)])
        for name, position in annotations.items():
            setattr(user, name, row[position])
        return user

    # The SELECT get_by_natural_key's queryset compiles to, per database and second-factor provider: the same every
    # login but for the address, so it is compiled once and prepared once per connection (fetch_one_prepared),
    # on PostgreSQL, where its columns come back as the model's fields want them (no converter to apply).
    _login_lookups: dict = {}
    _LOOKUP_SAMPLE = "lookup@example.invalid"

    def _login_lookup(self) -> tuple[str, tuple, int, list[str], dict[str, int]] | None:
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            return None
        key = (self.db, self.model, type(second_factor.installed()))
        if key not in self._login_lookups:
            try:
                self._login_lookups[key] = self._compile_login_lookup()
            except (AttributeError, KeyError, IndexError, TypeError, ValueError):
                # The compiler's internals read here are Django's, not a public API: a version that changes them
                # gets the ORM's query at every login, never a failed login.
                self._login_lookups[key] = None
        return self._login_lookups[key]

    def _compile_login_lookup(self):
        query = second_factor.with_factor_flag(self.with_email(self._LOOKUP_SAMPLE)).order_by()[:1].query
        compiler = query.get_compiler(using=self.db)
        sql, params = compiler.as_sql()
        start, end = compiler.klass_info["select_fields"][0], compiler.klass_info["select_fields"][-1] + 1
        # Fixed but for the address, which is one of its parameters (the others are constants of the query).
        address = [param == self._LOOKUP_SAMPLE for param in params]
        fixed = (address.count(True) == 1 and start == 0
                 and not compiler.get_converters([column for column, _, _ in compiler.select]))
        return (sql, params, address.index(True) if fixed else None,
                [column.target.attname for column, _, _ in compiler.select[start:end]],
                dict(compiler.annotation_col_map)) if fixed else None

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=canonical_email(email), **fields)
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
        if password is not None and _enforce_password_policy.get():
            validate_password(password, self.model(email=email, **{
                name: value for name, value in fields.items() if name in ("name",)}))
        return self.create_user(email, password, **fields)


# Set by the `createsuperuser` command (accounts/management/commands/createsuperuser.py), whose password
# reaches create_superuser however it was given; code that creates users directly (tests, data imports)
# chooses its own passwords.
_enforce_password_policy = contextvars.ContextVar("enforce_password_policy", default=False)


@contextlib.contextmanager
def password_policy_enforced():
    token = _enforce_password_policy.set(True)
    try:
        yield
    finally:
        _enforce_password_policy.reset(token)


@dataclass
class _PendingSave:
    """What one save of a user changes that a rule is about (User._what_this_save_changes)."""

    previous_email: str
    previous_verified: bool
    changes: list[str] = field(default_factory=list)  # "email", "password", "active"
    audited: dict = field(default_factory=dict)  # field -> (before, after), for rules.user_fields_changed


def _also_write(update_fields: set | None, name: str) -> None:
    if update_fields is not None:
        update_fields.add(name)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # unique=True satisfies Django's USERNAME_FIELD check; the constraint below is the real rule
    # (unique regardless of case), enforced by the database.
    email = models.EmailField(_("email address"), max_length=254, unique=True,
                              error_messages={"unique": _("A user with this email already exists.")})
    name = models.CharField(_("name"), max_length=150, blank=True, validators=NAME_VALIDATORS)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False, help_text=_("Can log into the admin site."))
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # An address change waiting for its confirmation link to be followed (accounts.flows.email_change); a newer
    # request replaces it, and the link's HMAC covers both fields, so only the latest link works.
    pending_email = models.EmailField(_("pending email address"), max_length=254, blank=True)
    pending_email_requested_at = models.DateTimeField(_("pending email requested at"), null=True, blank=True)
    # The language the user's emails are written in (accounts.languages); empty: LANGUAGE_CODE, whoever
    # triggers the email.
    language = models.CharField(_("language"), max_length=LANGUAGE_MAX_LENGTH, blank=True,
                                validators=[validate_language])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["-date_joined"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique",
                                    violation_error_message=_("A user with this email already exists.")),
        ]

    def __str__(self) -> str:
        return self.email

    # How the password being saved was changed (rules.PasswordChange), when a flow knows more than
    # "someone set it": who, from where, and why (a reset, say). Consumed by the save that stores it.
    pending_password_change = None
    # Set only while Django stores a rehash of the same password at login (check_password below).
    _rehashing = False

    # Who made the change about to be saved and from where (rules.ChangedBy), when a flow knows it; else
    # the operator acting in the admin, if any. Consumed by the save that stores it.
    pending_changed_by = None

    # Fields whose every change is audited (rules.user_fields_changed): privileges and the profile.
    AUDITED_FIELDS = ("is_staff", "is_superuser", "name")
    # The values of the watched fields as the row holds them (what save() compares with), per field: only
    # what was loaded, refreshed or written is known.
    WATCHED_FIELDS = ("password", "is_active", "email", *AUDITED_FIELDS)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        # kwargs: whatever else Django passes through (its fetch mode, from Django 6.1).
        user = super().from_db(db, field_names, values, **kwargs)
        user._remember_stored(field_names)
        return user

    def refresh_from_db(self, *args, fields=None, **kwargs) -> None:
        super().refresh_from_db(*args, fields=fields, **kwargs)
        # Only what was read again is known to be stored (Django refreshes a deferred field this way too).
        self._remember_stored(fields if fields is not None else self.WATCHED_FIELDS)

    def _remember_stored(self, field_names) -> None:
        stored = self.__dict__.setdefault("_stored", {})
        for name in field_names:
            if name in self.WATCHED_FIELDS and name in self.__dict__:
                stored[name] = self.__dict__[name]

    def _changes_stored(self, name: str) -> bool:
        """Whether the value about to be written differs from the stored one; unknown counts as changed."""
        stored = self.__dict__.get("_stored", {})
        return name not in stored or stored[name] != getattr(self, name)

    def check_password(self, raw_password: str) -> bool:
        """Django's check, marking its hash upgrade (a rehash of the same password, at login) as no password
        change: that save must not end the sessions of the user who is just logging in."""

        def store_rehash(raw: str) -> None:
            self.set_password(raw)
            self._password = None
            self._rehashing = True
            try:
                self.save(update_fields=["password"])
            finally:
                self._rehashing = False

        if not self.has_usable_password():
            # An account that signs in with passkeys only: hash once anyway, so a login's timing does not tell
            # such an account from one with a password (as ModelBackend does for an unknown address).
            make_password(raw_password)
            return False
        return check_password(raw_password, self.password, store_rehash)

    def _writes(self, field: str, update_fields) -> bool:
        return field not in self.get_deferred_fields() if update_fields is None else field in update_fields

    def save(self, *args, **kwargs) -> None:
        """The user rules hold whoever saves the user (a flow, the admin, Django's `changepassword`, a shell):

        - A new password hash (set_password, set_unusable_password, or a hash assigned directly) ends every
          session of the user, is audited and is told to the user: rules.password_replaced. Django's
          rehash of the same password at login is none; creating a user is none either.
        - Saving an existing user as inactive ends their live sessions, and so does reactivating one that
          was stored inactive: whatever path deactivated it (raw SQL, say), no token issued before comes
          back to life.
        - A new email address (not merely another spelling of the same) is unverified: the user proves it
          again before the next login; the change is audited and the old address is told
          (rules.email_address_changed, then rules.email_address_replaced). Addresses are stored in
          their canonical form.
        - Granting or removing staff or superuser status, and a new name, are audited
          (rules.user_fields_changed).

        A value this instance did not load (deferred, or an instance built by hand and saved with
        force_update) counts as changed. All of it happens in the same transaction as the save (joined
        without a savepoint)."""
        # Who made this change is this save's to use, or nobody's: never left for a later save.
        changed_by, self.pending_changed_by = self.pending_changed_by, None
        update_fields = kwargs.get("update_fields")
        adding = self._state.adding and not kwargs.get("force_update") and update_fields is None
        if update_fields is not None:
            update_fields = set(update_fields)
        pending = self._what_this_save_changes(adding, update_fields)
        if update_fields is not None:
            kwargs["update_fields"] = update_fields
        if not pending.changes and not pending.audited:
            super().save(*args, **kwargs)
        else:
            with transaction.atomic(using=kwargs.get("using"), savepoint=False):
                super().save(*args, **kwargs)
                self._apply_rules(pending, changed_by)
        self._remember_written(update_fields)

    def _what_this_save_changes(self, adding: bool, update_fields: set | None) -> "_PendingSave":
        """Found before the row is written (the rules compare with what it holds), and the fields the rules
        touch added to `update_fields`: the canonical address, a cleared verification, the password's time."""
        writes = {name: self._writes(name, update_fields) for name in self.WATCHED_FIELDS}
        stored = self.__dict__.get("_stored", {})
        pending = _PendingSave(previous_email=stored.get("email", ""),
                               previous_verified=self.email_verified_at is not None)
        if writes["email"] and (adding or self._changes_stored("email")):
            self.email = canonical_email(self.email)
            if not adding and rules.email_address_changed(user=self, previous_email=pending.previous_email):
                pending.changes.append("email")
                _also_write(update_fields, "email_verified_at")
        if not adding and not self._rehashing and writes["password"] and (
                self._password is not None or self._changes_stored("password")):
            self.password_changed_at = timezone.now()
            _also_write(update_fields, "password_changed_at")
            pending.changes.append("password")
        if not adding and writes["is_active"] and (not self.is_active or stored.get("is_active", False) is False):
            pending.changes.append("active")
        if adding:  # a new account is audited by its flow; privileges it is created with are audited here
            pending.audited = {name: (False, True) for name in ("is_staff", "is_superuser") if getattr(self, name)}
        else:
            pending.audited = {name: (stored.get(name), getattr(self, name)) for name in self.AUDITED_FIELDS
                               if writes[name] and self._changes_stored(name)}
        return pending

    def _apply_rules(self, pending: "_PendingSave", changed_by) -> None:
        """The rules of what was saved, in the save's transaction (accounts.rules)."""
        if "active" in pending.changes:
            rules.account_deactivated(self)
        if "password" in pending.changes:
            change, self.pending_password_change = self.pending_password_change, None
            self.sessions_ended_by_password_change = rules.password_replaced(user=self, change=change)
        if "email" in pending.changes:
            rules.email_address_replaced(user=self, previous_email=pending.previous_email,
                                         previous_verified=pending.previous_verified, changed_by=changed_by)
        if pending.audited:
            rules.user_fields_changed(user=self, changes=pending.audited, changed_by=changed_by)

    def _remember_written(self, update_fields) -> None:
        written = self.WATCHED_FIELDS if update_fields is None else [name for name in self.WATCHED_FIELDS
                                                                       if name in update_fields]
        self._remember_stored([name for name in written if name not in self.get_deferred_fields()])

    def clean(self) -> None:
        super().clean()
        if self.email:  # an empty address is the field's own "required" error
            try:
                self.email = canonical_email(self.email)
            except ValidationError as error:
                raise ValidationError({"email": error}) from None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class DistrustedDevice(models.Model):
    """A device whose sign-in its owner reported as not theirs (accounts.flows.not_me): the id its device
    cookie carries (Session.device_id). That cookie never again spares an alert or the login lock
    (accounts.login_throttle). Kept DEVICE_COOKIE_AGE after the report: every cookie naming the device was
    issued before it, so none is still valid after that."""

    device_id = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="distrusted_devices")
    reported_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"distrusted device {self.device_id} of {self.user_id}"


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.models.groups_changed")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="accounts.models.permissions_changed")
def _audit_permission_grants(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Groups and permissions given to or taken from users are privilege changes like staff status: audited
    by whatever path (the admin's user form, a shell). From either side: `user.groups.add(group)` or
    `group.user_set.add(user)`."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    field = "groups" if sender is User.groups.through else "user_permissions"
    change = "added" if action == "post_add" else "removed"
    if not reverse:  # instance is a user; pk_set the groups or permissions (None for clear: all of them)
        names = (_names_of(field, pk_set) if pk_set is not None
                 else [str(item) for item in getattr(instance, field).all()])
        if names:
            rules.user_fields_changed(user=instance, changes={field: {change: names}})
        return
    users = User.objects.filter(pk__in=pk_set) if pk_set is not None else instance.user_set.all()
    for user in users:
        rules.user_fields_changed(user=user, changes={field: {change: [str(instance)]}})


def _names_of(field: str, pks) -> list[str]:
    model = User._meta.get_field(field).related_model
    return sorted(str(item) for item in model.objects.filter(pk__in=pks))
