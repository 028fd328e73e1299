"""``python -m m3dreid`` (used by ``torchrun -m m3dreid``) runs the CLI."""

import sys

from m3dreid.cli import main

sys.exit(main())
