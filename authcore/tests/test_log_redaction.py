"""What an app registers as secret (authcore.logs.register_redaction) is blanked in every log line, the
message and the traceback alike, keeping the pattern's first group."""
import logging

import pytest

from authcore import logs


@pytest.fixture
def registry(monkeypatch):
    """A registry of the test's own: what it registers goes with it."""
    monkeypatch.setattr(logs, "REDACTIONS", [])
    return logs.REDACTIONS


def filtered(message: str, *args, exc_info=None) -> logging.LogRecord:
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, message, args, exc_info)
    logs.RequestContextFilter().filter(record)
    return record


def test_a_registered_pattern_is_blanked_after_its_first_group(registry):
    logs.register_redaction(r"(/invite/)[0-9a-f]{16}")

    assert filtered("Not Found: %s", "/invite/0123456789abcdef/").getMessage() == "Not Found: /invite/[redacted]/"


def test_a_pattern_without_a_group_is_blanked_whole(registry):
    logs.register_redaction(r"sk_live_[A-Za-z0-9]+")

    assert filtered("key sk_live_abc123 refused").getMessage() == "key [redacted] refused"


def test_registering_twice_keeps_one_pattern(registry):
    logs.register_redaction(r"(/invite/)[0-9a-f]{16}")
    logs.register_redaction(r"(/invite/)[0-9a-f]{16}")

    assert len(registry) == 1


def test_a_traceback_is_blanked_too(registry):
    logs.register_redaction(r"(/invite/)[0-9a-f]{16}")
    try:
        raise ValueError("bad path /invite/0123456789abcdef/")
    except ValueError as error:
        record = filtered("failed", exc_info=(type(error), error, error.__traceback__))

    assert "/invite/[redacted]/" in record.exc_text and "0123456789abcdef" not in record.exc_text


def test_with_nothing_registered_a_line_is_left_as_it_is(registry):
    record = filtered("Not Found: %s", "/invite/0123456789abcdef/")

    assert record.getMessage() == "Not Found: /invite/0123456789abcdef/" and record.args
