"""``python -m trial_analysis`` runs the console command."""

import sys

from .cli import main

sys.exit(main())
