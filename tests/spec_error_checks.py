"""Shared helpers of the spec error-message tests."""

from __future__ import annotations

import pytest

from distributions import ScenarioError, parse_spec


def check_one_problem(value, match: str, path: str, **kwargs) -> None:
    """parse_spec(value) fails with exactly one one-line problem at ``path`` matching ``match``."""
    with pytest.raises(ScenarioError, match=match) as info:
        parse_spec(value, path, **kwargs)
    error = info.value
    assert len(error.problems) == 1 and error.problems[0].path == path
    assert "\n" not in str(error) and str(error).startswith(path + ": ")


def normal(**params) -> dict:
    return {"dist": "normal", **params}
