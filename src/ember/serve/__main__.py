"""``python -m ember.serve [flags]`` runs ``ember serve`` (see ``ember.serve.cli``)."""

import sys

from .cli import main

sys.exit(main())
