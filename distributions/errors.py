"""Runway's errors and warnings, all in one place.

Hierarchy::

    RunwayError                 base of every error Runway raises on purpose
    ├── ScenarioError           the scenario is wrong (its file, or what a variant or the sets
    │                           make of it); one line per Problem
    ├── UsageError              an argument is wrong, given to a library function or on the
    │                           command line: names the parameter (``param``: "paths",
    │                           "until_ci", ...) in the library's words; the CLI names its flag
    ├── RunDirError             a run directory cannot be used: not a run directory, unfinished,
    │   │                       finished already, busy, from another Runway version
    │   └── DamagedRun          (engine.readback) its files are damaged: nothing is answered
    └── SimulationError         a run produced something unusable that is not the scenario's
                                fault (a bug); amounts a scenario drives out of range are a
                                ScenarioError naming their cause (cashflow.model.explain_overflow)

    RunwayWarning (UserWarning) legal but suspicious (a repaired correlation matrix, a quantile
                                beyond the histogram grid, --jobs capped at the cores, workers
                                lost and restarted, a report page that had to shrink)

Every error renders as lines (:meth:`RunwayError.lines`; one, except a ScenarioError with
several problems), control characters escaped. A user mistake must surface as a
``ScenarioError``, ``UsageError`` or ``RunDirError``, printed as those lines by the CLI (exit
code 2; a ``UsageError`` with the parameter's flag, ``--paths`` for ``paths``); another
``RunwayError`` is printed as ``runway: what`` (exit code 1). Anything else escaping is a bug in
Runway.
"""

from __future__ import annotations

import difflib
import os
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Problem",
    "RunDirError",
    "RunwayError",
    "RunwayWarning",
    "ScenarioError",
    "SimulationError",
    "UsageError",
    "did_you_mean",
    "escape_controls",
]


#: Control characters: C0 (tab and newline included), DEL, C1, the line / paragraph
#: separators str.splitlines() also breaks on, and the bidirectional embeddings, overrides and
#: isolates (U+202A-U+202E, U+2066-U+2069), which reverse the text after them on a terminal or
#: a PDF page (a scenario name with U+202E turned the report's footer around).
CONTROL_CHARS = (
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)

# Each shown as its escape (``\x1b``, ``\n``...), so an echoed text can neither break a problem's
# line nor drive the terminal it is printed on.
_ESCAPE_CONTROLS = {c: repr(chr(c))[1:-1] for c in CONTROL_CHARS}


def escape_controls(text: str) -> str:
    """``text`` with every control character shown as its Python escape (``"\x1b"``)."""
    return text.translate(_ESCAPE_CONTROLS)


class RunwayError(Exception):
    """Base class of every error Runway raises deliberately."""

    def lines(self, names: Mapping[str, str] | None = None) -> list[str]:
        """The error as the lines to print (control characters escaped). ``names``: what to call
        the parameters an error names (the CLI's flags, ``{"paths": "--paths"}``); the library's
        own names when None or for a parameter not in it."""
        return [escape_controls(str(self))]


class RunwayWarning(UserWarning):
    """A legal but suspicious situation the user should hear about."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario: where (dotted key path) and what (a short sentence).

    ``param``: the parameter whose value put the problem there (``"sets"``: ``path`` is then
    the key a set changed, or the keys of the sets), named before the path."""

    path: str
    message: str
    param: str | None = None

    def line(self, file: str | None = None, names: Mapping[str, str] | None = None) -> str:
        """The one-line form ``file: key.path: message`` (parts omitted when empty), or
        ``file: param key.path: message`` (``names``: what to call ``param``, as for
        :meth:`RunwayError.lines`); control characters inside any part (line breaks, terminal
        escapes in echoed user text) are shown escaped."""
        where = self.path
        if self.param is not None:
            name = (names or {}).get(self.param, self.param)
            where = f"{name} {where}" if where else name
        parts = [p for p in (file, where) if p]
        return escape_controls(": ".join([*parts, self.message]))


class ScenarioError(RunwayError):
    """The scenario is wrong: its file, or what a variant or the sets make of it.

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

    def lines(self, names: Mapping[str, str] | None = None) -> list[str]:
        return [p.line(self.file, names) for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class UsageError(RunwayError):
    """An argument is wrong: one given to a library function, or on the command line.

    ``param`` is the parameter at fault, by its library name (``"paths"``, ``"until_ci"``). The
    message is a :meth:`str.format` template in which a field named after a parameter
    (``{paths}``, ``{max_paths}``) stands for that parameter and any other field for one of
    ``values``; what the user gave goes into ``values``, never into the template itself::

        UsageError("paths", "{paths} must be a positive number (got {got})", got=0)

    ``str(error)`` is one line calling the parameters by their names, ``paths must be a
    positive number (got 0)``; :meth:`lines` with ``names`` calls them otherwise (the CLI: its
    flags, ``--paths must be a positive number (got 0)``).
    """

    def __init__(self, param: str, template: str, /, **values: object) -> None:
        super().__init__(param, template)
        self.param = param
        self.template = template
        self.values = values

    def params(self) -> list[str]:
        """The parameters the message names (its fields that are not values), in order."""
        fields = (field for _, field, _, _ in string.Formatter().parse(self.template) if field)
        return list(dict.fromkeys(f for f in fields if f not in self.values))

    def line(self, names: Mapping[str, str] | None = None) -> str:
        """The message in one line, each parameter called by ``names`` (default: its name)."""
        named = {p: (names or {}).get(p, p) for p in self.params()}
        return escape_controls(self.template.format(**named, **self.values))

    def lines(self, names: Mapping[str, str] | None = None) -> list[str]:
        return [self.line(names)]

    def __str__(self) -> str:
        return self.line()


class RunDirError(RunwayError):
    """A run directory cannot be used: there is none, it is not a run directory, its run is
    unfinished (or finished, to resume), another process is using it, another Runway version
    wrote it; :class:`engine.readback.DamagedRun`: its files cannot be trusted.

    ``str(error)`` is one line, ``RUN_DIR: what is wrong``.
    """

    def __init__(self, run_dir: str | os.PathLike[str], what: str) -> None:
        super().__init__(run_dir, what)
        self.run_dir = os.fspath(run_dir)
        self.what = what

    def line(self) -> str:
        return escape_controls(f"{self.run_dir}: {self.what}")

    def lines(self, names: Mapping[str, str] | None = None) -> list[str]:
        return [self.line()]

    def __str__(self) -> str:
        return self.line()


class SimulationError(RunwayError):
    """A run produced values that cannot be trusted, through no fault of the scenario."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, else ``"; valid: a, b, c"``."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; valid: " + ", ".join(choices) if choices else ""
