"""Old module paths that moved in 0.2, kept for one release with a DeprecationWarning."""

from __future__ import annotations

import warnings

__all__ = ["moved_module"]


def moved_module(old: str, new: str) -> None:
    """Warn that module ``old`` moved to ``new`` (called from the old module's body).

    Parameters
    ----------
    old, new : str
        Dotted module paths.
    """
    warnings.warn(
        f"{old} moved to {new} in powerlaw_lm 0.2; import it from {new} "
        "(the old path goes away in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )
