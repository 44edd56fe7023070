"""Deprecated alias of a moved module (moved in 0.2; removed in the next release)."""

from __future__ import annotations

from ._deprecated import moved_module

moved_module("powerlaw_lm.kaplan", "powerlaw_lm.allocation.kaplan")

from .allocation.kaplan import *  # noqa: E402, F403
