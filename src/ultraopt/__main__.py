"""``python -m ultraopt``: the command line, also where the ``ultraopt`` script is not on PATH."""

import sys

from ultraopt.cli import main

sys.exit(main())
