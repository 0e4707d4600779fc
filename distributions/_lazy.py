"""Lazily imported scipy submodules.

Parsing a scenario needs none of scipy (closed forms); worker processes only need the fast ppf
kernels (numpy and ``scipy.special``, about 0.25 s to import); importing ``scipy.stats`` costs
about 0.6 s more per process, which on a 2-core machine is the largest part of starting a
parallel run. Modules here are imported on first attribute access.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["integrate", "linalg", "optimize", "qmc", "special", "stats"]


class _LazyModule:
    """Stands in for a module; imports it on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


special: Any = _LazyModule("scipy.special")
stats: Any = _LazyModule("scipy.stats")
qmc: Any = _LazyModule("scipy.stats.qmc")
optimize: Any = _LazyModule("scipy.optimize")
integrate: Any = _LazyModule("scipy.integrate")
linalg: Any = _LazyModule("scipy.linalg")
