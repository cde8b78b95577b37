"""Power and sample size: analytic, exact (enumeration), simulated; assurance; group sequential.

Entry points
------------
- :func:`exact_power` — exact power and actual size of Fisher, mid-p, chi-square, z,
  Barnard and Boschloo tests by enumeration of all tables.
- :func:`sample_size` — sample size (analytic methods, or exact tests respecting the saw-tooth).
- :func:`simulate` — Monte Carlo power of a whole future trial described by a scenario.
- analytic: :func:`power_two_proportions`, :func:`power_two_means`, :func:`power_ancova`,
  :func:`power_margin`, :func:`sample_size_table`.
- equivalence and non-inferiority (:mod:`.margin`): :func:`power_tost_means` (exact TOST),
  :func:`power_equivalence_proportions`, :func:`exact_power_margin` and
  :func:`exact_sample_size_margin` (score tests, enumeration).
- :func:`assurance`, :func:`group_sequential`.
- survival: :func:`sample_size_survival`, :func:`power_survival`, :func:`events_survival`
  (Schoenfeld/Freedman as rpact), :func:`simulate_survival` (piecewise-exponential trials
  analysed by log-rank, Fleming–Harrington, Cox or RMST).
"""

from __future__ import annotations

from .analytic import (
    PowerResult,
    SampleSizeTable,
    power_ancova,
    power_margin,
    power_two_means,
    power_two_proportions,
    restricted_mle,
    sample_size_table,
)
from .assurance import AssuranceResult, assurance
from .exact import (
    ANALYTIC_TESTS,
    EXACT_TESTS,
    ExactPower,
    PowerCurve,
    SampleSize,
    SizeCurve,
    exact_power,
    power_curve,
    rejection_region,
    sample_size,
    size_curve,
)
from .margin import (
    exact_power_margin,
    exact_sample_size_margin,
    power_equivalence_proportions,
    power_tost_means,
)
from .scenario import Analysis, ParametricArm, ParametricModel, Scenario, load_scenario
from .sequential import GroupSequentialDesign, group_sequential, spend
from .simulate import GridResult, SimulationResult, ancova_batch, simulate, simulate_grid
from .survival import (
    GroupSequentialSurvival,
    SimulatedSurvivalPower,
    SurvivalPower,
    events_survival,
    group_sequential_survival,
    power_survival,
    sample_size_survival,
    simulate_survival,
)

__all__ = [
    "ANALYTIC_TESTS",
    "EXACT_TESTS",
    "Analysis",
    "AssuranceResult",
    "ExactPower",
    "GridResult",
    "GroupSequentialDesign",
    "GroupSequentialSurvival",
    "ParametricArm",
    "ParametricModel",
    "PowerCurve",
    "PowerResult",
    "SampleSize",
    "SampleSizeTable",
    "Scenario",
    "SimulatedSurvivalPower",
    "SimulationResult",
    "SizeCurve",
    "SurvivalPower",
    "ancova_batch",
    "assurance",
    "events_survival",
    "exact_power",
    "exact_power_margin",
    "exact_sample_size_margin",
    "group_sequential",
    "group_sequential_survival",
    "load_scenario",
    "power_ancova",
    "power_curve",
    "power_equivalence_proportions",
    "power_margin",
    "power_survival",
    "power_tost_means",
    "power_two_means",
    "power_two_proportions",
    "rejection_region",
    "restricted_mle",
    "sample_size",
    "sample_size_survival",
    "sample_size_table",
    "simulate",
    "simulate_grid",
    "simulate_survival",
    "size_curve",
    "spend",
]
