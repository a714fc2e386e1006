"""A minimal PNG encoder (8-bit RGB, no interlacing), so image models need no imaging library."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

__all__ = ["encode_png", "solid_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(width: int, height: int, rows: Iterable[bytes], *, level: int = 6) -> bytes:
    """A PNG of ``height`` rows of ``width`` RGB pixels (``3 * width`` bytes each)."""
    if not (0 < width <= 65535 and 0 < height <= 65535):
        raise ValueError(f"image size must be 1..65535 each way, not {width}x{height}")
    raw = bytearray()
    count = 0
    for row in rows:
        if len(row) != 3 * width:
            raise ValueError(f"row {count} has {len(row)} bytes, not {3 * width}")
        raw += b"\x00"  # filter type 0 (None) for every scanline
        raw += row
        count += 1
    if count != height:
        raise ValueError(f"got {count} rows for an image {height} high")
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), level))
        + _chunk(b"IEND", b"")
    )


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour."""
    row = bytes(rgb) * width
    return encode_png(width, height, (row for _ in range(height)))
