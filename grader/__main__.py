"""``python -m grader`` is the same as ``labgrade``."""

import sys

from grader.cli import main

sys.exit(main())
