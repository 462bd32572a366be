"""``python -m ember`` runs the ``ember`` command line (see ``ember.cli``)."""

import sys

from .cli import main

sys.exit(main())
