"""Read learning curves from an MLflow experiment (the ``mlflow`` extra).

Through MLflow's own client (``mlflow.MlflowClient``), against any tracking store it
reaches: a local folder, a SQLite or other database, or a tracking server. Each run's
loss is read in full (``get_metric_history``, every logged point), and settings logged as
params or tags (model size, batch size, learning rate) become columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import RunTableError
from ._trackers import Series, build, curve, mapping_of, need, no_such, progress_bar, skipped
from .table import RunTable

__all__ = ["read_mlflow"]

_WHO = "read_mlflow"


def read_mlflow(
    experiment: str,
    *,
    metric: str,
    tracking_uri: str | None = None,
    required: Sequence[str] = ("L",),
    progress: bool = False,
    **columns: Any,
) -> RunTable:
    """Read the runs of an MLflow experiment into a :class:`RunTable`.

    Each (active) run of the experiment that logged `metric` is one run, named by its run
    name, or by its run id where several runs share a name. Each logged point of `metric`
    is a row: its step is ``S``, its value ``L``; every point is read. A mapped name is
    looked up among the run's metrics first (each row takes the metric's latest value at
    or before its step), then its params, then its tags (one value per run; text that
    reads as a number becomes one). Runs without `metric` (a failed start, say) are left
    out with a warning. A run resumed from a checkpoint (its step goes back in logging
    order) keeps the points logged after the restart, those logged before it at that step
    or later are replaced; a NaN or infinite loss (a diverged run) is left out. Each is
    said in a warning naming the run and the steps.

    Parameters
    ----------
    experiment : str
        The experiment's name, or its id.
    metric : str
        The metric that holds the loss, e.g. ``"train/loss"``.
    tracking_uri : str, optional
        Where the tracking store is (``"sqlite:///path/mlflow.db"``, ``"http://host:5000"``,
        a folder); default: MLflow's own default (``MLFLOW_TRACKING_URI``).
    required : sequence of str, default=("L",)
        Columns that must be present or derivable.
    progress : bool, default=False
        Show a progress bar (tqdm, on stderr) over the runs.
    **columns : str, number or bool
        A str maps a metric, param or tag onto a column: ``N="n_params"``,
        ``B="batch_tokens"``, ``lr="lr"``; a number or bool is a constant column in every
        row, as in :func:`~powerlaw_lm.records.read_runs`. ``S``, ``L`` and ``run`` are
        set by the reader.

    Returns
    -------
    RunTable
        One run per MLflow run that logged `metric`, rows in step order.

    Raises
    ------
    RunTableError
        For an unknown experiment (listing those there are), an experiment without runs,
        a `metric` no run logged or a mapped name a run lacks (listing its metrics, params
        and tags), a constant or mapping of ``S``, ``L`` or ``run``, two different losses
        at one step logged one after the other (a metric logged without ``step=``), a run
        whose every loss is NaN or infinite, and every problem of the table.
    ImportError
        Without the ``mlflow`` package: ``pip install 'powerlaw_lm[mlflow]'``.

    Warns
    -----
    ReadWarning
        Naming the runs left out because they did not log `metric`, a run resumed from a
        checkpoint (and the steps it went back to), and NaN or infinite losses left out.

    Examples
    --------
    Log two runs to a local SQLite store and read them back (MLflow prints a line or two
    to stderr as it creates the store):

    >>> import tempfile, mlflow
    >>> from powerlaw_lm.records import read_mlflow
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = f"sqlite:///{tmp}/mlflow.db"
    ...     client = mlflow.MlflowClient(store)
    ...     ladder = client.create_experiment("ladder", artifact_location=f"{tmp}/artifacts")
    ...     for name, n in [("small", 1e6), ("large", 1e7)]:
    ...         run = client.create_run(ladder, run_name=name).info.run_id
    ...         _ = client.log_param(run, "n_params", n)
    ...         for step in (100, 200, 300):
    ...             client.log_metric(run, "loss", 3e3 / n**0.25 / step**0.1, step=step)
    ...     table = read_mlflow("ladder", metric="loss", N="n_params", tracking_uri=store)
    >>> table.n_runs, table.columns
    (2, ('N', 'S', 'L', 'run'))
    >>> table.select(run="large")["N"]
    array([10000000., 10000000., 10000000.])
    """
    mapping, constants = mapping_of(columns, _WHO, "metric")
    mlflow = need("mlflow", "mlflow", _WHO)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = _experiment(client, experiment, tracking_uri or mlflow.get_tracking_uri())
    runs = _runs(client, found.experiment_id)
    if not runs:
        raise RunTableError(
            f"{_WHO}: the experiment {found.name!r} holds no runs. Check the experiment."
        )
    names = [r.info.run_name or r.info.run_id for r in runs]
    frames, left_out, metrics = [], [], set()
    for run, name in progress_bar(list(zip(runs, names)), _WHO, progress):
        run_id = name if names.count(name) == 1 else run.info.run_id
        metrics.update(run.data.metrics)
        if metric not in run.data.metrics:
            left_out.append(run_id)
            continue
        others, values = {}, dict(constants)
        for column, key in mapping.items():
            if key in run.data.metrics:
                others[column] = _history(client, run.info.run_id, key)
            elif key in run.data.params or key in run.data.tags:
                values[column] = _number(run.data.params.get(key, run.data.tags.get(key)))
            else:
                raise _missing(column, key, run_id, run.data)
        loss = _history(client, run.info.run_id, metric)
        where = f"{_WHO}: experiment {found.name!r}"
        frames.append(curve(run_id, loss, others, values, where))
    if not frames:
        holder = f"no run of the experiment {found.name!r} logged the"
        raise no_such(_WHO, "metric", metric, holder, "metric", metrics)
    skipped(_WHO, left_out, f"the metric {metric!r}")
    return build(frames, required)


def _experiment(client: Any, experiment: str, uri: str) -> Any:
    """The experiment of that name (or id), or an error listing those there are."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(str(experiment))
    if found is None and str(experiment).isdigit():
        try:
            found = client.get_experiment(str(experiment))
        except MlflowException:
            found = None
    if found is None:
        names = [e.name for e in client.search_experiments()]
        raise RunTableError(
            f"{_WHO}: the tracking store {uri!r} has no experiment {experiment!r} "
            f"(experiments: {', '.join(map(repr, names)) or 'none'}). Give its name or id, "
            "or the tracking_uri of the store that holds it."
        )
    return found


def _runs(client: Any, experiment_id: str) -> list[Any]:
    """Every active run of the experiment, oldest first, page after page."""
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _history(client: Any, run_id: str, key: str) -> Series:
    """Every logged point of a metric, in logging order."""
    points = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.timestamp, m.step))
    steps = np.fromiter((m.step for m in points), np.int64, count=len(points))
    values = np.fromiter((m.value for m in points), np.float64, count=len(points))
    return steps, values


def _number(text: str) -> Any:
    """A param or tag as a number where it reads as one ("1e6" -> 1e6), else as text."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _missing(column: str, key: str, run: str, data: Any) -> RunTableError:
    tags = [t for t in data.tags if not t.startswith("mlflow.")]
    held = "; ".join(
        f"{kind}: {', '.join(map(repr, sorted(names))) or 'none'}"
        for kind, names in (("metrics", data.metrics), ("params", data.params), ("tags", tags))
    )
    return RunTableError(
        f"{_WHO}: {column}={key!r}: run {run!r} has no metric, param or tag {key!r} ({held}). "
        "Check the spelling."
    )
