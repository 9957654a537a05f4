"""Finding adapters: the built-in four, the ``conformance.adapters`` entry-point group, and
``--adapter package.module:ClassName`` for a single run.

Every adapter has a name (the entry point's, or the ``--adapter`` class's ``name``); a run
takes all of them, or those ``--framework NAME`` selects. A plugin may not take a name that is
already taken (a built-in's, say) unless the run says ``--replace-adapter``. Importing an
adapter module is cheap: frameworks are imported only in the adapter's ``setup`` inside its
worker process, so the case loader can ask which ``params.init`` kinds the adapters draw.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points

from .adapters.base import Adapter, table_problems
from .errors import UsageError

BUILTIN: dict[str, str] = {
    "numpy": "conformance.adapters.numpy_adapter:NumpyAdapter",
    "torch": "conformance.adapters.torch_adapter:TorchAdapter",
    "tensorflow": "conformance.adapters.tensorflow_adapter:TensorflowAdapter",
    "jax": "conformance.adapters.jax_adapter:JaxAdapter",
}


def _plugins() -> list[tuple[str, str, str]]:
    """(name, "module:Class", where) of the installed entry points (this package declares its
    built-ins there too; those are not plugins)."""
    return [
        (ep.name, ep.value, f"entry point {ep.name} = {ep.value}")
        for ep in entry_points(group="conformance.adapters")
        if BUILTIN.get(ep.name) != ep.value
    ]


def _add(specs: dict[str, str], name: str, spec: str, where: str, replace: bool) -> None:
    if name in specs and specs[name] != spec and not replace:
        raise UsageError(
            f"{where}: the adapter name {name!r} is taken by {specs[name]}; "
            "rename the adapter, or pass --replace-adapter to run it instead"
        )
    specs[name] = spec


def available_specs(extra: list[str] | None = None, replace: bool = False) -> dict[str, str]:
    """Adapter name -> "module:Class": built-ins, then entry points, then ``extra``
    (``--adapter`` specs, named by their class's ``name``)."""
    specs = dict(BUILTIN)
    for name, spec, where in _plugins():
        _add(specs, name, spec, where, replace)
    for spec in extra or []:
        _add(specs, load_class(spec).name, spec, f"--adapter {spec}", replace)
    return specs


def select(
    frameworks: list[str], extra: list[str], replace: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """(the adapters of one run, every adapter known to it), as name -> spec. ``--adapter``
    adds to the known ones; ``--framework NAME`` (any known name) selects."""
    specs = available_specs(extra, replace)
    if not frameworks:
        return dict(specs), specs
    chosen: dict[str, str] = {}
    for name in frameworks:
        if name not in specs:
            raise UsageError(f"--framework {name!r}: unknown; known: {', '.join(specs)}")
        chosen[name] = specs[name]
    return chosen, specs


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
    problems = table_problems(cls)
    if problems:
        raise UsageError(f"--adapter {spec!r}: {'; '.join(problems)}")
    return cls


@dataclass(frozen=True)
class InitOwner:
    """The adapter that draws one ``params.init`` kind, and the layout it draws in."""

    name: str
    spec: str
    layout: str


def init_owners(
    specs: dict[str, str], chosen: dict[str, str] | None = None
) -> dict[str, InitOwner]:
    """``params.init`` kind -> the adapter that draws it: the first adapter of the run
    (``chosen``) declaring the kind, else the first of all known adapters (``specs``). An
    installed plugin outside the run that cannot be loaded owns nothing (a case that needs
    its kind is then a case error); one in the run is a usage error."""
    owners: dict[str, InitOwner] = {}
    chosen = chosen or {}
    for name, spec in [*chosen.items(), *specs.items()]:
        try:
            cls = load_class(spec)
        except UsageError:
            if name in chosen:
                raise
            continue
        for kind, layout in cls.init_kinds.items():
            owners.setdefault(kind, InitOwner(name, spec, layout))
    return owners


@lru_cache(maxsize=1)
def default_init_layouts() -> dict[str, str]:
    """``params.init`` kind -> layout, over the built-in and installed adapters (what the
    case loader accepts when a command has no ``--adapter``)."""
    return {kind: o.layout for kind, o in init_owners(available_specs()).items()}
