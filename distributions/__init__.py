"""One uncertain number: distribution specs, their fast exact quantiles, and how to sample them.

``parse_spec(value, path)`` turns a scenario value (a number, an ``"A to B"`` range, a month or
a distribution table; see docs/scenario-format.md) into a validated, frozen :class:`Spec`;
``FAMILIES`` is the registry of distribution families it knows. Parsing imports no scipy
(closed forms); sampling imports ``scipy.special``; ``scipy.stats`` only when a Spec's frozen
scipy object (``Spec.dist``) is used (tests/test_imports_distributions.py).
"""

from .errors import (
    Problem,
    RunwayError,
    RunwayWarning,
    ScenarioError,
    SimulationError,
    did_you_mean,
)
from .families import FAMILIES
from .parse import parse_spec
from .spec import Spec

__all__ = [
    "FAMILIES",
    "Problem",
    "RunwayError",
    "RunwayWarning",
    "ScenarioError",
    "SimulationError",
    "Spec",
    "did_you_mean",
    "parse_spec",
]
