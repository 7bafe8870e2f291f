"""A session as GET sessions/ shows it: SessionSerializer writes its fields by hand, for speed, and must give exactly
what DRF's generic serializer gives for the same declared fields."""
from datetime import UTC, datetime

from django.utils import timezone
import pytest
from rest_framework import serializers

from sessions_app.api.serializers import SessionSerializer
from sessions_app.models import Session
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db


def generic(session, current_session_id) -> dict:
    serializer = SessionSerializer(session, context={"current_session_id": current_session_id})
    return dict(serializers.Serializer.to_representation(serializer, session))


def hand_written(session, current_session_id) -> dict:
    return SessionSerializer(session, context={"current_session_id": current_session_id}).data


@pytest.mark.parametrize("fields", [
    {},
    {"ip_address": None, "user_agent": "", "device": "", "transport": "cookie"},
    {"ip_address": "2001:db8::1", "device_name": "Zoë's phone – مرحبا", "transport": "browser"},
    {"last_used_at": datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)},
])
def test_the_hand_written_representation_is_the_generic_one(user, fields):
    session = Session.objects.get(pk=open_session(user).session.pk)
    Session.objects.filter(pk=session.pk).update(**fields)
    session.refresh_from_db()
    for current in (session.id, str(session.id), None, "someone else's"):
        assert hand_written(session, current) == generic(session, current)
        assert list(hand_written(session, current)) == list(generic(session, current))
    assert hand_written(session, session.id)["current"] is True
    assert hand_written(session, None)["current"] is False


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_times_are_written_in_the_current_time_zone_as_drf_writes_them(user, zone):
    session = Session.objects.get(pk=open_session(user).session.pk)
    with timezone.override(zone):
        assert hand_written(session, None) == generic(session, None)
        written = hand_written(session, None)["created_at"]
    assert written.endswith("Z") == (zone == "UTC")


def test_no_field_is_copied_for_a_page(user, monkeypatch):
    """What the hand-written representation saves: DRF deep-copies the declared fields into every new serializer the
    first time its `fields` are read; a page of sessions reads none."""
    sessions = [Session.objects.get(pk=open_session(user).session.pk) for _ in range(3)]

    def refused(self):
        raise AssertionError("the declared fields were copied")

    monkeypatch.setattr(serializers.Serializer, "fields", property(refused))
    page = SessionSerializer(sessions, many=True, context={"current_session_id": sessions[1].id}).data
    assert [row["current"] for row in page] == [False, True, False]


def test_a_subclass_with_fields_of_its_own_gets_them(user):
    class WithReason(SessionSerializer):
        revoke_reason = serializers.CharField()

    session = Session.objects.get(pk=open_session(user).session.pk)
    data = WithReason(session, context={"current_session_id": None}).data
    assert data["revoke_reason"] == "" and data["id"] == str(session.id)


def test_another_date_format_in_the_settings_is_honoured(user, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "%Y-%m-%d"}
    session = Session.objects.get(pk=open_session(user).session.pk)
    assert hand_written(session, None)["created_at"] == session.created_at.strftime("%Y-%m-%d")
