import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def normalize_email(email: str) -> str:
    """Trim and lower-case the domain (RFC 5321: the local part may be case-sensitive, so it is kept as
    typed and mail goes to the stored address). Uniqueness ignores case entirely (see the constraint)."""
    return BaseUserManager.normalize_email((email or "").strip())


class UserQuerySet(models.QuerySet):
    def with_email(self, email: str) -> "UserQuerySet":
        # Compares lower(email) so the lookup uses the same expression as the unique index.
        return self.alias(email_lower=Lower("email")).filter(email_lower=normalize_email(email).lower())


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

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email
