"""``python -m powerlaw_lm.cli``: the same as the ``powerlaw-lm`` command."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
