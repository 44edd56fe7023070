"""Matplotlib figures of results; every function returns its ``Figure`` and takes ``ax=``.

matplotlib is imported here and nowhere else in the library, on first use.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403

__all__ = list(_core.__all__)
