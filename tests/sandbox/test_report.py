"""The enforcer's status report: JSON the launcher's json module reads back exactly."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.sandbox._report import Reporter, json_string

# Every code point, lone surrogates (undecodable file-name bytes) included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))


@settings(database=None)  # no example database: any user may run the suite
@given(ANY_TEXT)
def test_json_string_reads_back_as_the_same_text(text: str) -> None:
    literal = json_string(text)
    assert literal.isascii()
    assert json.loads(literal) == text


def test_json_string_writes_what_json_dumps_writes() -> None:
    for text in ("plain", 'a "quoted" \\ path\n', "\x00\x1f\x7f", "é€", "\U0001f600"):
        assert json_string(text) == json.dumps(text)
    assert json_string("\udcff") == json.dumps("\udcff")


def read_report(write: Callable[[Reporter], None]) -> list[dict[str, object]]:
    read_end, write_end = os.pipe()
    write(Reporter(write_end))
    os.close(write_end)
    with os.fdopen(read_end, encoding="ascii") as reader:
        return [json.loads(line) for line in reader.read().splitlines()]


def test_a_failure_report_is_one_line_of_json_with_the_errno() -> None:
    lines = read_report(lambda r: r.failed("exec", 'cannot run "x\ny"', 2))
    assert lines == [
        {"ok": False, "layer": "exec", "errno": 2, "error": 'cannot run "x\ny"'}
    ]


def test_a_success_report_names_every_layer() -> None:
    lines = read_report(lambda r: r.ok(7, seccomp=True, identity=False))
    assert lines == [
        {"ok": True, "landlock_abi": 7, "seccomp": True, "identity": False}
    ]
