"""The case cache: a warm load gives exactly the cases and error lines a fresh load gives,
without parsing or checking again; any change to what the outcome depends on misses; a damaged
entry is a miss; ``--no-cache`` writes nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance import casecache, casejson, checks, loader
from conformance.cases import BUNDLED_CASES, Case
from conformance.errors import CaseError
from conformance.literals import Literal
from conformance.loader import load_cases
from conformance.reference import cache as refcache

BAD = Path(__file__).resolve().parent / "data" / "bad_cases"

CASE = """\
id: {id}
dtypes: [float32, float64]
inputs:
  x: [[1.0, 2.5], [-0.0, 0.1]]
params:
  weight: [[0.5, -1.0]]
  bias: [0.25]
expected:
  affine: {{float32: [[{pin}], [0.150000006]]}}
"""


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    refcache.configure(tmp_path / "cache")
    yield tmp_path / "cache"
    refcache.configure(refcache.default_dir())


def _identical(a: Any, b: Any, where: str = "case") -> None:
    """``a`` and ``b`` are the same value of the same types throughout: arrays bit for bit
    (signs of zero, nan payloads), floats bit for bit, fractions and strings equal."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), where
    else:
        assert isinstance(a, str | int | bool | Fraction | None), f"{where}: {type(a)}"
        assert a == b, where


def _same(a: Case, b: Case) -> bool:
    _identical(a, b)
    return True


def test_identical_sees_a_sign_of_zero_and_a_nan_payload() -> None:
    lit = Literal(np.array([0.0]), np.zeros(1), np.zeros(1), None)
    with pytest.raises(AssertionError):
        _identical(lit, dataclasses.replace(lit, hi=np.array([-0.0])))
    quiet = np.array([np.nan])
    other = np.frombuffer(struct.pack("<Q", 0x7FF8000000000001), dtype="<f8").copy()
    with pytest.raises(AssertionError):
        _identical(quiet, other)
    with pytest.raises(AssertionError):
        _identical((1.0,), (1,))


def _fail(*_: Any, **__: Any) -> Any:
    raise AssertionError("called on a warm load")


def _loads(paths: list[Any]) -> tuple[list[Case], list[str]]:
    cases, errors = load_cases(paths)
    return cases, [str(e) for e in errors]


def test_case_fields_are_all_written() -> None:
    """A field added to Case must be added to casejson too (or the cache would drop it)."""
    assert casejson.field_names() == casejson.CASE_FIELDS


def test_every_bundled_case_round_trips_through_json() -> None:
    cases, errors = load_cases([BUNDLED_CASES], check=False)
    assert cases and not errors
    for case in cases:
        back = casejson.case_from_json(json.loads(json.dumps(casejson.case_to_json(case))))
        assert _same(case, back), case.id
        for name in ("input", "param", "bias"):
            a, b = getattr(case, name), getattr(back, name)
            if hasattr(a, "hi"):  # literals: every bit (signs of zero, nan payloads)
                for part in ("hi", "lo", "half_unit"):
                    assert getattr(a, part).tobytes() == getattr(b, part).tobytes()
                assert a.exact == b.exact


def _errors(errors: list[CaseError]) -> list[tuple[Any, ...]]:
    return [(e.file, e.line, e.field, e.message) for e in errors]


