"""Runway's errors and warnings, all in one place.

Hierarchy::

    RunwayError                 base of every error Runway raises on purpose
    ├── ScenarioError           the user's scenario (or argument) is wrong; one line per Problem
    └── SimulationError         a run produced something unusable that is not the scenario's
                                fault (a bug); amounts a scenario drives out of range are a
                                ScenarioError naming their cause (cashflow.model.explain_overflow)

    RunwayWarning (UserWarning) legal but suspicious (a repaired correlation matrix, a quantile
                                beyond the histogram grid, --jobs capped at the cores, workers
                                lost and restarted, a report page that had to shrink)

A user mistake must surface as a ``ScenarioError`` and be printed as one line per problem by the
CLI (exit code 2). Anything else escaping is a bug in Runway.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Problem",
    "RunwayError",
    "RunwayWarning",
    "ScenarioError",
    "SimulationError",
    "did_you_mean",
    "escape_controls",
]


#: Control characters: C0 (tab and newline included), DEL, C1, and the line / paragraph
#: separators str.splitlines() also breaks on.
CONTROL_CHARS = (*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)

# Each shown as its escape (``\x1b``, ``\n``...), so an echoed text can neither break a problem's
# line nor drive the terminal it is printed on.
_ESCAPE_CONTROLS = {c: repr(chr(c))[1:-1] for c in CONTROL_CHARS}


def escape_controls(text: str) -> str:
    """``text`` with every control character shown as its Python escape (``"\x1b"``)."""
    return text.translate(_ESCAPE_CONTROLS)


class RunwayError(Exception):
    """Base class of every error Runway raises deliberately."""


class RunwayWarning(UserWarning):
    """A legal but suspicious situation the user should hear about."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario: where (dotted key path) and what (a short sentence)."""

    path: str
    message: str

    def line(self, file: str | None = None) -> str:
        """The one-line form ``file: key.path: message`` (parts omitted when empty); control
        characters inside any part (line breaks, terminal escapes in echoed user text) are
        shown escaped."""
        parts = [p for p in (file, self.path) if p]
        return escape_controls(": ".join([*parts, self.message]))


class ScenarioError(RunwayError):
    """The scenario file or a user argument is wrong.

    Carries one or more :class:`Problem` s (a bare string is one problem with no key path);
    ``str(error)`` is one line per problem, each of the form ``file: key.path: what is wrong``.
    """

    def __init__(self, problems: Problem | str | list[Problem], *, file: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.file = file
        super().__init__(str(self))

    def with_file(self, file: str) -> ScenarioError:
        """The same problems, attributed to ``file``."""
        return ScenarioError(self.problems, file=file)

    def lines(self) -> list[str]:
        return [p.line(self.file) for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class SimulationError(RunwayError):
    """A run produced values that cannot be trusted, through no fault of the scenario."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, else ``"; valid: a, b, c"``."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; valid: " + ", ".join(choices) if choices else ""
