"""Turning what users pass into a :class:`RunTable`, and trimming learning curves.

:func:`as_table` is the one door every analysis takes its `data` through;
:func:`skip_warmup` drops the start of each learning curve, before any power law in S holds.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._checks import ArgumentError, constraint_message, renamed
from .table import RunTable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["as_table", "run_codes", "skip_warmup"]


def as_table(data: RunTable | pd.DataFrame | Mapping[str, ArrayLike]) -> RunTable:
    """Return `data` as a :class:`~powerlaw_lm.records.RunTable` (validating it).

    Parameters
    ----------
    data : RunTable, DataFrame or mapping of columns
        A table of runs; a RunTable is returned as it is.

    Returns
    -------
    RunTable

    Raises
    ------
    ArgumentError
        For `data` of another type, or a dict whose columns differ in length.
    RunTableError
        For a table that fails validation.

    Examples
    --------
    >>> as_table({"N": [1e6, 1e7], "L": [3.0, 2.5]})["N"]
    array([ 1000000., 10000000.])
    """
    if isinstance(data, RunTable):
        return data
    import pandas as pd

    if isinstance(data, Mapping):
        try:
            data = pd.DataFrame(dict(data))
        except (TypeError, ValueError) as exc:
            lengths = {str(k): int(np.size(v)) for k, v in data.items()}
            raise ArgumentError(
                f"`data`: the columns of a dict must be array-likes of one length; got "
                f"lengths {lengths} ({exc}). Pass equal-length columns, or a DataFrame."
            ) from None
    if isinstance(data, pd.DataFrame):
        return RunTable(data)
    raise ArgumentError(
        f"`data` must be a RunTable, a pandas DataFrame or a dict of columns; got "
        f"{type(data).__name__}. Build one with RunTable.from_frame(df, N='params', L='loss')."
    )


@renamed(table="data", fraction="warmup_fraction")
def skip_warmup(
    data: RunTable | pd.DataFrame,
    *,
    warmup_fraction: float = 0.1,
    total_steps: str | None = None,
) -> RunTable:
    r"""Drop the start of every learning curve: the rows before `warmup_fraction` of its steps.

    No power law in :math:`S` describes the first steps of training: the learning rate is
    still warming up and the loss falls from its value at initialisation through a
    plateau. The rule keeps a row when :math:`S \ge f\,S_\mathrm{total}`, with
    :math:`S_\mathrm{total}` the run's planned steps (the column `total_steps`) or, without
    one, its last step in the table. With :math:`f = 0.1` it drops the whole warmup of the
    reference trainer (at most a tenth of a run) and of open_lm's runs in
    ``shared/data/misfitting``; Kaplan et al. 2020 warm up for 3000 of 250,000 steps.

    Parameters
    ----------
    data : RunTable or DataFrame
        Learning curves (``run``, ``S``, ``L``, ...). Formerly ``table``.
    warmup_fraction : float, default=0.1
        :math:`f`, in ``[0, 1)``. Formerly ``fraction``.
    total_steps : str, optional
        Column holding each row's planned total steps; default, the run's last ``S``.

    Returns
    -------
    RunTable
        The rows kept, in their order.

    Raises
    ------
    ValueError
        For a `warmup_fraction` outside ``[0, 1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> curves = pd.DataFrame({"run": ["a"] * 4, "S": [5, 50, 500, 1000],
    ...                        "L": [6.0, 4.0, 3.0, 2.9]})
    >>> skip_warmup(curves)["S"]
    array([ 500., 1000.])
    """
    f = warmup_fraction
    if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0 <= f < 1:
        raise ArgumentError(
            constraint_message("warmup_fraction", "skip_warmup", "a number in [0, 1)", f)
        )
    t = as_table(data)
    t.require("S", purpose="skipping the warmup of learning curves")
    if len(t) == 0:
        return t
    S = np.asarray(t["S"], dtype=np.float64)
    if total_steps is not None:
        t.require(total_steps, purpose="skipping the warmup by the planned total steps")
        total = np.asarray(t[total_steps], dtype=np.float64)
    else:
        codes, _ = run_codes(t)
        last = np.full(codes.max() + 1, -np.inf)
        np.maximum.at(last, codes, S)
        total = last[codes]
    return t.select(S >= f * total)


def run_codes(t: RunTable) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Integer codes of each row's run, and the run names they index (sorted)."""
    runs = np.asarray(t["run"]).astype(str)
    names, codes = np.unique(runs, return_inverse=True)
    return codes.astype(np.intp), [str(n) for n in names]