def test_a_warm_load_gives_identical_cases_and_errors_without_parsing(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every bundled case and every file of the bad-case corpus: the same cases, bit for bit,
    and the same error lines, in the same order."""
    paths = [BUNDLED_CASES, BAD]
    refcache.configure(None)
    fresh_cases, fresh_errors = load_cases(paths)
    refcache.configure(cache_dir)
    cold_cases, cold_errors = load_cases(paths)
    assert len(fresh_cases) > 150 and len(fresh_errors) > 200
    monkeypatch.setattr(loader, "loads", _fail)
    monkeypatch.setattr(loader, "case_problems", _fail)
    warm_cases, warm_errors = load_cases(paths)
    for cases, errors in ((cold_cases, cold_errors), (warm_cases, warm_errors)):
        assert _errors(errors) == _errors(fresh_errors)
        _identical(cases, fresh_cases)


def test_without_the_cache_every_load_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    refcache.configure(None)
    try:
        _loads([BUNDLED_CASES / "semantics"])
        monkeypatch.setattr(loader, "loads", _fail)
        with pytest.raises(AssertionError, match="warm load"):
            _loads([BUNDLED_CASES / "semantics"])
    finally:
        refcache.configure(refcache.default_dir())


def _write(tmp_path: Path, name: str = "c.yaml", **fields: str) -> Path:
    values = {"id": "c", "pin": "3.25"} | fields
    path = tmp_path / "cases" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CASE.format(**values), encoding="utf-8")
    return path


def test_the_checks_are_kept_and_a_changed_file_is_loaded_again(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, pin="3.5")  # the exact reference is 0.5 - 2.5 + 0.25 = -1.75
    cold_cases, cold_errors = _loads([path])
    assert not cold_cases and "pins 3.5 but the exact reference is" in cold_errors[0]
    calls: list[int] = []
    real = checks.case_problems

    def counted(case: Case) -> list[CaseError]:
        calls.append(1)
        return real(case)

    monkeypatch.setattr(loader, "case_problems", counted)
    assert _loads([path]) == ([], cold_errors)  # the pin's problem, from the cache
    assert not calls
    _write(tmp_path, pin="-1.75")  # fixed: a new entry, checked again
    cases, errors = _loads([path])
    assert [c.id for c in cases] == ["c"] and not errors and calls == [1]


def test_an_unchecked_load_leaves_the_checks_to_the_next_checking_load(
    cache_dir: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, pin="3.5")
    assert [c.id for c in load_cases([path], check=False)[0]] == ["c"]
    assert "pins 3.5" in _loads([path])[1][0]


KeyFn = Callable[[bytes, str, str, Mapping[str, str]], str]


def _undistinguished(key: KeyFn, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the outcome depends on that ``key`` does not tell apart."""
    args: tuple[bytes, str, str, Mapping[str, str]] = (
        b"x: 1\n",
        "cases/a.yaml",
        "a",
        {"torch": "weight"},
    )
    base = key(*args)
    assert key(*args) == base
    variants = {
        "bytes": (b"x: 2\n", *args[1:]),
        "shown name": (args[0], "cases/b.yaml", *args[2:]),
        "id of the path": (*args[:2], "b", args[3]),
        "init layouts": (*args[:3], {"torch": "kernel"}),
        "init kinds": (*args[:3], {"torch": "weight", "jax": "kernel"}),
    }
    missed = [what for what, v in variants.items() if key(*v) == base]
    with monkeypatch.context() as m:
        m.setattr(casecache, "code_version", lambda: "another loader")
        if key(*args) == base:
            missed.append("code")
    return missed


class _NoLayouts(casecache.CaseCache):
    def key(self, data: bytes, display: str, path_id: str, init_layouts: Mapping[str, str]) -> str:
        return super().key(data, display, path_id, {})


class _NoVersion(casecache.CaseCache):
    def key(self, data: bytes, display: str, path_id: str, init_layouts: Mapping[str, str]) -> str:
        h = casecache.hashlib.sha256()
        for part in (display, path_id, json.dumps(sorted(init_layouts.items()))):
            h.update(part.encode() + b"\0")
        h.update(data)
        return h.hexdigest()


def test_what_the_outcome_depends_on_is_in_the_key(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _undistinguished(casecache.CaseCache(cache_dir).key, monkeypatch) == []
    # the check fails keys that leave something out
    assert _undistinguished(_NoLayouts(cache_dir).key, monkeypatch) == [
        "init layouts",
        "init kinds",
    ]
    assert _undistinguished(_NoVersion(cache_dir).key, monkeypatch) == ["code"]


def _init_case(tmp_path: Path) -> Path:
    src = BUNDLED_CASES / "init" / "torch-linear-4x3-seed42.yaml"
    dst = tmp_path / "cases" / "init" / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize("store", [casecache.CaseCache, _NoLayouts])
def test_other_init_layouts_load_afresh(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: type
) -> None:
    """The same file under other adapters' init layouts: a new layout, or an unknown init."""
    monkeypatch.setattr(casecache, "current", lambda: store(cache_dir))
    path = _init_case(tmp_path)
    torch_weight = {"torch": "weight", "jax": "kernel"}
    torch_kernel = {"torch": "kernel", "jax": "kernel"}
    no_torch = {"jax": "kernel"}
    outcomes = []
    for layouts in (torch_weight, torch_kernel, no_torch):
        cases, errors = load_cases([path], layouts, check=False)
        outcomes.append([c.layout for c in cases] + [e.message[:12] for e in errors])
    right = [["weight"], ["kernel"], ["unknown init"]]
    if store is casecache.CaseCache:
        assert outcomes == right
    else:  # a key without the layouts hands back the first load's case
        assert outcomes == [["weight"], ["weight"], ["weight"]]


def test_the_code_version_follows_every_module_of_the_loader(tmp_path: Path) -> None:
    package = Path(casecache.__file__).resolve().parent
    copy = tmp_path / "conformance"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = casecache.source_digest(copy)
    assert before == casecache.source_digest(package)
    seen = {before}
    for rel in ("loader.py", "schema.py", "literals.py", "reference/affine.py"):
        with open(copy / rel, "a", encoding="utf-8") as fh:
            fh.write("\n# edited\n")
        seen.add(casecache.source_digest(copy))
    assert len(seen) == 5
    assert casecache.code_version() != before  # the library versions go in too

    def top_level_only(package: Path) -> str:  # a digest that forgets the reference
        return casecache.hashlib.sha256(
            b"".join(p.read_bytes() for p in sorted(package.glob("*.py")))
        ).hexdigest()

    before = top_level_only(copy)
    with open(copy / "reference" / "affine.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited again\n")
    assert top_level_only(copy) == before  # what the check above would catch
    assert casecache.source_digest(copy) not in seen


def test_a_file_without_id_takes_its_id_from_where_it_is(cache_dir: Path, tmp_path: Path) -> None:
    text = CASE.replace("id: {id}\n", "").format(pin="-1.75")
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / "cases").mkdir(exist_ok=True)
        (tmp_path / "cases" / name).write_text(text, encoding="utf-8")
    cases, errors = _loads([tmp_path / "cases"])
    assert not errors and [c.id for c in cases] == ["one", "two"]


def _one_entry(cache_dir: Path) -> Path:
    (entry,) = (cache_dir / "cases").glob("*/*.json")
    return entry


def _edit_id(raw: bytes) -> bytes:
    return raw.replace(b'"id":"c"', b'"id":"d"')


TAMPERS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda raw: b"",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "no digest": lambda raw: raw[65:],
    "a flipped bit": lambda raw: raw[:-3] + bytes([raw[-3] ^ 1]) + raw[-2:],
    "an edited value": _edit_id,
    "another file's entry": lambda raw: b"0" * 64 + b"\n" + b'{"format":1,"error":["f",1,"x","y"]}',
}


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_tampered_entry_is_a_miss(cache_dir: Path, tmp_path: Path, tamper: str) -> None:
    path = _write(tmp_path, pin="-1.75")
    cases, _ = _loads([path])
    entry = _one_entry(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(TAMPERS[tamper](good))
    assert entry.read_bytes() != good
    again, errors = _loads([path])
    assert not errors and _same(again[0], cases[0])
    assert entry.read_bytes() == good  # loaded afresh and stored again


def test_an_entry_read_without_its_digest_would_be_trusted(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest is what refuses an edited value that is still a valid entry."""
    path = _write(tmp_path, pin="-1.75")
    _loads([path])
    entry = _one_entry(cache_dir)
    entry.write_bytes(_edit_id(entry.read_bytes()))
    monkeypatch.setattr(
        casecache, "parse_entry", lambda key, raw: casecache._entry(json.loads(raw[65:]))
    )
    assert [c.id for c in _loads([path])[0]] == ["d"]  # what the test above catches


def _reseal(entry: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    """Edit an entry's JSON and give it a valid digest (a hostile writer of the cache)."""
    doc = json.loads(entry.read_bytes()[65:])
    edit(doc)
    body = json.dumps(doc).encode()
    entry.write_bytes(casecache._digest(entry.stem, body) + b"\n" + body)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return edit


HOSTILE: dict[str, Callable[[dict[str, Any]], Any]] = {
    "an id that climbs out": _set(("case", "id"), "../../x"),
    "a huge generated input": lambda d: (
        _set(("case", "input"), {"generated": "normal", "params": {}})(d),
        _set(("case", "batch"), [1 << 20, 1 << 20])(d),
    ),
    "more values than bytes": _set(("case", "input", "hi", "shape"), [1000, 1000]),
    "a shape that disagrees": _set(("case", "batch"), [3]),
    "a zero denominator": _set(("case", "input", "exact", 0, 0), "1/0"),
    "an unknown dtype": _set(("case", "dtypes"), ["float8"]),
    "an unknown distribution": _set(("case", "input"), {"generated": "exec", "params": {}}),
    "a nan constant": lambda d: d["case"]["tolerance"].update({"affine": {"*": {"ulp": "NaN"}}}),
    "an extra key": _set(("code",), "print(1)"),
    "an error with problems": lambda d: (d.pop("case"), d.update(error=["f", 1, "", "m"])),
    "a bool line": _set(("case", "lines", "id"), True),
}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_well_sealed_entry_that_breaks_the_invariants_is_a_miss(
    cache_dir: Path, tmp_path: Path, hostile: str
) -> None:
    path = _write(tmp_path, pin="-1.75")
    cases, _ = _loads([path])
    entry = _one_entry(cache_dir)
    _reseal(entry, lambda d: None)
    assert casecache.parse_entry(entry.stem, entry.read_bytes()) is not None  # resealing works
    _reseal(entry, HOSTILE[hostile])
    if hostile == "a nan constant":
        entry.write_bytes(entry.read_bytes().replace(b'"NaN"', b"NaN"))
        body = entry.read_bytes()[65:]
        entry.write_bytes(casecache._digest(entry.stem, body) + b"\n" + body)
    assert casecache.parse_entry(entry.stem, entry.read_bytes()) is None
    again, errors = _loads([path])
    assert not errors and _same(again[0], cases[0])


def test_the_oldest_entries_go_past_the_size_limit(tmp_path: Path) -> None:
    store = casecache.CaseCache(tmp_path, size_limit=10_000)
    for i in range(5):
        error = CaseError("f.yaml", i, "x", "m" * 3000)
        store.store(f"{i:064x}", casecache.Entry(None, error, None))
        os.utime(store._path(f"{i:064x}"), (1000 + i, 1000 + i))
    store.prune()
    left = sorted(p.stem for p in (tmp_path / "cases").glob("*/*.json"))
    assert left == [f"{i:064x}" for i in (2, 3, 4)]
    got = store.load(f"{4:064x}")
    assert got is not None and got.error is not None
    assert _errors([got.error]) == [("f.yaml", 4, "x", "m" * 3000)]


def test_an_entry_over_the_limit_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(casecache, "MAX_ENTRY_BYTES", 200)
    store = casecache.CaseCache(tmp_path)
    store.store("0" * 64, casecache.Entry(None, CaseError("f", 1, "x", "m" * 80), None))
    assert store.load("0" * 64) is not None
    store.store("1" * 64, casecache.Entry(None, CaseError("f", 1, "x", "m" * 300), None))
    assert store.load("1" * 64) is None and not store._path("1" * 64).exists()


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    refcache.configure(None)
    try:
        _loads([_write(tmp_path, pin="-1.75")])
    finally:
        refcache.configure(refcache.default_dir())
    assert not list(tmp_path.rglob("*.json"))
