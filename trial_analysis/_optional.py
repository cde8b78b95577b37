"""Import optional dependencies with a message saying what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip extra.

    Examples
    --------
    >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"The optional package '{module.split('.')[0]}' is needed{what}. "
            f"Install it with: pip install 'trial_analysis[{extra}]' "
            f"(or: conda env create -f environment.yml)"
        ) from exc
