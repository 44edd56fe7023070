"""A sweep's output folder as a concurrent store: finished runs, per-run claims, the spec.

The folder ``out`` holds

- ``runs.jsonl``: one :class:`~powerlaw_lm.records.Run` per line, appended whole, in one
  ``write`` under an exclusive ``flock``, then synced (:class:`RunStore`);
- ``claims/<run>.lock``: the claim of a run, an exclusive ``flock`` held by the process
  that trains it for the whole training (:func:`claim`). The kernel drops the lock when the
  holder dies, however it dies (SIGKILL included), so the claim of a dead process is simply
  taken over; the file itself stays, and keeps one JSON line per attempt (host, pid, time,
  then the outcome) as the run's history;
- ``spec.json``: the spec of the sweep, written by the first process (a complete file
  linked into place, so that no process ever reads half of it), and compared by every later
  one, run by run (:func:`pin_spec`): a spec with the same runs, or some of them, runs
  as it is; one that adds runs and changes none (a new stage) extends the sweep and
  replaces ``spec.json`` (a complete file renamed into place, under the exclusive
  ``flock`` of ``spec.json.lock``); one that changes a run is refused. The spec's
  ``launcher`` section is no part of the runs;
- ``failures.log``: one tab-separated line per failed attempt (:func:`record_failure`).

A process trains a run only while it holds the run's claim and only after checking, under
the claim, that the run is not stored yet; a run is stored before its claim is released.
So processes on one machine, or on several machines that share the folder, split a sweep
with no run trained twice.

Shared filesystems: claims rely on ``flock``. It works across machines on NFSv4 (Linux
maps it to NFS byte-range locks) and on parallel filesystems mounted with lock support
(Lustre ``-o flock``, GPFS); on NFSv3 without ``lockd``, or Lustre mounted with
``localflock``, a lock is seen by one machine only: there run one sweep process per
folder, or give each machine its own members with ``--index``.
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import json
import os
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from ..exceptions import ReadWarning, SweepError

__all__ = ["Claim", "Pinned", "RunStore", "attempts", "claim", "pin_spec", "record_failure"]

# Fault injection for the tests only: seconds to pause between the two halves of a line
# written by RunStore.append, so that a test can kill a process inside a write.
_PAUSE_ENV = "POWERLAW_LM_TEST_APPEND_PAUSE"
# ... and seconds to pause between pin_spec's first comparison and its lock, so that a test
# can have two processes extend one spec at once.
_PIN_PAUSE_ENV = "POWERLAW_LM_TEST_PIN_PAUSE"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flock(fd: int, flags: int, path: Path) -> bool:
    """Lock `fd`; False if `LOCK_NB` and another holds it; a SweepError if unsupported."""
    try:
        fcntl.flock(fd, flags)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise SweepError(
            f"{path}: cannot lock the file ({exc.strerror}); the filesystem does not support "
            "flock. Put --out on a local disk or on a filesystem mounted with lock support "
            "(NFSv4, Lustre -o flock), or give each process its own members with --index."
        ) from exc
    return True


class RunStore:
    """An append-only JSONL file of finished runs, safe against crashes and concurrency.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSONL file; created on first append.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig
    >>> store = RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl")
    >>> run = Run(config=RunConfig(name="a"), curve=[CurvePoint(S=1, L=2.0)])
    >>> store.append(run), store.append(run), store.names()
    (True, False, ['a'])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _flock(fd, fcntl.LOCK_EX, self.path)
            yield fd
        finally:
            os.close(fd)  # closing the last descriptor releases the lock

    def _lines(self, *, warn: bool = True) -> list[str]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if warn and end < len(data):
            warnings.warn(
                f"{self.path}: the last line (from byte {end}, {len(data) - end} bytes) is "
                "incomplete, left by a process killed while writing; it is ignored and is "
                "cut off by the next append.",
                ReadWarning,
                stacklevel=4,
            )
        return [line for line in data[:end].decode("utf-8").splitlines() if line.strip()]

    def records(self, *, warn: bool = True) -> list[dict[str, Any]]:
        """Return the finished runs as parsed JSON objects, in file order.

        A torn last line (no newline: the writer died mid-write) is ignored, with a warning.

        Parameters
        ----------
        warn : bool, default=True
            Warn about a torn last line.

        Returns
        -------
        list of dict
            One per run.

        Raises
        ------
        SweepError
            If a complete line is not valid JSON.

        Warns
        -----
        ReadWarning
            If the last line is torn; the message names the file and the byte offset.
        """
        out = []
        for i, line in enumerate(self._lines(warn=warn), start=1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SweepError(
                    f"{self.path}: line {i} is not valid JSON ({exc.msg}); the file was "
                    "edited or corrupted. Remove that line and rerun to retrain the run."
                ) from exc
        return out

    def names(self, *, warn: bool = True) -> list[str]:
        """Return the names of the finished runs, in file order.

        Parameters
        ----------
        warn : bool, default=True
            Warn about a torn last line.

        Returns
        -------
        list of str
            The ``config.name`` of each line.

        Raises
        ------
        SweepError
            If a complete line is not valid JSON.
        """
        return [r["config"]["name"] for r in self.records(warn=warn)]

    def runs(self) -> list[Any]:
        """Return the finished runs as :class:`~powerlaw_lm.records.Run` objects.

        Returns
        -------
        list of Run
            In file order.

        Raises
        ------
        SweepError
            If a complete line is not valid JSON.
        """
        from ..records import Run

        return [Run.model_validate(r) for r in self.records()]

    def append(self, run: Any) -> bool:
        """Append one finished run unless a run of that name is already stored.

        A torn last line is cut off first.

        Parameters
        ----------
        run : Run
            The record.

        Returns
        -------
        bool
            True if written, False if the name was already there.

        Raises
        ------
        SweepError
            If the file holds a line that is not valid JSON, or cannot be locked.
        """
        line = (run.model_dump_json() + "\n").encode("utf-8")
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            keep = self.path.read_bytes().rfind(b"\n") + 1
            if keep != size:
                os.ftruncate(fd, keep)
            if run.config.name in self.names(warn=False):
                return False
            pause = float(os.environ.get(_PAUSE_ENV, "0") or 0)
            if pause > 0:
                _write_all(fd, line[: len(line) // 2])
                os.fsync(fd)
                import time

                time.sleep(pause)
                line = line[len(line) // 2 :]
            _write_all(fd, line)
            os.fsync(fd)
        return True


class Claim:
    """A held claim on one run: an exclusive ``flock`` on ``claims/<run>.lock``.

    Made by :func:`claim`; released when the block ends or the process dies.

    Parameters
    ----------
    path : pathlib.Path
        The claim file.
    fd : int
        Its open, locked descriptor.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def log(self, event: str, **info: Any) -> None:
        """Add one line to the run's history (``start``, ``stored``, ``failed``, ...).

        Parameters
        ----------
        event : str
            What happened.
        **info
            More fields for the line.
        """
        entry = {"event": event, "host": socket.gethostname(), "pid": os.getpid()}
        entry.update(time=_now(), **info)
        _write_all(self.fd, (json.dumps(entry) + "\n").encode("utf-8"))


@contextmanager
def claim(out: str | os.PathLike[str], name: str) -> Iterator[Claim | None]:
    """Claim run `name` of the sweep in `out` for as long as the block runs.

    Yields ``None`` at once if a live process holds the claim; a claim left by a dead
    process is taken over.

    Parameters
    ----------
    out : path
        The sweep's folder.
    name : str
        The run.

    Yields
    ------
    Claim or None
        The held claim, or None if another process holds it.

    Raises
    ------
    SweepError
        If the filesystem does not support ``flock``.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with claim(out, "a") as mine:
    ...     with claim(out, "a") as other:
    ...         print(mine is not None, other)
    True None
    >>> with claim(out, "a") as again:
    ...     print(again is not None)
    True
    """
    path = Path(out) / "claims" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        yield Claim(path, fd) if _flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, path) else None
    finally:
        os.close(fd)


def attempts(out: str | os.PathLike[str], name: str) -> list[dict[str, Any]]:
    """Return the history of run `name`: one dict per line of its claim file.

    Parameters
    ----------
    out : path
        The sweep's folder.
    name : str
        The run.

    Returns
    -------
    list of dict
        ``{"event": "start" | "stored" | "failed" | ..., "host", "pid", "time", ...}``; an
        empty list if the run was never claimed. A torn last line is ignored.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with claim(out, "a") as held:
    ...     held.log("start")
    >>> [a["event"] for a in attempts(out, "a")]
    ['start']
    """
    path = Path(out) / "claims" / f"{name}.lock"
    if not path.exists():
        return []
    data = path.read_bytes()
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines() if line]


def _named(entries: list[Any]) -> bool:
    """Whether `entries` are dicts with distinct names (a spec's stages or models)."""
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    return None not in names and len(set(names)) == len(names)


def _first_difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first path (``stages[0].tokens``) where two JSON values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and _named(old) and _named(new):
        # Entries with names (stages, models) are matched by name: an added stage is no
        # difference of the stages after it.
        before = {entry["name"]: entry for entry in old}
        for i, entry in enumerate(new):
            if entry["name"] in before:
                found = _first_difference(before[entry["name"]], entry, f"{where}[{i}]")
                if found:
                    return found
        names = ([e["name"] for e in old], [e["name"] for e in new])
        return None if names[0] == names[1] else (f"{where} names", *names)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            found = _first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if old == new else (where or "(the whole spec)", old, new)


Pinned = Literal["written", "same", "extended", "subset"]
"""What :func:`pin_spec` found: ``spec.json`` written, the same runs, an extension, a subset."""


def _without_launcher(spec: Any) -> dict[str, Any]:
    """The spec as JSON values, less its launcher section (which does not define the runs)."""
    return {k: v for k, v in spec.model_dump(mode="json").items() if k != "launcher"}


def _members(spec: Any) -> dict[str, dict[str, Any]]:
    """The runs a spec defines: each member's name and its configuration as plain values."""
    return {m.name: json.loads(json.dumps(asdict(m), default=str)) for m in spec.members()}


@contextmanager
def _spec_lock(folder: Path) -> Iterator[None]:
    """Hold the exclusive ``flock`` on ``folder/spec.json.lock`` (blocking) for the block."""
    path = folder / "spec.json.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _flock(fd, fcntl.LOCK_EX, path)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_spec(target: Path, kind: Any) -> Any:
    folder = target.parent
    try:
        return kind.model_validate_json(target.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SweepError(
            f"{target} is not a readable sweep spec ({str(exc).splitlines()[0]}); the folder "
            f"belongs to another version or was edited. Use a new --out folder, or delete "
            f"{target} to adopt the runs in {folder} (each is still checked against the spec)."
        ) from exc


def _compare(target: Path, stored: Any, spec: Any) -> Pinned | None:
    """How the runs of `spec` stand to the `stored` one's: same, subset, or more (None).

    Refuses a changed run, or runs both dropped and added.
    """
    folder = target.parent
    old, new = _members(stored), _members(spec)
    for name, config in old.items():
        if name in new and new[name] != config:
            field, was, now = _first_difference(config, new[name]) or ("", None, None)
            texts = _without_launcher(stored), _without_launcher(spec)
            where, old_value, new_value = _first_difference(*texts) or (field, was, now)
            raise SweepError(
                f"{folder} holds the runs of another spec: {where} is {old_value!r} there, "
                f"{new_value!r} now. Write this spec's runs to a new --out folder, or delete "
                f"{folder} to start over; to extend the sweep on purpose, delete nothing: add "
                "stages (budgets, models, seeds) and leave the stored runs as they are. This "
                f"spec changes run {name!r} ({field} is {was!r} there, {now!r} now), and a "
                "spec may add runs to a folder, or run some of its runs, never change one; to "
                f"redefine runs not trained yet on purpose, delete {target} (each stored run "
                "is still checked against the new spec)."
            )
    missing = [n for n in old if n not in new]
    added = [n for n in new if n not in old]
    if missing and added:
        raise SweepError(
            f"{folder} holds the runs of another spec: this spec lacks its run {missing[0]!r} "
            f"({len(missing)} in all) and adds {added[0]!r} ({len(added)} in all); a spec may "
            f"add runs to a folder, or run some of its runs, not both. Add the missing runs' "
            f"stages to this spec (see {target}, which another process may have extended "
            f"meanwhile), write this spec's runs to a new --out folder, or delete {target} to "
            "drop them from the sweep (the stored runs are kept and each is checked against "
            "the new spec)."
        )
    if added:
        return None
    return "subset" if missing else "same"


def _write_atomically(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.{socket.gethostname()}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)  # readers see the old file or the new one, whole


def pin_spec(out: str | os.PathLike[str], spec: Any) -> Pinned:
    """Write `spec` to ``out/spec.json``, or check it against the spec stored there.

    The runs are compared, not the text: the members of the stored spec
    (:meth:`~powerlaw_lm.trainer.spec.SweepSpec.members`, each name with its whole
    configuration) against those of `spec`. The ``launcher`` section is no part of them,
    so a sweep may move from one launcher to another halfway.

    - no ``spec.json``: it is written (``"written"``);
    - the same runs: nothing is written (``"same"``), even if the spec's text differs
      (a default that changes no run, the launcher, the order of the stages);
    - more runs, every stored run unchanged: an extension (a stage, a budget, a model
      added); ``spec.json`` is replaced by `spec` (``"extended"``). The replacement
      happens under an exclusive ``flock`` on ``out/spec.json.lock``, after reading
      ``spec.json`` again, so that of two processes extending the same spec at once the
      second compares its spec with what the first wrote: it runs if its spec holds the
      first one's runs too, and is refused otherwise;
    - fewer runs, every one of them unchanged (a spec restricted to one stage, say):
      nothing is written (``"subset"``);
    - anything else (a run changed, or runs both added and dropped) is refused.

    Parameters
    ----------
    out : path
        The sweep's folder (created).
    spec : SweepSpec
        The spec about to run.

    Returns
    -------
    {"written", "same", "extended", "subset"}
        What this call found and did.

    Raises
    ------
    SweepError
        If ``spec.json`` holds another spec (the message names the folder, the first
        changed run and field with both values, or a run dropped and a run added, and
        the fix), or cannot be read as a spec, or cannot be locked.

    Examples
    --------
    >>> import copy, tempfile
    >>> from powerlaw_lm.trainer.spec import SweepSpec
    >>> raw = {"name": "s", "corpus": "pydoc", "n_ctx": 32,
    ...        "models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...        "stages": [{"name": "g", "tokens": [16384]}]}
    >>> out = tempfile.mkdtemp()
    >>> pin_spec(out, SweepSpec.model_validate(raw)), pin_spec(out, SweepSpec.model_validate(raw))
    ('written', 'same')

    Another stage extends the sweep; the first stage alone is a subset of it:

    >>> more = copy.deepcopy(raw)
    >>> more["stages"].append({"name": "h", "tokens": [32768]})
    >>> pin_spec(out, SweepSpec.model_validate(more)), pin_spec(out, SweepSpec.model_validate(raw))
    ('extended', 'subset')

    A changed run is refused:

    >>> raw["stages"][0]["lr"] = [1e-3]
    >>> pin_spec(out, SweepSpec.model_validate(raw))
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.SweepError: ...: stages[0].lr is None there, [0.001] now. ...
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "spec.json"
    text = spec.model_dump_json(indent=2) + "\n"
    if not target.exists():
        tmp = folder / f".spec.json.{socket.gethostname()}.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        try:
            os.link(tmp, target)  # atomic create-if-absent of the complete file
            return "written"
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    found = _compare(target, _read_spec(target, type(spec)), spec)
    if found is not None:  # nothing to write: an extension by another process keeps it true
        return found
    pause = float(os.environ.get(_PIN_PAUSE_ENV, "0") or 0)
    if pause > 0:
        import time

        time.sleep(pause)
    with _spec_lock(folder):
        found = _compare(target, _read_spec(target, type(spec)), spec)  # again, under the lock
        if found is not None:
            return found
        _write_atomically(target, text)
    return "extended"


def record_failure(out: str | os.PathLike[str], name: str, exc: BaseException) -> str:
    r"""Append one line for a failed run to ``out/failures.log``; return the line.

    The line is ``time<TAB>run<TAB>exception type<TAB>message``, the message with its
    backslashes, newlines and tabs escaped, so that each failure is exactly one line.

    Parameters
    ----------
    out : path
        The sweep's folder.
    name : str
        The run.
    exc : BaseException
        What it raised.

    Returns
    -------
    str
        The line written, without its newline.

    Examples
    --------
    >>> import tempfile
    >>> line = record_failure(tempfile.mkdtemp(), "g-a", ValueError("L is nan\n at step 4"))
    >>> line.split("\t")[1:]
    ['g-a', 'ValueError', 'L is nan\\n at step 4']
    """
    message = str(exc).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    line = f"{_now()}\t{name}\t{type(exc).__name__}\t{message}"
    path = Path(out) / "failures.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _flock(fd, fcntl.LOCK_EX, path)
        _write_all(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return line
