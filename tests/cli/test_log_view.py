"""``corral log``'s one-line view: a summary for every event, steered by no record."""

from __future__ import annotations

from corral.audit._schema import EVENTS
from corral.cli._log_view import _SUMMARIES, event_line


def test_every_event_in_the_schema_has_a_summary() -> None:
    assert set(EVENTS) <= set(_SUMMARIES)


def test_a_drop_at_the_collector_is_shown_with_its_records() -> None:
    line = event_line(
        {
            "event": "export.rejected",
            "endpoint": "http://127.0.0.1:4318",
            "rejected": 3,
            "first_seq": 4,
            "last_seq": 9,
            "message": "quota",
            "time": "2026-12-04T13:57:03.123Z",
            "session": "named:s",
        }
    )
    assert "dropped 3 of records 4..9: quota" in line


def test_a_line_without_corrals_fields_is_shown_as_missing_not_as_none() -> None:
    assert "None" not in event_line({"x": 1})


def test_control_characters_in_a_record_are_spelled_out() -> None:
    line = event_line(
        {"event": "command.requested", "argv": ["echo", "\x1b[2J\nfake"], "time": 1}
    )
    assert "\x1b" not in line
    assert "\n" not in line
