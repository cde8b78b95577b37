"""Power and sample size: analytic, exact (enumeration), simulated; assurance; group sequential.

Entry points
------------
- :func:`exact_power` — exact power and actual size of Fisher, mid-p, chi-square, z,
  Barnard and Boschloo tests by enumeration of all tables.
- :func:`sample_size` — sample size (analytic methods, or exact tests respecting the saw-tooth).
- :func:`simulate` — Monte Carlo power of a whole future trial described by a scenario.
- analytic: :func:`power_two_proportions`, :func:`power_two_means`, :func:`power_ancova`,
  :func:`power_margin`, :func:`sample_size_table`.
- :func:`assurance`.
- group-sequential: :func:`group_sequential` (boundaries, futility, sample size),
  :func:`conditional_power`, :func:`analysis_results` (repeated CIs, final inference).
- adaptive: :func:`simulate_adaptive`, :func:`adaptive_characteristics` (inverse-normal
  combination test with sample-size re-estimation, promising zone), :func:`combination_z`.
- planning: :func:`sequential_alternative` (fixed vs group-sequential from a reanalysed
  effect and its uncertainty).
- multi-arm: :func:`multiarm_power` (exact, single-step Dunnett/Bonferroni),
  :func:`simulate_multiarm` (any :func:`trial_analysis.multiplicity.adjust` procedure).
- equivalence and non-inferiority (:mod:`.margin`): :func:`power_tost_means` (exact TOST),
  :func:`power_equivalence_proportions`, :func:`power_margin_rr`, :func:`exact_power_margin` and
  :func:`exact_sample_size_margin` (score tests, enumeration).
- survival: :func:`sample_size_survival`, :func:`power_survival`, :func:`events_survival`
  (Schoenfeld/Freedman as rpact), :func:`simulate_survival` (piecewise-exponential trials
  analysed by log-rank, Fleming–Harrington, Cox or RMST).
"""

from __future__ import annotations

from .adaptive import (
    AdaptiveCharacteristics,
    adaptive_characteristics,
    combination_z,
    simulate_adaptive,
    simulate_adaptive_rates,
)
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
    power_margin_rr,
    power_tost_means,
)
from .multiarm import MultiArmPower, multiarm_power, simulate_multiarm
from .planning import SequentialAlternative, sequential_alternative
from .scenario import (
    Analysis,
    BinaryEndpoint,
    ContinuousEndpoint,
    Dropout,
    Scenario,
    SurvivalEndpoint,
    load_scenario,
)
from .sequential import (
    AnalysisResults,
    ConditionalPower,
    GroupSequentialDesign,
    GroupSequentialSampleSize,
    analysis_results,
    conditional_power,
    group_sequential,
    spend,
)
from .simulate import (
    GridResult,
    SimulationResult,
    ancova_batch,
    simulate,
    simulate_grid,
    true_effects,
)
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
    "AdaptiveCharacteristics",
    "Analysis",
    "AnalysisResults",
    "AssuranceResult",
    "BinaryEndpoint",
    "ConditionalPower",
    "ContinuousEndpoint",
    "Dropout",
    "ExactPower",
    "GridResult",
    "GroupSequentialDesign",
    "GroupSequentialSampleSize",
    "GroupSequentialSurvival",
    "MultiArmPower",
    "PowerCurve",
    "PowerResult",
    "SampleSize",
    "SampleSizeTable",
    "Scenario",
    "SequentialAlternative",
    "SimulatedSurvivalPower",
    "SimulationResult",
    "SizeCurve",
    "SurvivalEndpoint",
    "SurvivalPower",
    "adaptive_characteristics",
    "analysis_results",
    "ancova_batch",
    "assurance",
    "combination_z",
    "conditional_power",
    "events_survival",
    "exact_power",
    "exact_power_margin",
    "exact_sample_size_margin",
    "group_sequential",
    "group_sequential_survival",
    "load_scenario",
    "multiarm_power",
    "power_ancova",
    "power_curve",
    "power_equivalence_proportions",
    "power_margin",
    "power_margin_rr",
    "power_survival",
    "power_tost_means",
    "power_two_means",
    "power_two_proportions",
    "rejection_region",
    "restricted_mle",
    "sample_size",
    "sample_size_survival",
    "sample_size_table",
    "sequential_alternative",
    "simulate",
    "simulate_adaptive",
    "simulate_adaptive_rates",
    "simulate_grid",
    "simulate_multiarm",
    "simulate_survival",
    "size_curve",
    "spend",
    "true_effects",
]
