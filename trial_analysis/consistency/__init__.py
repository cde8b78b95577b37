"""Published-number forensics: do the reported numbers fit together?

- :mod:`.counts` — denominators and counts implied by published percentages and intervals
  (``infer_counts``).
- :mod:`.summaries` — checks of means, SDs and changes (GRIM/GRIMMER, change-score arithmetic,
  the pre-post correlation implied by a p-value).

Each check returns structured findings (result objects), never prints.
"""

from .counts import infer_counts, published_counts  # noqa: F401
from .summaries import (  # noqa: F401
    ArmSummary,
    Finding,
    audit_summaries,
    change_arithmetic,
    default_denominators,
    grim,
    grimmer,
    rho_sensitivity,
    within_group_rho,
)
