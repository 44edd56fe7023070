"""Read learning curves from TensorBoard event files (the ``tensorboard`` extra).

Every folder under the log directory that holds event files (``events.out.tfevents.*``)
is one run, as TensorBoard itself shows it; its path below the log directory is the run
id. Scalars are read by TensorBoard's own event reader, every point of them (TensorBoard's
server keeps a sample of 1000 per tag; this reader keeps all), whether they were written
as ``simple_value`` summaries (``torch.utils.tensorboard``, tensorboardX, TF1) or as
scalar tensors (``tf.summary.scalar``, ``tensorboard.summary``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import RunTableError
from ._files import MissingFileError
from ._trackers import Series, build, curve, mapping_of, need, no_such, progress_bar, skipped
from .table import RunTable

__all__ = ["read_tensorboard"]

_WHO = "read_tensorboard"


def read_tensorboard(
    logdir: str | os.PathLike[str],
    *,
    loss_tag: str,
    required: Sequence[str] = ("L",),
    progress: bool = False,
    **columns: Any,
) -> RunTable:
    """Read every run under a TensorBoard log directory into a :class:`RunTable`.

    Each folder under `logdir` (or `logdir` itself) that holds event files is one run,
    named by its path below `logdir` (``"small/seed0"``; `logdir`'s own name for event
    files directly in it). Each point of the scalar `loss_tag` is a row: its step is
    ``S``, its value ``L`` (TensorBoard stores float32). Every logged point is read, none
    sampled. Other scalar tags are columns where mapped, each row holding the tag's latest
    value at or before the row's step (NaN before its first); tags not mapped are left out.
    Runs without `loss_tag` (an ``eval`` folder, say) are left out with a warning. A run
    resumed from a checkpoint (its step goes back in logging order, as when training
    restarts from step 2000 after logging up to 2300) keeps the points logged after the
    restart, those logged before it at that step or later are replaced (what
    ``SummaryWriter(purge_step=...)`` asks for); a NaN or infinite loss (a diverged run) is
    left out. Each is said in a warning naming the run and the steps.

    Parameters
    ----------
    logdir : str or os.PathLike
        The log directory (what ``tensorboard --logdir`` is given).
    loss_tag : str
        The scalar tag of the loss, e.g. ``"train/loss"``.
    required : sequence of str, default=("L",)
        Columns that must be present or derivable.
    progress : bool, default=False
        Show a progress bar (tqdm, on stderr) over the runs.
    **columns : str, number or bool
        A str maps a scalar tag onto a column, ``lr="train/lr"`` or ``B="batch_tokens"``;
        a number or bool is a constant column in every row, ``N=1.28e9``, as in
        :func:`~powerlaw_lm.records.read_runs`. ``S``, ``L`` and ``run`` are set by the
        reader.

    Returns
    -------
    RunTable
        One run per run folder holding `loss_tag`, rows in step order.

    Raises
    ------
    RunTableError
        For a missing log directory (also a ``FileNotFoundError``), one without event
        files, a `loss_tag` no run holds or a mapped tag a run lacks (listing the tags
        found), a constant or mapping of ``S``, ``L`` or ``run``, two different losses at
        one step logged one after the other, a run whose every loss is NaN or infinite, and
        every problem of the table.
    ImportError
        Without the ``tensorboard`` package: ``pip install 'powerlaw_lm[tensorboard]'``.

    Warns
    -----
    ReadWarning
        Naming the runs left out because they lack `loss_tag`, a run resumed from a
        checkpoint (and the steps it went back to), and NaN or infinite losses left out.

    Examples
    --------
    >>> import tempfile
    >>> from tensorboard.summary import Writer
    >>> from powerlaw_lm.records import read_tensorboard
    >>> with tempfile.TemporaryDirectory() as logdir:
    ...     for name, n in [("small", 1e6), ("large", 1e7)]:
    ...         writer = Writer(f"{logdir}/{name}")
    ...         for step in (100, 200, 300):
    ...             writer.add_scalar("train/loss", 3e3 / n**0.25 / step**0.1, step=step)
    ...             writer.add_scalar("lr", 1e-3, step=step)
    ...         writer.close()
    ...     table = read_tensorboard(logdir, loss_tag="train/loss", lr="lr", N=1e6)
    >>> table.n_runs, table.columns
    (2, ('N', 'S', 'L', 'run', 'lr'))
    >>> table.select(run="small")["S"]
    array([100., 200., 300.])
    """
    mapping, constants = mapping_of(columns, _WHO, "loss_tag")
    root = Path(logdir)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise MissingFileError(
            f"{_WHO}: the log directory {str(root)!r} {what}. Give the folder that "
            "tensorboard --logdir is given."
        )
    need("tensorboard", "tensorboard", _WHO)
    from tensorboard.backend.event_processing import io_wrapper

    folders = sorted(io_wrapper.GetLogdirSubdirectories(str(root)))
    if not folders:
        raise RunTableError(
            f"{_WHO}: {str(root)!r} holds no TensorBoard event files (events.out.tfevents.*), "
            "in it or in its sub-folders. Check the log directory."
        )
    frames, left_out, tags = [], [], set[str]()
    for folder in progress_bar(folders, _WHO, progress):
        run = Path(folder).relative_to(root).as_posix()
        run = root.absolute().name if run == "." else run
        scalars = _scalars(folder)
        tags.update(scalars)
        if loss_tag not in scalars:
            left_out.append(run)
            continue
        others = {}
        for name, tag in mapping.items():
            if tag not in scalars:
                raise no_such(_WHO, name, tag, f"run {run!r} has no", "scalar tag", scalars)
            others[name] = scalars[tag]
        frames.append(curve(run, scalars[loss_tag], others, constants, f"{_WHO}: {folder!r}"))
    if not frames:
        holder = f"no run under {str(root)!r} has the"
        raise no_such(_WHO, "loss_tag", loss_tag, holder, "scalar tag", tags)
    skipped(_WHO, left_out, f"the scalar tag {loss_tag!r}")
    return build(frames, required)


def _scalars(folder: str) -> dict[str, Series]:
    """Every point of every scalar tag of one run folder."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    # size_guidance 0 keeps every event: no reservoir sampling.
    accumulator = pea.EventAccumulator(folder, size_guidance={pea.TENSORS: 0})
    accumulator.Reload()
    out = {}
    for tag in accumulator.Tags()[pea.TENSORS]:
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        events = accumulator.Tensors(tag)
        steps = np.fromiter((e.step for e in events), np.int64, count=len(events))
        values = np.fromiter(
            (tensor_util.make_ndarray(e.tensor_proto).item() for e in events),
            np.float64,
            count=len(events),
        )
        out[tag] = (steps, values)
    return out
