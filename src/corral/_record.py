"""Small immutable value types for the modules every command loads.

`typing.NamedTuple` and `dataclasses` would cost the in-sandbox enforcer, which
starts before every command, several milliseconds of imports; and a dataclass
costs any process some 0.3 ms to create, as its methods are compiled then.
`Record` costs nothing, so the small records on every ``corral run``'s path,
in the enforcer and on the host, are Records.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn, Self

__all__ = ["Record"]


class Record:
    """A value compared, hashed and shown by its fields, which cannot be reassigned.

    A subclass names its fields in ``__slots__`` and sets them in ``__init__``
    through `_init`, which insists on every field exactly once.
    """

    __slots__: tuple[str, ...] = ()

    def _init(self, **values: object) -> None:
        if set(values) != set(self.__slots__):
            raise TypeError(f"{type(self).__name__} needs the fields {self.__slots__}")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def _fields(self) -> tuple[str, ...]:
        return tuple(self.__slots__)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _replace(self, **changes: Any) -> Self:
        """Return a copy with the fields in `changes` replaced, as NamedTuple does."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no fields {sorted(unknown)}")
        values = {name: getattr(self, name) for name in self.__slots__}
        return type(self)(**(values | changes))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(self.__slots__, self._values(), strict=True)
        )
        return f"{type(self).__name__}({fields})"
