"""The user rules of User.save and UserQuerySet.update hold on every way a row can be written: a new
password hash ends every session, a deactivation (or the reactivation after one) ends the sessions left
alive, and a new address is stored canonical and unverified. A value the instance did not load counts as
changed; a value listed but unchanged does not."""
from django.contrib.auth.hashers import make_password
from django.db import connection
import pytest

from accounts.models import User
from authcore.requestmeta import ClientInfo
from sessions_app import services
from sessions_app.models import Session

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another long password for alice"


def live_sessions(user) -> int:
    return Session.objects.alive().filter(user=user).count()


@pytest.fixture
def alice_signed_in(make_user):
    user = make_user(password=None)
    services.start_session(user=user, client=ClientInfo())
    return user


def deactivate_with_raw_sql(user) -> None:
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET is_active = %s WHERE email = %s", [False, user.email])


@pytest.mark.parametrize("change", [
    pytest.param(lambda user: (user.set_password(NEW_PASSWORD), user.save()), id="deferred-then-set"),
    pytest.param(lambda user: (user.set_password(NEW_PASSWORD), user.save(update_fields=["password"])),
                 id="deferred-then-set-update-fields"),
])
def test_a_new_password_on_an_instance_that_never_loaded_it(alice_signed_in, change):
    change(User.objects.only("id").get(pk=alice_signed_in.pk))
    assert live_sessions(alice_signed_in) == 0


def test_a_partial_refresh_does_not_hide_an_unsaved_password(alice_signed_in):
    user = User.objects.get(pk=alice_signed_in.pk)
    user.set_password(NEW_PASSWORD)
    user.refresh_from_db(fields=["name"])

    user.save()

    assert live_sessions(alice_signed_in) == 0


def test_a_save_of_other_fields_does_not_hide_an_unsaved_password(alice_signed_in):
    user = User.objects.get(pk=alice_signed_in.pk)
    user.set_password(NEW_PASSWORD)
    user.save(update_fields=["last_login"])
    assert live_sessions(alice_signed_in) == 1  # not written yet

    user.save()

    assert live_sessions(alice_signed_in) == 0


def test_an_instance_built_by_hand_and_force_updated(alice_signed_in):
    user = User(id=alice_signed_in.pk, email=alice_signed_in.email, password=make_password(NEW_PASSWORD),
                date_joined=alice_signed_in.date_joined, email_verified_at=alice_signed_in.email_verified_at)

    user.save(force_update=True)

    assert live_sessions(alice_signed_in) == 0


def test_a_new_address_on_an_instance_that_never_loaded_it(alice_signed_in):
    user = User.objects.only("id").get(pk=alice_signed_in.pk)
    user.email = "new@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com"

    user.save()

    stored = User.objects.get(pk=alice_signed_in.pk)
    assert (stored.email, stored.email_verified_at) == ("new@example.com", None)


def test_created_rows_store_the_canonical_address(db):
    assert User.objects.create(email="bob@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com").email == "bob@example.com"


def test_bulk_update_listing_an_unchanged_password_changes_nothing(alice_signed_in):
    user = User.objects.get(pk=alice_signed_in.pk)
    user.name = "Renamed"

    User.objects.bulk_update([user], ["name", "password"])

    assert live_sessions(alice_signed_in) == 1


@pytest.mark.parametrize("reactivate", [
    pytest.param(lambda user: User.objects.filter(pk=user.pk).update(is_active=True), id="update"),
    pytest.param(lambda user: User.objects.bulk_update(
        [setattr(loaded := User.objects.get(pk=user.pk), "is_active", True) or loaded], ["is_active"]),
        id="bulk_update"),
])
def test_reactivating_with_an_update_ends_what_a_raw_deactivation_left_alive(alice_signed_in, reactivate):
    deactivate_with_raw_sql(alice_signed_in)

    reactivate(alice_signed_in)

    assert User.objects.get(pk=alice_signed_in.pk).is_active and live_sessions(alice_signed_in) == 0


def test_a_pending_password_change_waits_for_the_save_that_stores_the_password(alice_signed_in):
    from accounts.rules import PasswordChange

    user = User.objects.get(pk=alice_signed_in.pk)
    user.pending_password_change = PasswordChange(how="reset")
    user.save(update_fields=["last_login"])

    assert user.pending_password_change is not None and live_sessions(alice_signed_in) == 1
