"""The user as the API shows it (GET me, registration, login): UserSerializer writes its fields by hand, for speed, and
must give exactly what DRF's generic serializer gives for the same declared fields."""
from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from accounts.api.serializers import UserSerializer

pytestmark = pytest.mark.django_db


def generic(user) -> dict:
    return dict(serializers.Serializer.to_representation(UserSerializer(user), user))


@pytest.mark.parametrize("fields", [
    {},
    {"name": "Zoë O'Brien-مرحبا", "language": "ar"},
    {"date_joined": datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)},
])
def test_the_hand_written_representation_is_the_generic_one(make_user, fields):
    user = make_user(password=None)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    user.refresh_from_db()
    assert UserSerializer(user).data == generic(user)
    assert list(UserSerializer(user).data) == list(generic(user))


def test_an_unverified_user(make_user):
    user = make_user(password=None, verified=False)
    assert UserSerializer(user).data["email_verified"] is False
    assert UserSerializer(user).data == generic(user)


def test_get_me_answers_the_representation(api, make_user):
    from sessions_app.tests.helpers import me, open_session

    user = make_user(password=None)
    response = me(api, open_session(user).access)
    assert response.json() == generic(user)


def test_no_field_is_copied_for_the_answer(make_user, monkeypatch):
    """What the hand-written representation saves: DRF deep-copies the declared fields into every new serializer the
    first time its `fields` are read; answering a user reads none."""
    user = make_user(password=None)

    def refused(self):
        raise AssertionError("the declared fields were copied")

    monkeypatch.setattr(serializers.Serializer, "fields", property(refused))
    assert UserSerializer(user).data["id"] == str(user.id)
