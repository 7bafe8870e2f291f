"""`GET sessions/` a page at a time: SESSIONS_APP["SESSIONS_PAGE_SIZE"] sessions, newest sign-in first (created_at,
then id), the pages around it in the `Link` header (RFC 8288) by an opaque cursor. Paging is by position
(keyset), so sessions that start or end between two requests neither repeat nor skip one, and a page costs the
same queries however many sessions there are. A cursor that is not ours is a 400 `invalid_cursor`."""
import base64
from datetime import timedelta
import re
import uuid

import pytest

from authcore.testing import assert_error, bearer
from sessions_app.conf import app_settings
from sessions_app.models import Session
from sessions_app.services import end_session

from .helpers import open_session

pytestmark = pytest.mark.django_db

URL = "/api/auth/sessions/"
LINK = re.compile(r'<([^>]+)>; rel="(next|prev)"')


@pytest.fixture
def page_size(settings):
    def set_page_size(size):
        settings.SESSIONS_APP = {**settings.SESSIONS_APP, "SESSIONS_PAGE_SIZE": size}

    return set_page_size


@pytest.fixture
def no_cap(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": None}


def open_sessions(user, count: int, clock) -> list:
    """`count` sessions of `user`, a second apart, oldest first."""
    opened = []
    for _ in range(count):
        opened.append(open_session(user))
        clock.shift(timedelta(seconds=1))
    return opened


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.get("Link", ""))}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()]


def newest_first(opened) -> list[str]:
    return [str(tokens.session.id) for tokens in reversed(opened)]


def test_pages_of_the_set_size_newest_first_linked_both_ways(api, clock, alice, page_size):
    page_size(3)
    opened = open_sessions(alice, 7, clock)
    access = opened[-1].access
    # Used last is not newest: the order is by sign-in, which does not move.
    Session.objects.filter(pk=opened[0].session.id).update(
        last_used_at=opened[-1].session.created_at + timedelta(hours=1))

    first = api.get(URL, **bearer(access))
    assert ids(first) == newest_first(opened)[:3]
    assert set(links(first)) == {"next"}
    assert links(first)["next"].startswith("/api/auth/sessions/?cursor=")  # relative: no host from the request

    second = api.get(links(first)["next"], **bearer(access))
    assert ids(second) == newest_first(opened)[3:6]
    assert set(links(second)) == {"next", "prev"}

    last = api.get(links(second)["next"], **bearer(access))
    assert ids(last) == newest_first(opened)[6:]
    assert set(links(last)) == {"prev"}

    # Back the same way.
    assert ids(api.get(links(last)["prev"], **bearer(access))) == newest_first(opened)[3:6]
    back_to_first = api.get(links(second)["prev"], **bearer(access))
    assert ids(back_to_first) == newest_first(opened)[:3] and set(links(back_to_first)) == {"next"}


def test_sessions_started_or_ended_between_pages_neither_repeat_nor_skip(api, clock, alice, page_size):
    page_size(3)
    opened = open_sessions(alice, 9, clock)
    access = opened[-1].access
    first = api.get(URL, **bearer(access))

    # Between the two requests: three new sign-ins, and one session of the first page ends.
    open_sessions(alice, 3, clock)
    end_session(session=opened[-2].session, reason=Session.RevokeReason.LOGOUT)
    second = api.get(links(first)["next"], **bearer(access))
    third = api.get(links(second)["next"], **bearer(access))

    assert ids(first) + ids(second) + ids(third) == newest_first(opened)
    assert "next" not in links(third)


def test_sessions_with_the_same_sign_in_time_page_by_id(api, clock, alice, page_size):
    """The clock stands still: every session has the same created_at, and the order is the ids'."""
    page_size(2)
    opened = [open_session(alice) for _ in range(5)]
    expected = sorted((str(tokens.session.id) for tokens in opened), key=uuid.UUID, reverse=True)

    seen, response = [], api.get(URL, **bearer(opened[0].access))
    while True:
        seen += ids(response)
        if "next" not in links(response):
            break
        response = api.get(links(response)["next"], **bearer(opened[0].access))
    assert seen == expected


