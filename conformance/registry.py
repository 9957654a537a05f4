"""Finding adapters: the built-in four, the ``conformance.adapters`` entry-point group, and
``--adapter package.module:ClassName`` for a single run. Importing an adapter module is cheap:
frameworks are imported only in the adapter's ``setup`` inside its worker process."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .adapters.base import Adapter
from .errors import UsageError

BUILTIN: dict[str, str] = {
    "numpy": "conformance.adapters.numpy_adapter:NumpyAdapter",
    "torch": "conformance.adapters.torch_adapter:TorchAdapter",
    "tensorflow": "conformance.adapters.tensorflow_adapter:TensorflowAdapter",
    "jax": "conformance.adapters.jax_adapter:JaxAdapter",
}


def available_specs() -> dict[str, str]:
    """Framework name -> "module:Class", built-ins first, then installed plugins."""
    specs = dict(BUILTIN)
    for ep in entry_points(group="conformance.adapters"):
        specs.setdefault(ep.name, ep.value)
    return specs


def load_class(spec: str) -> type[Adapter]:
    module_name, sep, cls_name = spec.partition(":")
    if not sep or not module_name or not cls_name:
        raise UsageError(f"--adapter {spec!r}: expected package.module:ClassName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--adapter {spec!r}: cannot import {module_name}: {exc}") from None
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UsageError(f"--adapter {spec!r}: {cls_name} is not a conformance Adapter subclass")
    if not cls.name:
        raise UsageError(f"--adapter {spec!r}: the adapter class must set `name`")
    return cls


def select(frameworks: list[str], extra: list[str]) -> dict[str, str]:
    """The adapters for one run: ``--framework`` filters known ones; ``--adapter`` adds more."""
    specs = available_specs()
    chosen: dict[str, str] = {}
    if frameworks:
        for name in frameworks:
            if name not in specs:
                raise UsageError(f"--framework {name!r}: unknown; known: {', '.join(specs)}")
            chosen[name] = specs[name]
    elif not extra:
        chosen = specs
    for spec in extra:
        cls = load_class(spec)
        chosen[cls.name] = spec
    return chosen
