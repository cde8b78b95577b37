"""Two-arm binary endpoint: tests, intervals, ``compare``, ``fragility_index``.

Arm 1 is the experimental arm throughout: ``x1`` events out of ``n1`` vs ``x2`` out of ``n2``.

- :func:`pvalue_grid` / :func:`pvalues` — p-values of 8 tests for every table (vectorised;
  used by exact power in :mod:`trial_analysis.power`).
"""

from __future__ import annotations

from ._exact import ALTERNATIVES, TESTS, pvalue_grid, pvalues

__all__ = ["ALTERNATIVES", "TESTS", "pvalue_grid", "pvalues"]
