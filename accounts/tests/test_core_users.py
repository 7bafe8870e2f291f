"""The user model (docs/security.md 41): email is the login, unique regardless of case in the database, with
the local part kept as typed; the manager and `createsuperuser` work."""
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
import pytest

from accounts.addresses import canonical_email as normalize_email
from accounts.flows import passwords
from accounts.testing import login
from authcore.errors import ServiceError
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_email_is_unique_regardless_of_case_in_the_database():
    User.objects.create_user("a@x.com", None)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("A@x.com", None)
    # Not an application check: a raw insert that skips the manager is refused too.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="A@X.COM")])
    assert User.objects.count() == 1


def test_the_local_part_is_kept_as_typed_and_the_domain_lower_cased():
    assert normalize_email("  Alice.Smith@Example.COM ") == "Alice.Smith@example.com"
    user = User.objects.create_user("Alice.Smith@Example.COM", None)
    assert user.email == "Alice.Smith@example.com"


@pytest.mark.parametrize("typed", ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com",
                                   " alice@example.com "])
def test_login_works_with_any_case_of_the_email(api, make_user, typed):
    make_user("Alice@example.com")
    assert login(api, typed)["user"]["email"] == "Alice@example.com"


def test_create_user():
    user = User.objects.create_user("Bob@Example.org", PASSWORD, name="Bob")
    assert user.email == "Bob@example.org" and user.name == "Bob"
    assert user.check_password(PASSWORD) and user.password.startswith("argon2$argon2id$")
    assert user.password_changed_at is not None
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert not user.email_verified


def test_create_user_without_a_password_cannot_log_in():
    user = User.objects.create_user("nopass@example.org")
    assert not user.has_usable_password()


def test_create_user_requires_an_email():
    with pytest.raises(ValueError):
        User.objects.create_user("", PASSWORD)


def test_create_superuser():
    admin = User.objects.create_superuser("root@example.org", PASSWORD)
    assert admin.is_staff and admin.is_superuser and admin.is_active
    assert admin.email_verified
    assert admin.check_password(PASSWORD)
    with pytest.raises(ValueError):
        User.objects.create_superuser("half@example.org", PASSWORD, is_superuser=False)


def test_createsuperuser_command_non_interactive(api, monkeypatch):
    strong = "umber kettle drifts sideways"  # the command applies the password policy (a common one is refused)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", strong)

    call_command("createsuperuser", "--noinput", "--email", "Ops@Example.org", verbosity=0)

    admin = User.objects.get()
    assert admin.email == "Ops@example.org"
    assert admin.is_superuser and admin.is_staff and admin.email_verified
    assert admin.check_password(strong)
    assert login(api, "ops@example.org", strong)["user"]["email"] == "Ops@example.org"


def test_createsuperuser_refuses_a_duplicate_email_in_another_case(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    User.objects.create_user("ops@example.org", None)
    from django.core.management.base import CommandError

    with pytest.raises((CommandError, IntegrityError)), transaction.atomic():
        call_command("createsuperuser", "--noinput", "--email", "OPS@example.org", verbosity=0)
    assert User.objects.count() == 1



def test_patch_me_updates_only_the_fields_sent(api, make_user):
    make_user(name="Alice")
    headers = bearer(login(api)["access"])
    response = api.patch("/api/auth/me/", {}, **headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Alice"
    assert api.patch("/api/auth/me/", {"name": "Alice B"}, **headers).json()["name"] == "Alice B"


def test_change_password_refuses_when_the_session_ended_meanwhile(api, make_user):
    """The caller's session ended between authentication and the change: nothing changes."""
    user = make_user()
    session_id = login(api)["session_id"]
    Session.objects.filter(pk=session_id).update(revoked_at=timezone.now())
    old_hash = user.password
    with pytest.raises(ServiceError) as raised:
        passwords.change_password(user=user, session_id=session_id, current_password=PASSWORD,
                                 new_password="a brand new passphrase here", client=ClientInfo())
    assert raised.value.code == "token_not_valid"
    user.refresh_from_db()
    assert user.password == old_hash
