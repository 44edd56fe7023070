"""What a file is, before a parser sees it (private helpers of :mod:`.io`).

Bytes (:func:`file_bytes`: a folder, a missing file, compression by magic bytes), text
(:func:`decode`: UTF-8 with or without a byte-order mark, a clear refusal otherwise), the
layout of a CSV file (:func:`csv_header`: one header, as many fields in every row) and the
nesting depth of JSON (:func:`json_depth`), each checked column-wise with numpy so that a
file of a million rows costs a fraction of a second. Every refusal is a
:class:`~powerlaw_lm.exceptions.RunTableError` naming the file, the line and the fix.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from ..exceptions import RunTableError
from ._checks import SHOWN, quote_list

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# Other containers a table may arrive in: refused by name, with the way out.
_OTHER_MAGIC = (
    (b"PK\x03\x04", "a zip archive", "unzip it"),
    (b"BZh", "bzip2-compressed", "decompress it (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (unxz)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it (unzstd)"),
)
# A gzip file may grow this many times (and to at least this many bytes) when read: far
# more than tables of numbers compress, far less than a decompression bomb.
_GZIP_RATIO, _GZIP_FLOOR = 200, 2**28


class MissingFileError(RunTableError, FileNotFoundError):
    """A file to read that does not exist (a ``FileNotFoundError`` too)."""

    def __str__(self) -> str:
        return str(self.args[0])


class FolderError(RunTableError, IsADirectoryError):
    """A folder where a file was expected (an ``IsADirectoryError`` too)."""

    def __str__(self) -> str:
        return str(self.args[0])


def folder_error(path: Path, who: str) -> FolderError:
    """The error for a folder given where a file of runs is read."""
    return FolderError(
        f"{who}: {str(path)!r} is a folder, not a file. Give the path of a .csv, .jsonl or "
        ".parquet file."
    )


def file_bytes(path: Path, who: str) -> bytes:
    """The bytes of `path`, decompressed where it is gzip (by its magic bytes, any suffix)."""
    name = repr(str(path))
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise folder_error(path, who) from None
    except FileNotFoundError:
        raise MissingFileError(f"{who}: there is no file {name}. Check the path.") from None
    except OSError as exc:
        raise RunTableError(
            f"{who}: cannot read {name} ({exc.strerror or exc}). Check that it is a readable file."
        ) from None
    if raw.startswith(GZIP_MAGIC):
        return _gunzip(raw, name, who)
    for magic, what, fix in _OTHER_MAGIC:
        if raw.startswith(magic):
            raise RunTableError(
                f"{who}: {name} is {what}, not a table of runs. {fix.capitalize()} first "
                "(a gzip file is read as it is)."
            )
    return raw


def _gunzip(raw: bytes, name: str, who: str) -> bytes:
    limit = max(_GZIP_FLOOR, _GZIP_RATIO * len(raw))
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            out = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise RunTableError(
            f"{who}: {name} starts like a gzip file but cannot be decompressed ({exc}); it is "
            "damaged or cut short. Compress it again, or give the plain file."
        ) from None
    if len(out) > limit:
        raise RunTableError(
            f"{who}: {name} decompresses to more than {limit:,} bytes ({_GZIP_RATIO} times "
            "its size): refused as a likely decompression bomb. Decompress it yourself and "
            "read the plain file."
        )
    return out


def utf8(raw: bytes, path: Path, who: str) -> bytes:
    """`raw` checked to be UTF-8 text, without a leading byte-order mark, or a refusal."""
    name = repr(str(path))
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RunTableError(
            f"{who}: {name} is UTF-16 text; tables are read as UTF-8. Save it as UTF-8 (in a "
            "spreadsheet: CSV UTF-8)."
        )
    if raw.startswith(PARQUET_MAGIC):
        raise RunTableError(
            f"{who}: {name} is a parquet file, not text. Give it the suffix .parquet."
        )
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise RunTableError(
            f"{who}: {name} is not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line}, "
            f"column {column} is not UTF-8 (the file may be Latin-1 or Windows-1252). Save it "
            "as UTF-8 (e.g. iconv -f latin1 -t utf-8), or read it yourself (a CSV file with "
            "pandas.read_csv(path, encoding='latin-1')) and pass the frame to "
            "RunTable.from_frame."
        ) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise RunTableError(
            f"{who}: {name} holds a NUL byte on line {line}: it is binary, not a text table. "
            "Give a .csv, .jsonl or .parquet file."
        )
    return raw


def csv_header(data: bytes, path: Path, who: str) -> list[str]:
    """The names of a CSV file's header, after checking its layout.

    Refuses an empty file, a header without rows, empty or repeated names, and rows with
    more fields than the header (pandas would take the first as an index and shift every
    column) or fewer (pandas would pad them with NaN).
    """
    name = repr(str(path))
    counts, lines = _field_counts(data)
    if counts.size == 0:
        raise RunTableError(f"{who}: {name} is empty: it has no header and no rows.")
    head = data if b'"' in data else _spans(data, lines[:1])[0]
    rows = csv.reader(io.StringIO(head.decode("utf-8"), newline=""))
    header = next(r for r in rows if not _blank(r))
    _check_separator(header, name, who)
    _check_names(header, name, who)
    if counts.size == 1:
        raise RunTableError(
            f"{who}: {name} has a header ({quote_list(header)}) but no rows. Write the runs "
            "below the header."
        )
    bad = np.flatnonzero(counts[1:] != counts[0]) + 1
    if bad.size:
        raise RunTableError(_layout_message(header, counts, lines, bad, name, who))
    return header


def _check_separator(header: list[str], name: str, who: str) -> None:
    """Refuse a file whose fields are separated by semicolons or tabs, not commas."""
    if len(header) != 1:
        return
    for sep, what, extra in (
        (";", "semicolons (as a spreadsheet in a European locale writes CSV)", ", decimal=','"),
        ("\t", "tabs (a TSV file)", ""),
    ):
        if sep in header[0]:
            raise RunTableError(
                f"{who}: {name} has a header of one field, {header[0]!r}: its fields are "
                f"separated by {what}, not commas. Save it as comma-separated CSV, or read "
                f"it with pandas.read_csv(path, sep={sep!r}{extra}) and pass the frame to "
                "RunTable.from_frame."
            )


def _check_names(header: list[str], name: str, who: str) -> None:
    empty = [k + 1 for k, h in enumerate(header) if not h.strip()]
    if empty:
        raise RunTableError(
            f"{who}: {name}: field {empty[0]} of the header has no name (header: "
            f"{', '.join(header)}). Name every column, or remove a trailing comma."
        )
    dup = [h for h in dict.fromkeys(header) if header.count(h) > 1]
    if dup:
        raise RunTableError(
            f"{who}: {name}: the header names {quote_list(dup)} more than once (header: "
            f"{', '.join(header)}); pandas would rename the second to "
            f"{dup[0] + '.1'!r}. Rename or drop the repeated column."
        )


def _layout_message(
    header: list[str], counts: np.ndarray, lines: np.ndarray, bad: np.ndarray, name: str, who: str
) -> str:
    h = int(counts[0])
    more = bad[counts[bad] > h]
    rows = more if more.size else bad
    shown = ", ".join(f"line {lines[i]} ({counts[i]} fields)" for i in rows[:SHOWN])
    extra = rows.size - SHOWN
    shown += f" and {extra} more" if extra > 0 else ""
    head = f"{who}: {name} has a header of {h} fields ({', '.join(header)}) but "
    if more.size:
        return (
            head + f"{_rows_have(more.size)} more: {shown}. pandas would take the first field "
            "as an index and shift every column one place. Add the missing name to the header, "
            'or remove the extra field (quote a value that holds a comma: "a,b").'
        )
    return (
        head + f"{_rows_have(rows.size)} fewer: {shown}. Write a missing value as an empty "
        "field (run,N,L -> a,1e6,) so that every row has as many fields as the header."
    )


def _rows_have(n: int) -> str:
    return "1 row has" if n == 1 else f"{n} rows have"


def _only(keep: bytes) -> bytes:
    """The table for ``bytes.translate`` that deletes every byte but those in `keep`."""
    return bytes(c for c in range(256) if c not in keep)


_ONLY_COMMAS, _ONLY_OPENING = _only(b",\n"), _only(b"[{\n")
# What bytes.strip() removes; str.strip() would remove more (e.g. \x1c).
_WHITE = " \t\n\r\x0b\x0c"


def _lines(data: bytes, reduced: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Per line of `data`: how many bytes `reduced` (`data` less some bytes) keeps of it."""
    r = np.frombuffer(reduced, dtype=np.uint8)
    newlines = np.flatnonzero(r == 10)
    per_line = np.diff(np.r_[-1, newlines, r.size]) - 1
    return per_line, np.arange(1, per_line.size + 1)


