"""A run knows what it ran: the scenario's text (its file's, or its document written as TOML
when it was built in Python), its variant and its ``--set`` overrides; the run directory keeps
that text, and a report needs no manifest to name the variant."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulate
from cashflow.parse import load_scenario, parse_scenario
from cashflow.toml_text import dumps
from engine.rundir import load_run, save_run
from engine.runner import run
from reports.data import collect

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
OPENAI = ROOT / "scenarios" / "openai_2024.toml"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_builtin_documents_read_back_equal(path):
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert tomllib.loads(dumps(doc)) == doc


_keys = st.text(min_size=1, max_size=8)
_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.dates()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=5))
def test_any_document_reads_back_equal(doc):
    assert tomllib.loads(dumps(doc)) == doc


def test_nan_and_infinities_are_toml_words():
    text = dumps({"a": float("inf"), "b": float("-inf"), "c": float("nan")})
    back = tomllib.loads(text)
    assert back["a"] == float("inf") and back["b"] == float("-inf") and back["c"] != back["c"]


def test_a_file_scenario_carries_its_own_text_variant_and_sets():
    s = load_scenario(OPENAI, variant="unmanaged", sets=[("starting_cash", 10.0)])
    assert s.text == OPENAI.read_text(encoding="utf-8")
    assert s.document() == s.text
    assert s.variant == "unmanaged"
    assert s.sets == (("starting_cash", 10.0),)


def test_a_python_scenario_is_saved_as_toml_that_reproduces_it(tmp_path):
    doc = tomllib.loads(OPENAI.read_text(encoding="utf-8"))
    doc["name"] = "built in python"
    scenario = parse_scenario(doc, file="memory", base_dir=OPENAI.parent, variant="unmanaged")
    assert scenario.text is None
    results = run(scenario, paths=4000, seed=11, jobs=1)
    assert results.variant == "unmanaged"
    out = save_run(results, tmp_path / "run")

    copy = out / "scenario.toml"
    data = copy.read_bytes()
    assert tomllib.loads(data.decode("utf-8")) == doc  # not empty: the document itself
    manifest = simulate.json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["variant"] == "unmanaged"

    again = load_run(out)  # read back from the copy alone, variant applied again
    assert again.variant == "unmanaged"
    assert again.ruin_counts.tolist() == results.ruin_counts.tolist()
    assert run(again.scenario, paths=4000, seed=11, jobs=1).ruin_counts.tolist() == (
        results.ruin_counts.tolist()
    )


def test_the_report_names_the_variant_without_a_manifest(tmp_path):
    scenario = load_scenario(OPENAI, variant="unmanaged")
    results = run(scenario, paths=3000, seed=3, jobs=1)
    empty = tmp_path / "not-saved"
    empty.mkdir()
    data = collect(results, empty)  # nothing in the directory: no manifest to read
    assert data.name == f"{scenario.name} · variant unmanaged"
    assert isinstance(data.finished, dt.datetime)


def test_the_report_shows_the_sets_it_was_run_with(tmp_path):
    scenario = load_scenario(OPENAI, sets=[("starting_cash", 9.5)])
    results = run(scenario, paths=3000, seed=3, jobs=1)
    data = collect(results, tmp_path)
    assert data.stress == "starting_cash=9.5"
