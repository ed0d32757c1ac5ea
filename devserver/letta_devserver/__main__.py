"""``python -m letta_devserver``."""

import sys

from .server import main

sys.exit(main())
