"""Module loggers that load `logging` only once a message can be shown.

Importing `logging` costs every ``corral run`` several milliseconds, and most
runs log nothing.  A `Logger` here hands each message to the `logging` logger
of the same name; until something has imported `logging`, no level or handler
can have been set, so a debug or info message is dropped exactly as `logging`
itself would drop it (the root logger's default level is WARNING).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

__all__ = ["Logger", "configure_later", "get_logger"]

# The format `configure_later` asked for, until `logging` is first needed.
_deferred: dict[str, str] = {}


class Logger:
    """A named logger with the methods corral calls, passed on to `logging`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        """Log `message` % `args` at DEBUG."""
        if "logging" in sys.modules:
            self._logger().debug(message, *args, stacklevel=2)

    def info(self, message: str, *args: object) -> None:
        """Log `message` % `args` at INFO."""
        if "logging" in sys.modules:
            self._logger().info(message, *args, stacklevel=2)

    def warning(self, message: str, *args: object) -> None:
        """Log `message` % `args` at WARNING."""
        self._logger().warning(message, *args, stacklevel=2)

    def error(self, message: str, *args: object) -> None:
        """Log `message` % `args` at ERROR."""
        self._logger().error(message, *args, stacklevel=2)

    def exception(self, message: str, *args: object) -> None:
        """Log `message` % `args` at ERROR with the exception being handled."""
        self._logger().exception(message, *args, stacklevel=2)

    def _logger(self) -> logging.Logger:
        import logging  # noqa: PLC0415 (the point of this module)

        _apply_deferred()
        return logging.getLogger(self.name)


def get_logger(name: str) -> Logger:
    """Return the logger for the module `name` (``get_logger(__name__)``)."""
    return Logger(name)


def configure_later(message_format: str) -> None:
    """Show WARNING and above on stderr in `message_format`, once one is logged.

    The same as ``logging.basicConfig(level=WARNING, format=message_format)``,
    made at once when `logging` is already loaded, else before the first
    message that loads it.
    """
    _deferred["format"] = message_format
    if "logging" in sys.modules:
        _apply_deferred()


def _apply_deferred() -> None:
    """Make the configuration `configure_later` asked for, if it is still due."""
    message_format = _deferred.pop("format", None)
    if message_format is None:
        return
    import logging  # noqa: PLC0415 (the point of this module)

    logging.basicConfig(level=logging.WARNING, format=message_format)
