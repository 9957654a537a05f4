"""Limits on what a case file may ask for (README "Size limits"), in one place.

Case files are untrusted input: each limit is checked before the work it bounds is done (the
file size before reading, nesting and node counts while the YAML is composed, digits before any
Decimal/Fraction arithmetic, array sizes before any allocation), so a hostile file costs at most
a second or two and a little memory, and becomes one located case error.
"""

from __future__ import annotations

# Bytes in one case file, checked with fstat before reading (largest bundled case: 35 KB).
MAX_FILE_BYTES = 1 << 18  # 256 KiB

# YAML nodes (keys, values and list items) in one file with every alias expanded, counted while
# the document is composed: bounds "billion laughs" alias bombs and the time to check a file
# (ruamel.yaml parses about 10,000 nodes a second here; the largest bundled case has 2,112).
# Larger arrays are written as distributions.
MAX_NODES = 1 << 13  # 8,192

# Nesting depth of YAML collections (a case file needs about 13: four levels of keys and a
# nested list per array dimension); keeps every recursive step far from Python's stack limit.
MAX_DEPTH = 32

# Digits in one number literal: every float64 written out exactly fits (2**-1074 has 1,074
# digits after the point); more is refused before any Decimal or Fraction work.
MAX_DIGITS = 1100

# Written decimal exponent of a literal (the "e-5" part): |exponent| <= this. Within the range,
# literals are rounded like any other: beyond float64's range to +-inf, below it to +-0.
MAX_EXPONENT = 1100

# Batch dimensions of one case (the bundled suite uses up to 5).
MAX_BATCH_DIMS = 8

# Values per array and multiply-adds per case, checked from the shapes before any allocation;
# they bound the exact reference too (one error-free product per multiply-add).
MAX_ARRAY_ELEMENTS = 1 << 24  # 16.7 M values per array
MAX_MACS = 1 << 28  # batch * in_features * out_features, 268 M

# Characters in a case id (ids name repro programs and appear in every report).
MAX_ID_LENGTH = 128