def _spans(data: bytes, lines: np.ndarray) -> list[bytes]:
    """The bytes of the given lines (numbered from 1) of `data`."""
    b = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    starts, ends = np.r_[0, newlines + 1], np.r_[newlines, b.size]
    return [data[starts[k - 1] : ends[k - 1]] for k in lines]


def _blank(row: list[str]) -> bool:
    """Whether a row of the csv module is a blank line (pandas skips those)."""
    return not row or (len(row) == 1 and not row[0].strip(_WHITE))


def _field_counts(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Fields on each non-blank line of CSV bytes, and the lines' numbers (from 1).

    Vectorised (commas between newlines) where the text holds no quotes; with quotes, which
    may hide commas and newlines, the csv module counts (about a second per million rows).
    """
    if b'"' in data:
        counts, lines = [], []
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        start = 1
        for row in reader:
            if not _blank(row):
                counts.append(len(row))
                lines.append(start)
            start = reader.line_num + 1
        return np.array(counts, dtype=np.int64), np.array(lines, dtype=np.int64)
    commas, numbers = _lines(data, data.translate(None, _ONLY_COMMAS))
    filled = commas > 0
    maybe = numbers[~filled]
    # pandas skips lines of white space only.
    filled[maybe - 1] = [bool(line.strip()) for line in _spans(data, maybe)]
    return commas[filled] + 1, numbers[filled]


def too_deep(data: bytes, limit: int, *, lines: bool) -> tuple[int, int] | None:
    """The depth and line (from 1) of JSON `data` nested deeper than `limit`, or None.

    With `lines`, each line is a document of its own (JSON Lines). Brackets inside strings
    do not count. Only text with more than `limit` opening brackets (per line, with
    `lines`) is scanned exactly, so a file of flat rows costs a count of its brackets.
    """
    reduced = data.translate(None, _ONLY_OPENING)
    if not lines:
        if len(reduced) - reduced.count(b"\n") <= limit:
            return None
        depth, at = _levels(np.frombuffer(data, dtype=np.uint8))
        return (depth, data.count(b"\n", 0, at) + 1) if depth > limit else None
    opening, numbers = _lines(data, reduced)
    suspects = numbers[opening > limit]
    for k, line in zip(suspects, _spans(data, suspects)):
        depth = _levels(np.frombuffer(line, dtype=np.uint8))[0]
        if depth > limit:
            return depth, int(k)
    return None


def _levels(b: np.ndarray) -> tuple[int, int]:
    """The deepest nesting of brackets outside strings in the bytes `b` of JSON, and where."""
    where = np.flatnonzero((b == 91) | (b == 123) | (b == 93) | (b == 125))
    quotes = np.flatnonzero(b == 34)
    if quotes.size:
        escaped = quotes[(quotes > 0) & (b[np.maximum(quotes - 1, 0)] == 92)]
        if escaped.size:  # rare: an escaped quote; drop strings the exact, slower way
            import re

            text = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', b.tobytes())
            return _levels(np.frombuffer(text, dtype=np.uint8))
        where = where[np.searchsorted(quotes, where) % 2 == 0]
    if where.size == 0:
        return 0, 0
    level = np.cumsum(np.where((b[where] == 91) | (b[where] == 123), 1, -1))
    k = int(np.argmax(level))
    return int(level[k]), int(where[k])
