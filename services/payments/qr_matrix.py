"""The modules of a notice's QR code: exactly the symbol `segno.make(payload, error="m", micro=False,
boost_error=False)` gives, mask included, four times faster.

ISO/IEC 18004:2015 §7.8.3 chooses, of the eight data masks, the one with the lowest penalty score.
segno evaluates the eight module by module in Python, which is three quarters of the time a notice
takes to render. Here segno still encodes the data (with mask 0, which skips its evaluation); the
data modules are recovered by undoing mask 0, the eight masked candidates are made by XOR of whole
rows, and their penalties (N1 runs, N2 blocks, N3 finder-like patterns, N4 dark proportion, as
segno's `mask_scores` counts them) are computed on bytes and integers. Format and version
information are then written by segno's own functions. `tests/payments/test_qr_matrix.py` checks
that every module equals segno's on random payloads.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import segno
from segno import consts
from segno import encoder as segno_encoder

# The encoder's steps that segno.make runs (untyped); pinned with segno in pyproject.toml.
encoder: Any = segno_encoder

_N3 = bytes((1, 0, 1, 1, 1, 0, 1))
_N3_ANYWHERE = re.compile(re.escape(_N3))
Matrix = tuple[bytearray, ...]


@dataclass(frozen=True)
class _Layout:
    """Per symbol version: each mask as one integer per row over the data region (one byte per
    module), the cells that format and version information overwrite, and the N2 column mask."""

    masks: tuple[tuple[int, ...], ...]
    written: tuple[tuple[int, int], ...]
    ones: int  # bit 0 of every byte of the rows and columns joined by separators
    inner: int  # bit 0 of every module with a module above it and one to its left


@functools.cache
def _layout(version: int, width: int) -> _Layout:
    function = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(function, width, width)
    encoder.add_alignment_patterns(function, width, width)
    function[-8][8] = 0x1  # the dark module, as segno marks it
    patterns = encoder.get_data_mask_functions(False)
    masks = tuple(
        tuple(
            int.from_bytes(
                bytes(int(function[i][j] > 0x1 and bool(pattern(i, j))) for j in range(width)), "big"
            )
            for i in range(width)
        )
        for pattern in patterns
    )
    probe = tuple(bytearray([0x5] * width) for _ in range(width))
    encoder.add_format_info(probe, version, consts.ERROR_LEVEL_M, 0)
    encoder.add_version_info(probe, version)
    written = tuple((i, j) for i in range(width) for j in range(width) if probe[i][j] != 0x5)
    ones = int.from_bytes(b"\x01" * (2 * width * (width + 1)), "big")
    inner = int.from_bytes(b"\x00" * width + (b"\x00" + b"\x01" * (width - 1)) * (width - 1), "big")
    return _Layout(masks, written, ones, inner)


def _n3(line: bytes, size: int) -> int:
    """segno's `n3_pattern_occurrences`: 1:1:3:1:1 with four light modules on one side."""
    count, found = 0, line.find(_N3)
    while found != -1:
        after = found + 7
        before_light = 1 not in line[max(found - 4, 0) : min(found, size)]
        after_light = 1 not in line[max(after, 0) : min(after + 4, size)]
        if found in (0, size - 7) or before_light or after_light:
            count += 40
        else:
            after = found + 4
        found = line.find(_N3, after)
    return count


def _penalty(rows: list[bytes], size: int, layout: _Layout) -> int:
    """segno's `mask_scores` total, on whole rows and columns as integers (one byte per module)."""
    lines = (*rows, *(bytes(column) for column in zip(*rows, strict=True)))
    # N1: each run of 5 + k modules of one colour in a line scores 3 + k. With a separator (9) before
    # every line, `same` marks a module equal to the one before it; a run of length L ends L - 4
    # windows of five equal modules and starts one of them: L - 2 = windows + 2 * starts.
    joined = b"\x09" + b"\x09".join(lines)
    number = int.from_bytes(joined, "big")
    step = number ^ (number >> 8)
    same = layout.ones & ~(step | (step >> 1) | (step >> 2) | (step >> 3))
    windows = same & (same >> 8) & (same >> 16) & (same >> 24)
    n1 = windows.bit_count() + 2 * (windows & ~(windows >> 8)).bit_count()
    # N2: each 2 x 2 block of one colour scores 3.
    grid = int.from_bytes(b"".join(rows), "big")
    above, left = grid ^ (grid >> (8 * size)), grid ^ (grid >> 8)
    n2 = 3 * (layout.inner & ~(above | (above >> 8) | left)).bit_count()
    with_n3 = {(found.start() - 1) // (size + 1) for found in _N3_ANYWHERE.finditer(joined)}
    n3 = sum(_n3(lines[index], size) for index in with_n3)
    dark = b"".join(rows).count(1)
    n4 = 10 * int(abs(float(dark) / size**2 * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def matrix(payload: str) -> tuple[Matrix, int]:
    """The QR code's modules (rows of 0/1 bytes, no quiet zone) and its mask number."""
    plain = segno.make(payload, error="m", micro=False, boost_error=False, mask=0)
    size, version = len(plain.matrix), int(plain.version)
    layout = _layout(version, size)
    rows = [bytearray(row) for row in plain.matrix]
    for i, j in layout.written:
        rows[i][j] = 0x0  # reserved, as during segno's evaluation
    data = [int.from_bytes(row, "big") ^ mask for row, mask in zip(rows, layout.masks[0], strict=True)]
    best: tuple[int, int, list[bytes]] | None = None
    for number, mask in enumerate(layout.masks):
        candidate = [(d ^ m).to_bytes(size, "big") for d, m in zip(data, mask, strict=True)]
        score = _penalty(candidate, size, layout)
        if best is None or score < best[0]:
            best = (score, number, candidate)
    assert best is not None
    chosen = tuple(bytearray(row) for row in best[2])
    encoder.add_format_info(chosen, version, consts.ERROR_LEVEL_M, best[1])
    encoder.add_version_info(chosen, version)
    return chosen, best[1]
