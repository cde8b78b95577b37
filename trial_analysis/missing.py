"""Old import path of :mod:`trial_analysis.continuous.missing` (kept for one release).

``import trial_analysis.missing`` and ``ta.missing`` give the very module object of the continuous family.
"""

import sys

from .continuous import missing as _module

sys.modules[__name__] = _module
