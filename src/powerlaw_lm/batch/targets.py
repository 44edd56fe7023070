r"""The steps and tokens each run needed to reach a target loss, read off its learning curve.

The first measurement behind the S-E trade-off of Kaplan et al. 2020 (arXiv 2001.08361,
Sec. 5.1): for runs that differ in their batch size, the steps :math:`S` and tokens
:math:`E = BS` each needed to reach the same loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from .._checks import renamed
from ._curves import at_crossings, crossings, curve, local_slope, run_constant, target_losses

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..records.table import RunTable

__all__ = ["steps_to_target"]


@renamed(table="data")
def steps_to_target(
    data: RunTable | pd.DataFrame, targets: npt.ArrayLike, *, by: str | None = "N"
) -> pd.DataFrame:
    r"""The steps :math:`S` and tokens :math:`E = BS` each run needed to reach each target loss.

    Along each run's learning curve (its evaluations with :math:`S > 0`, in training
    order), the first evaluation at or below the target and the one before it bracket the
    crossing, and :math:`S` is interpolated linearly in :math:`\log S` against
    :math:`\log L` between them (a power law between two evaluations). A run that never
    reaches a target, or whose first evaluation is already below it, gets NaN there: its
    crossing is not bracketed.

    Parameters
    ----------
    data : RunTable or DataFrame
        Learning curves with columns ``run``, ``S``, ``B`` (tokens, constant within a run)
        and ``L``. Formerly ``table``.
    targets : array-like of float
        Target losses.
    by : str or None, default="N"
        A column copied into the result (one value per run), for grouping runs into
        sweeps; None for none.

    Returns
    -------
    pandas.DataFrame
        One row per run and target: ``run``, `by`, ``B``, ``L`` (the target), ``S``,
        ``E`` (tokens) and ``dlogS_dlogL``, the slope of the curve there (between the two
        evaluations): noise :math:`\epsilon` in :math:`\log L` moves :math:`\log S` by
        that slope times :math:`\epsilon`.

    Raises
    ------
    ValueError
        For targets that are not positive, or a run whose batch size changes.

    Examples
    --------
    A curve :math:`L = 10\,S^{-1/2}` reaches :math:`L = 2` at :math:`S = 25`:

    >>> import pandas as pd
    >>> curve = pd.DataFrame({"run": "a", "S": [4, 16, 64], "B": 1024.0,
    ...                       "L": [5.0, 2.5, 1.25]})
    >>> steps_to_target(curve, [2.0, 6.0], by=None)
      run       B    L     S        E  dlogS_dlogL
    0   a  1024.0  2.0  25.0  25600.0         -2.0
    1   a  1024.0  6.0   NaN      NaN          NaN
    """
    import pandas as pd

    from ..records.convert import as_table

    t = as_table(data)
    t.require("S", "B", "L", purpose="reading steps to a target loss off learning curves")
    if by is not None:
        t.require(by, purpose=f"grouping runs by {by!r}")
    goals = target_losses(targets, "steps_to_target")
    frames = []
    for run, rows in t.runs():
        B = run_constant(rows, run, "B")
        S, L = curve(rows)
        i, w = crossings(L, goals)
        steps = at_crossings(S, i, w)
        frame: dict[str, Any] = {"run": run}
        if by is not None:
            frame[by] = run_constant(rows, run, by)
        frame.update({"B": B, "L": goals, "S": steps, "E": steps * B})
        frame["dlogS_dlogL"] = local_slope(S, L, i, w)
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)