def test_the_current_session_is_flagged_on_whichever_page_it_is(api, clock, alice, page_size):
    page_size(2)
    opened = open_sessions(alice, 5, clock)
    access = opened[0].access  # the oldest: on the last page
    first = api.get(URL, **bearer(access))
    assert not any(entry["current"] for entry in first.json())
    last = api.get(links(api.get(links(first)["next"], **bearer(access)))["next"], **bearer(access))
    assert [(entry["id"], entry["current"]) for entry in last.json()] == [(str(opened[0].session.id), True)]


def encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage",
    "!!!",
    "a" * 81,
    "YQ",  # base64 of "a"
    encoded("o.1.nothex"),
    encoded("x.1." + "0" * 32),
    encoded("o.9999999999999999999." + "0" * 32),  # past the year 9999
    encoded("o.-1." + "0" * 32),
    "b64%",
    "\u00e9t\u00e9",
], ids=["word", "punctuation", "too-long", "short-base64", "bad-id", "bad-direction", "overflow", "negative",
        "percent", "non-ascii"])
def test_a_cursor_that_is_not_ours_is_a_400(api, alice, cursor):
    tokens = open_session(alice)
    assert_error(api.get(URL, {"cursor": cursor}, **bearer(tokens.access)), 400, "invalid_cursor")


def test_two_cursors_are_a_400_and_an_empty_one_the_first_page(api, alice):
    tokens = open_session(alice)
    cursor = encoded(f"o.1.{'0' * 32}")
    assert_error(api.get(f"{URL}?cursor={cursor}&cursor={cursor}", **bearer(tokens.access)), 400, "invalid_cursor")
    assert ids(api.get(f"{URL}?cursor=", **bearer(tokens.access))) == [str(tokens.session.id)]


def test_a_cursor_shows_only_the_callers_sessions(api, clock, alice, make_user, page_size):
    """A cursor is a position, not a capability: another user's cursor pages through the caller's own list."""
    page_size(1)
    bob = make_user("bob@example.com", password=None)
    bobs = open_sessions(bob, 2, clock)
    mine = open_sessions(alice, 2, clock)
    bobs_next = links(api.get(URL, **bearer(bobs[0].access)))["next"]
    assert set(ids(api.get(bobs_next, **bearer(mine[0].access)))) <= {str(tokens.session.id) for tokens in mine}


@pytest.mark.parametrize("count", [3, 200])
def test_a_page_costs_the_same_queries_however_many_sessions(api, clock, alice, no_cap, count,
                                                             django_assert_num_queries):
    """Two: the token's session with its user (authentication), and the page. The same for a later page."""
    size = app_settings.SESSIONS_PAGE_SIZE
    opened = open_sessions(alice, count, clock)
    with django_assert_num_queries(2) as captured:
        first = api.get(URL, **bearer(opened[0].access))
    assert len(ids(first)) == min(count, size)
    # The page is read with a LIMIT: one more than the page, to know whether another follows.
    assert captured.captured_queries[1]["sql"].endswith(f"LIMIT {size + 1}")
    if count > size:
        with django_assert_num_queries(2):
            second = api.get(links(first)["next"], **bearer(opened[0].access))
        assert len(ids(second)) == size and set(ids(first)).isdisjoint(ids(second))


def test_the_default_page_is_ten(api, clock, alice):
    opened = open_sessions(alice, 10, clock)
    full = api.get(URL, **bearer(opened[0].access))
    assert ids(full) == newest_first(opened) and "Link" not in full  # exactly one page: no next

    opened += open_sessions(alice, 1, clock)
    first = api.get(URL, **bearer(opened[0].access))
    assert ids(first) == newest_first(opened)[:10]
    assert ids(api.get(links(first)["next"], **bearer(opened[0].access))) == [str(opened[0].session.id)]


def test_the_check_refuses_a_page_size_that_is_not_from_1_to_1000(settings):
    from django.test import override_settings

    from sessions_app.checks import check_session_settings

    for value, refused in [(0, True), (1001, True), ("50", True), (None, True), (1, False), (1000, False)]:
        with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "SESSIONS_PAGE_SIZE": value}):
            assert ("sessions_app.E028" in {message.id for message in check_session_settings()}) is refused, value


def test_a_browser_app_on_a_listed_origin_may_read_the_link_header(api, clock, alice, page_size, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    page_size(1)
    opened = open_sessions(alice, 2, clock)
    response = api.get(URL, HTTP_ORIGIN="https://app.example.com", **bearer(opened[0].access))
    assert "next" in links(response)
    exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert "link" in exposed
