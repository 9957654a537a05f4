"""The one definition of the case-file format, as JSON Schema.

``conformance.cases`` validates every file against it (then checks what a schema cannot say:
shapes against arrays, sizes, parseable literals), and ``conformance schema`` writes it out for
editors (``# yaml-language-server: $schema=...``). Keep the two from drifting by editing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .dtypes import DTYPE_NAMES
from .ids import ID_PATTERN
from .limits import MAX_BATCH_DIMS, MAX_ID_LENGTH

SCHEMA_ID = "https://github.com/conformance/conformance/case.schema.json"
# The committed copy, for editors (README "Editor support"); a test keeps it equal to the code.
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema" / "case.schema.json"

_scalar: dict[str, Any] = {
    "description": "A number; YAML .nan/.inf/-.inf/-0.0, or a string holding a hex float "
    "('0x1.8p-2') or a decimal to be rounded straight to each dtype.",
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*[-+]?[0-9a-fA-FxXpP.nNiI_eE+-]+\s*$"},
    ],
}

_nested: dict[str, Any] = {
    "description": "A scalar or a nested list of scalars.",
    "anyOf": [_scalar, {"type": "array", "items": {"$ref": "#/$defs/nested"}}],
}

_distribution: dict[str, Any] = {
    "type": "object",
    "description": "Values drawn from numpy.random.default_rng(seed) (draw order: x/z, weight or "
    "kernel, bias), then rounded to each dtype. Each distribution takes only its own parameters "
    "(uniform: low <= high; normal: mean, std; student_t: df >= 1, scale), finite, with a range "
    "every dtype of the case can hold.",
    "required": ["distribution"],
    "additionalProperties": False,
    "properties": {
        "distribution": {"enum": ["uniform", "normal", "student_t"]},
        "low": {"type": "number", "description": "uniform: lower bound (default -1)"},
        "high": {"type": "number", "description": "uniform: upper bound (default 1)"},
        "mean": {"type": "number", "description": "normal: mean (default 0)"},
        "std": {"type": "number", "minimum": 0, "description": "normal: std (default 1)"},
        "df": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "student_t: degrees of freedom",
        },
        "scale": {"type": "number", "minimum": 0, "description": "student_t: scale (default 1)"},
    },
}

_array: dict[str, Any] = {"anyOf": [{"$ref": "#/$defs/nested"}, {"$ref": "#/$defs/distribution"}]}

_tol_values: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "ulp": {"type": "number", "minimum": 0, "description": "max ULP distance; 0 means exact"},
        "rtol": {"type": "number", "minimum": 0},
        "atol": {"type": "number", "minimum": 0},
        "signed_zeros": {
            "type": "boolean",
            "description": "a zero of the wrong sign fails (ulp: 0 implies it); for cases that "
            "exist to test the sign of zero",
        },
        "accumulate": {
            "enum": ["float32", "dtype"],
            "description": "accumulation model of the default affine bound: float32 (or wider; "
            "the default) or dtype (hardware that sums float16/bfloat16 in that type)",
        },
    },
}

_tol_op: dict[str, Any] = {
    "type": "object",
    "description": "Override of the default tolerance: {ulp, rtol, atol, signed_zeros, "
    "accumulate} for every dtype and/or per dtype (merged; the dtype's wins). An element passes "
    "when it is within `ulp` ULP or within atol + rtol*|ref|.",
    "additionalProperties": False,
    "properties": {
        "ulp": _tol_values["properties"]["ulp"],
        "rtol": _tol_values["properties"]["rtol"],
        "atol": _tol_values["properties"]["atol"],
        "signed_zeros": _tol_values["properties"]["signed_zeros"],
        "accumulate": _tol_values["properties"]["accumulate"],
        **{name: {"$ref": "#/$defs/tolerance_values"} for name in DTYPE_NAMES},
    },
}

_expected_op: dict[str, Any] = {
    "description": "Expected output: one nested list for every dtype, or one per dtype. A decimal "
    "that is not exactly representable is read as printed output (± half a unit in its last digit).",
    "anyOf": [
        {"$ref": "#/$defs/nested"},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: {"$ref": "#/$defs/nested"} for name in DTYPE_NAMES},
        },
    ],
}

CASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "conformance case file",
    "description": "One dense-layer (y = x @ W.T + b, then sigmoid) or sigmoid-only test case.",
    "type": "object",
    "additionalProperties": False,
    "required": ["inputs"],
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_LENGTH,
            "pattern": ID_PATTERN,
            "description": "Names the case in reports and its repro/ programs: segments of "
            "letters, digits, _ . - separated by /, each starting with a letter, digit or _.",
        },
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "dtypes": {
            "type": "array",
            "items": {"enum": list(DTYPE_NAMES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "seed": {"type": "integer", "minimum": 0},
        "shapes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "batch": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0},
                    "maxItems": MAX_BATCH_DIMS,
                },
                "in_features": {"type": "integer", "minimum": 1},
                "out_features": {"type": "integer", "minimum": 1},
            },
        },
        "inputs": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "x": {"$ref": "#/$defs/array", "description": "(*batch, in_features)"},
                "z": {"$ref": "#/$defs/array", "description": "sigmoid-only input, any shape"},
            },
        },
        "params": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "weight": {"$ref": "#/$defs/array", "description": "(out, in): PyTorch layout"},
                "kernel": {"$ref": "#/$defs/array", "description": "(in, out): Keras/Flax layout"},
                "bias": {"anyOf": [{"$ref": "#/$defs/array"}, {"type": "null"}]},
                "init": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_.-]{1,64}$",
                    "description": "draw the parameters with a framework's seeded initialiser: "
                    "torch, keras, jax, or a kind a plugin adapter declares",
                    "examples": ["torch", "keras", "jax"],
                },
            },
        },
        "expected": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "affine": {"$ref": "#/$defs/expected"},
                "sigmoid": {"$ref": "#/$defs/expected"},
                "weight": {"$ref": "#/$defs/expected"},
                "kernel": {"$ref": "#/$defs/expected"},
                "bias": {"$ref": "#/$defs/expected"},
            },
        },
        "tolerance": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "affine": {"$ref": "#/$defs/tolerance"},
                "sigmoid": {"$ref": "#/$defs/tolerance"},
            },
        },
    },
    "$defs": {
        "scalar": _scalar,
        "nested": _nested,
        "distribution": _distribution,
        "array": _array,
        "expected": _expected_op,
        "tolerance": _tol_op,
        "tolerance_values": _tol_values,
    },
}
