"""``python -m ember.export SOURCE --to ...`` runs ``ember export`` (see ``ember.export.cli``)."""

import sys

from .cli import main

sys.exit(main())
