"""Lazily imported scipy submodules.

Worker processes only need the fast ppf kernels (numpy and ``scipy.special``); importing
``scipy.stats`` costs about 0.6 s per process, which on a 2-core machine is the largest part of
starting a parallel run. Modules here are imported on first attribute access.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["integrate", "linalg", "optimize", "qmc", "stats"]


class _LazyModule:
    """Stands in for a module; imports it on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


stats: Any = _LazyModule("scipy.stats")
qmc: Any = _LazyModule("scipy.stats.qmc")
optimize: Any = _LazyModule("scipy.optimize")
integrate: Any = _LazyModule("scipy.integrate")
linalg: Any = _LazyModule("scipy.linalg")
