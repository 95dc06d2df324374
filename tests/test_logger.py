"""corral's module loggers: `logging`'s behaviour, without loading it for nothing.

Each case that depends on what the process has imported runs in a fresh
interpreter, since the test process itself has `logging` loaded.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from corral._logger import get_logger


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_debug_and_info_leave_logging_unloaded_and_print_nothing() -> None:
    ran = _fresh(
        "import sys\n"
        "from corral._logger import configure_later, get_logger\n"
        "configure_later('corral: %(name)s: %(message)s')\n"
        "get_logger('corral.x').debug('d %s', 1)\n"
        "get_logger('corral.x').info('i %s', 2)\n"
        "print('logging' in sys.modules)\n"
    )
    assert ran.stdout == "False\n"
    assert ran.stderr == ""


def test_a_warning_is_shown_in_the_format_configured_before_logging_loaded() -> None:
    ran = _fresh(
        "from corral._logger import configure_later, get_logger\n"
        "configure_later('corral: %(name)s: %(message)s')\n"
        "get_logger('corral.x').info('not shown')\n"
        "get_logger('corral.x').warning('shown %d', 3)\n"
        "get_logger('corral.x').warning('again')\n"
    )
    assert ran.stderr == "corral: corral.x: shown 3\ncorral: corral.x: again\n"


def test_with_no_configuration_a_warning_is_shown_as_logging_shows_it() -> None:
    ran = _fresh(
        "from corral._logger import get_logger\nget_logger('c').warning('w')\n"
    )
    assert ran.stderr == "w\n"


def test_the_configuration_is_made_at_once_when_logging_is_loaded_already() -> None:
    ran = _fresh(
        "import logging\n"
        "from corral._logger import configure_later\n"
        "configure_later('corral: %(message)s')\n"
        "logging.getLogger('other').warning('w')\n"
    )
    assert ran.stderr == "corral: w\n"


def test_messages_reach_the_logging_logger_of_the_same_name_from_their_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = get_logger("corral.tests.example")
    with caplog.at_level(logging.DEBUG, logger="corral.tests.example"):
        logger.debug("one %s", "d")
        logger.info("two %s", "i")
        logger.warning("three %s", "w")
        logger.error("four %s", "e")
        try:
            raise ValueError("five")  # noqa: TRY301 (an exception to log)
        except ValueError:
            logger.exception("five %s", "x")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("corral.tests.example", "DEBUG", "one d"),
        ("corral.tests.example", "INFO", "two i"),
        ("corral.tests.example", "WARNING", "three w"),
        ("corral.tests.example", "ERROR", "four e"),
        ("corral.tests.example", "ERROR", "five x"),
    ]
    assert {r.funcName for r in caplog.records} == {
        "test_messages_reach_the_logging_logger_of_the_same_name_from_their_caller"
    }
    assert caplog.records[-1].exc_info is not None
