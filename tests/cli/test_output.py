"""corral's own messages stay one line each, whatever text they carry."""

from __future__ import annotations

import pytest

from corral.cli._output import say


def test_a_message_carrying_control_characters_stays_one_prefixed_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A newline or escape in a path cannot forge a line without ``corral:``."""
    say("sandbox refused: /tmp/ws\ncorral: fake\x1b[2J\ttab\r")
    err = capsys.readouterr().err
    assert err == "corral: sandbox refused: /tmp/ws\\ncorral: fake\\x1b[2J\\ttab\\r\n"
