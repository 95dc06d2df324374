"""Records: values compared, hashed and shown by their fields, never changed."""

from __future__ import annotations

import pytest

from corral._record import Record
from corral.approvals import Category
from corral.approvals.catalog._base import Entry, spec


class _Point(Record):
    __slots__ = ("x", "y")
    x: int
    y: int

    def __init__(self, x: int, y: int = 0) -> None:
        self._init(x=x, y=y)


class _Other(Record):
    __slots__ = ("x", "y")
    x: int
    y: int

    def __init__(self, x: int, y: int = 0) -> None:
        self._init(x=x, y=y)


def test_records_of_one_type_with_equal_fields_are_equal_and_hash_alike() -> None:
    assert _Point(1, 2) == _Point(1, 2)
    assert hash(_Point(1, 2)) == hash(_Point(1, 2)) == hash((1, 2))
    assert _Point(1, 2) != _Point(2, 1)
    assert len({_Point(1, 2), _Point(1, 2), _Point(1)}) == 2


def test_records_of_different_types_are_never_equal() -> None:
    assert _Point(1, 2) != _Other(1, 2)
    assert _Point(1, 2) != (1, 2)


def test_a_record_cannot_be_changed_or_given_new_fields() -> None:
    point = _Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 5
    with pytest.raises(AttributeError):
        del point.y
    with pytest.raises(AttributeError):
        point.z = 1
    assert point == _Point(1, 2)


def test_a_record_shows_its_fields_and_replaces_them_into_a_copy() -> None:
    assert repr(_Point(1, 2)) == "_Point(x=1, y=2)"
    assert _Point(1, 2)._replace(y=3) == _Point(1, 3)
    with pytest.raises(TypeError):
        _Point(1)._replace(z=3)


def test_the_program_tables_entries_and_options_compare_by_their_fields() -> None:
    assert Entry(Category.READ, "lists files") == Entry(Category.READ, "lists files")
    assert Entry(Category.READ, "a") != Entry(Category.EDIT, "a")
    options = spec("-o --output", "-v --verbose")
    assert options == spec("-o --output", "-v --verbose")
    assert hash(options) == hash(spec("-o --output", "-v --verbose"))
    assert options != spec("-o --output", "-v --verbose", permute=False)
    assert sorted(options.longs) == ["--output", "--verbose"]
