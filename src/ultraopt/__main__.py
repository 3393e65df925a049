"""``python -m ultraopt``: the ``ultraopt`` command."""

import sys

from ultraopt.cli import main

sys.exit(main())
