"""Property test: whatever a user writes, the parser answers with a Scenario or a ScenarioError.

Valid scenarios are mutated (keys deleted, values replaced by random JSON-like or TOML values,
keys renamed with typos, junk tables inserted) and random / corrupted TOML text is loaded;
nothing but :class:`ScenarioError` may escape. Derandomized, so the suite is deterministic.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import pathlib
import tomllib
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashflow.parse import load_scenario, parse_scenario
from cashflow.scenario import Scenario
from distributions.errors import ScenarioError

HERE = pathlib.Path(__file__).parent
GOOD_FILES = sorted((HERE / "good").glob("*.toml"))
GOOD_TEXTS = [p.read_text() for p in GOOD_FILES]
GOOD_DOCS = [tomllib.loads(t) for t in GOOD_TEXTS]

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values a user might plausibly (or implausibly) write anywhere.
INTERESTING = st.sampled_from(
    [
        0,
        -1,
        1,
        0.5,
        1.5,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        10**30,
        -(10**30),
        1e308,
        5e-324,
        True,
        False,
        "",
        " ",
        "2024-01",
        "2024-13",
        "2030-01",
        "1999-12",
        "2025-06-15",
        "1 to 2",
        "-1 to 1",
        "2 to 1",
        "0 to 0",
        "nan to inf",
        "revenue",
        "api",
        "starting_cash",
        "api.start",
        "path",
        "month",
        "year",
        "horizon",
        "funding",
        "shock",
        "cost",
        "normal",
        "discrete",
        "empirical",
        "constant",
        "data.csv",
        dt.date(2025, 1, 1),
        dt.datetime(2025, 1, 1, 12, 0),
        dt.time(12, 0),
        [],
        {},
        [1, 2],
        ["2024-10", "2024-11"],
        [0.5, 0.5],
        {"dist": "normal", "mean": 0, "sd": 1},
        {"dist": "discrete", "values": ["2024-10"]},
        {"dist": "empirical", "csv": "missing.csv", "column": "x"},
        {"dist": "pert", "min": 0, "mode": 0, "max": 0},
        {"dist": "constant", "value": "2024-05"},
        {"dist": "beta", "a": 1, "b": 1, "truncate": [0, 0.5]},
        {"dist": "lognormal", "p5": 1, "p95": 1e300},
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
    INTERESTING,
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "dist",
            "kind",
            "start",
            "schedule",
            "share_of",
            "ratio",
            "probability",
            "month",
            "amount",
            "line",
            "factor",
            "per",
            "vary",
            "source",
            "pairs",
            "matrix",
            "inputs",
            "repair",
            "description",
            "2024",
            "2025",
            "p5",
            "p95",
            "values",
            "probs",
            "truncate",
        ]
    ),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=8,
)


def _containers(doc: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every dict and list inside ``doc`` (the root is ``()``)."""
    out = []
    if isinstance(doc, dict | list):
        out.append(path)
        items = doc.items() if isinstance(doc, dict) else enumerate(doc)
        for key, value in items:
            out += _containers(value, (*path, key))
    return out


def _at(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _typo(word: str, i: int, how: int) -> str:
    if not word:
        return "x"
    i %= len(word)
    if how == 0:
        return word[:i] + word[i + 1 :]  # drop a letter
    if how == 1:
        return word[:i] + word[i] * 2 + word[i + 1 :]  # double a letter
    if how == 2 and len(word) > 1:
        j = min(i + 1, len(word) - 1)
        chars = list(word)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    return word.upper()


@st.composite
def mutated_docs(draw: st.DrawFn) -> dict[str, Any]:
    def fresh(strategy: st.SearchStrategy[Any]) -> Any:  # drawn values are shared: copy them
        return copy.deepcopy(draw(strategy))

    doc = copy.deepcopy(draw(st.sampled_from(GOOD_DOCS)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(_containers(doc)))
        target = _at(doc, where)
        op = draw(st.sampled_from(["delete", "replace", "rename", "junk", "retype"]))
        if isinstance(target, list):
            if not target or op in ("junk", "rename"):
                target.append(fresh(VALUES))
            elif op == "delete":
                del target[draw(st.integers(0, len(target) - 1))]
            else:
                target[draw(st.integers(0, len(target) - 1))] = fresh(VALUES)
            continue
        keys = list(target)
        if op == "junk" or not keys:
            target[draw(KEYS)] = fresh(st.dictionaries(KEYS, VALUES, max_size=3))
            continue
        key = draw(st.sampled_from(keys))
        if op == "delete":
            del target[key]
        elif op == "replace":
            target[key] = fresh(VALUES)
        elif op == "rename":
            new = _typo(str(key), draw(st.integers(0, 20)), draw(st.integers(0, 3)))
            target[new] = target.pop(key)
        else:  # retype: the same content in the wrong container
            value = target[key]
            target[key] = [value] if not isinstance(value, list) else {"x": value}
    return doc


def _parse_or_scenario_error(doc: Any, **kwargs: Any) -> None:
    before = repr(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = parse_scenario(doc, file="fuzz.toml", base_dir=HERE / "good", **kwargs)
        except ScenarioError as error:
            assert error.problems, "a ScenarioError must carry at least one problem"
            assert all(line.startswith("fuzz.toml") for line in str(error).splitlines())
            result = None
    assert result is None or isinstance(result, Scenario)
    assert repr(doc) == before, "the parser must not change the document"


@FUZZ
@given(mutated_docs())
def test_mutated_scenarios_raise_only_scenario_errors(doc):
    _parse_or_scenario_error(doc)


@settings(FUZZ, max_examples=100)
@given(mutated_docs(), st.sampled_from(["no_raise", "no_seed", "expensive", "more_staff", "x"]))
def test_mutated_scenarios_with_a_variant(doc, variant):
    _parse_or_scenario_error(doc, variant=variant)


@settings(FUZZ, max_examples=100)
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_random_documents(doc):
    _parse_or_scenario_error(doc)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("fuzz") / "s.toml"


def _load_or_scenario_error(path: pathlib.Path, data: bytes) -> None:
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_scenario(path)
        except ScenarioError as error:
            assert all(line.startswith(str(path)) for line in str(error).splitlines())


@settings(FUZZ, max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_toml_text(scratch, data):
    _load_or_scenario_error(scratch, data)


@settings(FUZZ, max_examples=150)
@given(
    st.sampled_from(GOOD_TEXTS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40), st.text(max_size=6)), min_size=1, max_size=4
    ),
)
def test_corrupted_toml_text(scratch, text, edits):
    for where, cut, insert in edits:  # replace a few characters somewhere
        i = int(where * len(text))
        text = text[:i] + insert + text[i + cut :]
    _load_or_scenario_error(scratch, text.encode("utf-8", "surrogatepass"))
