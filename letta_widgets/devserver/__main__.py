"""``python -m letta_widgets.devserver``."""

import sys

from .server import main

sys.exit(main())
