"""``python -m ultraopt.cli``: the ``ultraopt`` command."""

import sys

from ultraopt.cli import main

sys.exit(main())
