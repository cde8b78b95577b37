"""Old import path of :mod:`trial_analysis.continuous.mmrm` (kept for one release).

``import trial_analysis.mmrm`` and ``ta.mmrm`` give the very module object of the continuous family.
"""

import sys

from .continuous import mmrm as _module

sys.modules[__name__] = _module
