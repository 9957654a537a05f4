"""Shared NumPy-side helpers for adapters (no framework imports here)."""

from __future__ import annotations

import ml_dtypes
import numpy as np


def is_bf16(a: np.ndarray) -> bool:
    return a.dtype == np.dtype(ml_dtypes.bfloat16)


def bits16(a: np.ndarray) -> np.ndarray:
    """bfloat16 array as int16 bits (for frameworks that cannot take ml_dtypes arrays)."""
    return np.ascontiguousarray(a).view(np.int16)


def from_bits16(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(ml_dtypes.bfloat16)
