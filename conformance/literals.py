"""Explicit numbers in case files: each value rounded once, straight from its decimal text.

A literal keeps, per value, the nearest float64 (``hi``), the sign of what float64 could not
hold (``lo``) and half a unit in the last written digit (``half_unit``), so it can be rounded
to every dtype without double rounding and read as printed output where it is not exact.

A decimal is rounded like any other value: one beyond float64's range (``1e400``) is ±inf in
every dtype, one below half its smallest subnormal is ±0. Its digits and exponent are bounded
(``MAX_DIGITS``, ``MAX_EXPONENT``) and checked before any Decimal or Fraction work, so
``1e100000000`` is refused at once instead of building a 100-million-digit integer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np

from . import dtypes as D
from .limits import MAX_DIGITS, MAX_EXPONENT
from .yamlio import Num

# Literals up to this many values keep their exact decimal values (pins, expected outputs), so
# that "within half a unit of the last digit" is decided exactly even for float64.
KEEP_EXACT = 4096

_DECIMAL = re.compile(r"[+-]?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?", re.ASCII)


@dataclass(frozen=True)
class Literal:
    """Explicit values: ``hi`` = nearest float64, ``lo`` = sign of the rest, ``half_unit`` =
    half a unit in the last written digit (0 for exact forms such as hex floats), and, for
    small literals, the exact value of each finite entry."""

    hi: np.ndarray
    lo: np.ndarray
    half_unit: np.ndarray
    # per entry (exact value, exact half unit), None for nan/inf; kept for small literals
    exact: tuple[tuple[Fraction, Fraction] | None, ...] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.hi.shape)

    def rounded(self, dt: D.DType) -> np.ndarray:
        """The values rounded once, straight from the literal, to ``dt`` (as float64)."""
        return D.round_pair(self.hi, self.lo, dt)

    def point(self, dt: D.DType) -> np.ndarray:
        """Where an entry stands for one value only: exactly a ``dt`` value (or nan/inf)."""
        return (self.lo == 0) & ((self.rounded(dt) == self.hi) | ~np.isfinite(self.hi))

    def contains(self, values: np.ndarray, dt: D.DType) -> np.ndarray:
        """Which ``values`` (``dt`` values, float64 array of this shape) each entry admits.

        An entry that is exactly a ``dt`` value (or nan, ±inf) admits that value only, the
        sign of zero included; any other decimal is read as printed output and admits every
        value within half a unit of its last digit *of the decimal itself*.
        """
        v = np.asarray(values, dtype=np.float64)
        point = self.point(dt)
        same = (v == self.hi) & (np.signbit(v) == np.signbit(self.hi))
        same |= np.isnan(v) & np.isnan(self.hi)
        with np.errstate(invalid="ignore", over="ignore"):
            near = np.abs(v - self.hi) <= self.half_unit  # exact below, where it matters
        out = np.where(point, same, near & np.isfinite(v))
        if self.exact is not None:
            flat_v, flat_point, flat_out = v.ravel(), point.ravel(), out.ravel()
            for i, entry in enumerate(self.exact):
                if entry is None or flat_point[i] or not math.isfinite(flat_v[i]):
                    continue
                d, half = entry
                flat_out[i] = abs(Fraction(float(flat_v[i])) - d) <= half
            out = flat_out.reshape(v.shape)
        return out


Parsed = tuple[float, float, float, tuple[Fraction, Fraction] | None]


def _parse_scalar(value: Any) -> Parsed:
    """(hi, lo-sign, half-unit, exact value or None for nan/inf) for one scalar; raises
    ValueError with a short reason."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Num):
        text = value.text.replace("_", "").strip()
        low = text.lower().lstrip("+-")
        if low in (".nan", ".inf", "nan", "inf"):
            return float(value), 0.0, 0.0, None
        return _decimal(text)
    if isinstance(value, float):  # .nan / .inf come as plain floats
        if math.isfinite(value):
            return _decimal(repr(value))
        return value, 0.0, 0.0, None
    if isinstance(value, int):
        return _decimal(str(int(value)))
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        low = text.lower().lstrip("+-")
        if low.startswith("0x"):
            if len(text) > MAX_DIGITS:
                raise ValueError(f"a hex float of {len(text)} characters; at most {MAX_DIGITS}")
            try:
                hex_value = float.fromhex(text)
            except (ValueError, OverflowError):
                raise ValueError(f"not a hex float: {_short(value)}") from None
            return hex_value, 0.0, 0.0, (Fraction(hex_value), Fraction(0))
        if low in ("nan", "inf", "infinity"):
            return float(text), 0.0, 0.0, None
        return _decimal(text)
    raise ValueError(f"expected a number, got {type(value).__name__}")


def _decimal(text: str) -> Parsed:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(f"not a number: {_short(text)}")
    mantissa, exponent = match.group(1), match.group(2) or "0"
    digits = len(mantissa) - ("." in mantissa)
    if digits > MAX_DIGITS:
        raise ValueError(f"{digits} digits; at most {MAX_DIGITS} (README 'Size limits')")
    if len(exponent.lstrip("+-0")) > len(str(MAX_EXPONENT)) or abs(int(exponent)) > MAX_EXPONENT:
        raise ValueError(
            f"exponent {_short(exponent)} is outside ±{MAX_EXPONENT} (README 'Size limits')"
        )
    try:
        dec = Decimal(text)
        exact = Fraction(text)
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {_short(text)}") from None
    try:
        hi = float(text)
    except OverflowError:
        hi = math.copysign(math.inf, float(dec))
    rem = exact - Fraction(hi) if math.isfinite(hi) else Fraction(0)
    lo = 0.0 if rem == 0 else math.copysign(1.0, rem)
    exp = dec.as_tuple().exponent
    if not isinstance(exp, int):
        half = Fraction(0)
    else:
        half = Fraction(1, 2) * Fraction(10) ** exp
    # a unit beyond float64's range reads as inf (the value itself is then ±inf)
    half_unit = math.inf if isinstance(exp, int) and exp > 308 else float(half)
    return hi, lo, half_unit, (exact, half) if math.isfinite(hi) else None


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def parse_literal(node: Any) -> Literal:
    """Nested list (or scalar) -> :class:`Literal`; ValueError names the bad index."""
    flat: list[Parsed] = []

    def shape_of(n: Any, index: tuple[int, ...]) -> tuple[int, ...]:
        if isinstance(n, list):
            shapes = [shape_of(item, (*index, i)) for i, item in enumerate(n)]
            if any(s != shapes[0] for s in shapes[1:]):
                raise ValueError(f"ragged nested list at {_fmt_index(index)}")
            return (len(n), *(shapes[0] if shapes else ()))
        try:
            flat.append(_parse_scalar(n))
        except ValueError as exc:
            raise ValueError(f"{_fmt_index(index)}: {exc}") from None
        return ()

    shape = shape_of(node, ())
    numbers = [f[:3] for f in flat]
    arr = (
        np.array(numbers, dtype=np.float64).reshape((*shape, 3)) if flat else np.zeros((*shape, 3))
    )
    exact = tuple(f[3] for f in flat) if len(flat) <= KEEP_EXACT else None
    return Literal(arr[..., 0].copy(), arr[..., 1].copy(), arr[..., 2].copy(), exact)


def _fmt_index(index: Sequence[int]) -> str:
    return "".join(f"[{i}]" for i in index) or "value"
