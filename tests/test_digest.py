"""corral's SHA-256: the digest hashlib gives, whatever the input's length."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from corral._digest import BUILT_IN_LIMIT, sha256_hex


@pytest.mark.parametrize(
    "size",
    [0, 1, 63, 64, 65, 1000, BUILT_IN_LIMIT - 1, BUILT_IN_LIMIT, BUILT_IN_LIMIT + 1],
)
def test_the_digest_is_hashlibs_on_each_side_of_the_limit(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_a_digest_of_a_short_input_loads_no_openssl() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from corral._digest import sha256_hex; sha256_hex(b'x'); "
            "print('_hashlib' in sys.modules, 'hashlib' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == "False False\n"
