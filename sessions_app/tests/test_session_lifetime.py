"""Session lifetimes (docs/security.md 24): an absolute lifetime fixed at login that rotation never extends
(default 30 days) and an idle timeout (default 7 days), both configurable."""
from datetime import timedelta

import pytest

from authcore.testing import CLOCK_START, assert_error
from sessions_app.conf import app_settings

from .helpers import me, open_session, refresh, rotate, session

pytestmark = pytest.mark.django_db

START = CLOCK_START
SECOND = timedelta(seconds=1)


def test_defaults_are_30_days_absolute_and_7_days_idle():
    assert timedelta(days=30) == app_settings.ABSOLUTE_LIFETIME
    assert timedelta(days=7) == app_settings.IDLE_TIMEOUT


def test_rotation_never_extends_the_absolute_lifetime(api, alice, clock):
    tokens = open_session(alice)
    assert session(tokens.session.id).expires_at == START + timedelta(days=30)
    pair = {"refresh": tokens.refresh}
    # Refresh every 6 days, each well within the idle timeout.
    for _ in range(4):  # days 6, 12, 18, 24
        clock.shift(timedelta(days=6))
        pair = rotate(api, pair["refresh"])
    clock.move_to(START + timedelta(days=30) - SECOND)
    pair = rotate(api, pair["refresh"])
    assert session(tokens.session.id).expires_at == START + timedelta(days=30)
    # The idle deadline moved with each refresh but never past the absolute one.
    assert session(tokens.session.id).idle_expires_at == START + timedelta(days=30)

    clock.move_to(START + timedelta(days=30) + SECOND)

    assert_error(refresh(api, pair["refresh"]), 401, "token_not_valid")


def test_access_tokens_die_with_the_absolute_lifetime(api, alice, clock):
    tokens = open_session(alice)
    pair = {"refresh": tokens.refresh}
    for day in (6, 12, 18, 24):
        clock.move_to(START + timedelta(days=day))
        pair = rotate(api, pair["refresh"])
    clock.move_to(START + timedelta(days=30) - timedelta(seconds=2))
    pair = rotate(api, pair["refresh"])
    assert me(api, pair["access"]).status_code == 200
    clock.shift(timedelta(seconds=3))  # the access token still has ~5 minutes on its clock
    assert_error(me(api, pair["access"]), 401, "token_not_valid")


def test_idle_timeout_ends_an_unused_session(api, alice, clock):
    tokens = open_session(alice)
    clock.shift(timedelta(days=7) + SECOND)
    assert_error(refresh(api, tokens.refresh), 401, "token_not_valid")


def test_activity_moves_the_idle_deadline(api, alice, clock):
    tokens = open_session(alice)
    clock.shift(timedelta(days=7) - SECOND)
    pair = rotate(api, tokens.refresh)  # just in time
    clock.shift(timedelta(days=7) - SECOND)
    pair = rotate(api, pair["refresh"])  # 14 days after login, alive because it was used
    clock.shift(timedelta(days=7) + SECOND)
    assert_error(refresh(api, pair["refresh"]), 401, "token_not_valid")


def test_lifetimes_are_configurable(api, alice, clock, settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP, "ABSOLUTE_LIFETIME": timedelta(hours=3), "IDLE_TIMEOUT": timedelta(hours=1),
    }
    idle = open_session(alice)
    busy = open_session(alice)
    pair = {"refresh": busy.refresh}
    for _ in range(3):  # every 50 minutes: never idle for an hour
        clock.shift(timedelta(minutes=50))
        pair = rotate(api, pair["refresh"])
    # 2 h 30 min after login: the unused session died after 1 h; the busy one lives until 3 h.
    assert_error(refresh(api, idle.refresh), 401, "token_not_valid")
    assert session(busy.session.id).expires_at == START + timedelta(hours=3)
    clock.move_to(START + timedelta(hours=3) + SECOND)
    assert_error(refresh(api, pair["refresh"]), 401, "token_not_valid")
