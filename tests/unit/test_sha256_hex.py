"""``sha256_hex``: the digest of hashlib, whichever sha256 computes it."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from kitaru._types import sha256_hex


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 70_000])
def test_the_digest_is_hashlibs(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"k" * (size % 256)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_hex(data) == sha256_hex(bytearray(data)) == sha256_hex(memoryview(data)) == expected


def test_small_values_are_hashed_without_importing_hashlib() -> None:
    code = (
        "import sys\n"
        "from kitaru._types import sha256_hex\n"
        "small = sha256_hex(b'abc')\n"
        "print('hashlib' in sys.modules, small)\n"
        "sha256_hex(b'x' * 2048)\n"
        "print('hashlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", hashlib.sha256(b"abc").hexdigest(), "True"]
