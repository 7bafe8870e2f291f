"""The login's fixed statements: the user's lookup (UserManager.get_by_natural_key, compiled once and prepared once
per connection on PostgreSQL) answers exactly what the ORM's queryset answers, for every user, never a row it read
before; the conditional UPDATE of last_login gives no session to an account deactivated since its password check."""
from django.db import connection
from django.test.utils import CaptureQueriesContext
import pytest

from accounts.flows import login
from accounts.models import User
from authcore.errors import ServiceError
from authcore.testing import PASSWORD
from sessions_app.models import Session
from sessions_app.tests.helpers import CLIENT

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in User._meta.concrete_fields]


def as_orm_reads(email: str) -> User:
    return User.objects.with_email(email).get()


def test_the_lookup_reads_what_the_orm_reads(make_user):
    alice = make_user("Alice@Example.com", name="Alice")
    bob = make_user("bob@example.com", name="Bob", is_staff=True)
    for user, typed in ((alice, "ALICE@example.COM"), (bob, "bob@example.com")):
        found = User.objects.get_by_natural_key(typed)
        expected = as_orm_reads(typed)
        assert [getattr(found, name) for name in FIELDS] == [getattr(expected, name) for name in FIELDS]
        assert found.pk == user.pk and found.has_second_factor is False
        assert not found._state.adding and found._state.db == "default"
        # The user rules compare with what was read (User._stored), as for any user the ORM loads.
        assert found._stored == expected._stored


def test_each_lookup_reads_the_row_as_it_is_now(make_user):
    """Only the statement is kept, never a row: a change between two logins is seen by the second."""
    alice = make_user()
    User.objects.get_by_natural_key("alice@example.com")
    User.objects.filter(pk=alice.pk).update(name="Changed", is_active=False)
    found = User.objects.get_by_natural_key("alice@example.com")
    assert (found.name, found.is_active) == ("Changed", False)


def test_an_unknown_or_impossible_address_is_no_user(make_user):
    make_user()
    for email in ("nobody@example.com", "not an address", ""):
        with pytest.raises(User.DoesNotExist):
            User.objects.get_by_natural_key(email)


@pytest.mark.postgres
def test_on_postgresql_the_lookup_is_compiled_once_and_prepared(make_user):
    make_user()
    User.objects.get_by_natural_key("alice@example.com")
    assert User.objects._login_lookup() is not None
    with CaptureQueriesContext(connection) as queries:
        User.objects.get_by_natural_key("alice@example.com")
    [query] = queries.captured_queries
    assert 'EXISTS' in query["sql"] and "alice@example.com" in query["sql"]


def test_a_login_sets_last_login(user):
    before = User.objects.get(pk=user.pk).last_login
    login.log_in(email="alice@example.com", password=PASSWORD, client=CLIENT)
    after = User.objects.get(pk=user.pk).last_login
    assert after is not None and after != before


def test_an_account_deactivated_after_its_password_check_gets_no_session(user):
    proven = login.check_credentials(email="alice@example.com", password=PASSWORD, client=CLIENT)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(ServiceError) as error:
        login._open_session(user=proven.user, client=CLIENT, transport=Session.Transport.BODY, device_name="",
                            device_id=proven.device_id, known_device=False, device_token=proven.device_token,
                            auth_methods=("pwd",))
    assert error.value.code == "invalid_credentials"
    assert not Session.objects.filter(user=user).exists()
    assert User.objects.get(pk=user.pk).last_login is None  # nothing of the refused login stays
