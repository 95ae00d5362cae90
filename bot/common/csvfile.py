"""Spreadsheets in and out.

Reading files people export by hand: one clear line for whatever is wrong. Every problem
names the file, the line and, where it helps, the column, e.g.
``people.csv line 7, column "level": "abc" is not a whole number from 1 to 9``.

Writing: every CSV the app writes goes through :func:`write_csv`, whose :func:`safe_cell`
keeps a department such as ``=HYPERLINK(...)`` from running as a formula in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Files are read with bounded memory: a line or a file beyond these is not a CSV export.
MAX_LINE_CHARS = 65_536
MAX_TABLE_BYTES = 64 * 2**20  # read whole (HR imports, title tables)
MAX_STREAM_BYTES = 1024 * 2**20  # read line by line (preview's members and history)
# Control characters other than tab, CR and LF: a NUL cannot even be stored by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: "CSV UTF-8"; or iconv -t UTF-8)'


class InputError(Exception):
    """A problem with a file the user gave; ``str()`` is the one line they see."""

    def __init__(self, file: str, line: int | None, column: str | None, message: str):
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.message = message

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f" line {self.line}"
        if self.column:
            where += f', column "{self.column}"'
        # a quoted cell may hold line breaks; shown escaped, the answer stays one line
        return f"{where}: {self.message}".replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True)
class Record:
    """One data row: its first physical line in the file and its cells by column name."""

    line: int
    cells: dict[str, str]
    extra: int = 0  # cells beyond the header's columns
    missing: int = 0  # the header's last columns the row has no cell for (not empty cells)


def column_key(name: str) -> str:
    """``"User ID"``, ``"user-id"`` and ``" user_id "`` all name the same column."""
    return re.sub(r"[\s\-.]+", "_", name.strip().lower()).strip("_")


def _megabytes(size: int) -> str:
    return f"{size // 2**20:,} MB"


def check_line(
    file: str,
    number: int,
    line: str,
    header: list[str] | None = None,
    delimiter: str = ",",
) -> None:
    """Refuse a physical line that is too long or holds a control character, naming the
    line, the field (when the header is known) and the character's position."""
    if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
        raise InputError(
            file, number, None,
            f"is longer than {MAX_LINE_CHARS:,} characters: is this really a CSV file?",
        )  # fmt: skip
    bad = _CONTROL.search(line)
    if bad is None:
        return
    field = None
    if header:
        before = next(csv.reader([line[: bad.start()]], delimiter=delimiter), [""]) or [""]
        field = header[len(before) - 1] if len(before) <= len(header) else None
    raise InputError(
        file, number, field,
        f"has a control character (U+{ord(bad.group()):04X}) at character {bad.start() + 1}: "
        "remove it and save the file again",
    )  # fmt: skip


def read_capped(path: str | Path, limit: int = MAX_TABLE_BYTES) -> bytes:
    """A file's bytes, never more than ``limit`` in memory (``/dev/zero`` is refused)."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(name, None, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(name, None, None, "is a directory, not a CSV file") from None
    except OSError as error:
        raise InputError(name, None, None, f"cannot be read ({error.strerror})") from None
    if len(data) > limit:
        raise InputError(name, None, None, f"is larger than {_megabytes(limit)}: split it up")
    return data


def stream_lines(
    handle: TextIO, file: str, header: list[str], limit: int = MAX_STREAM_BYTES
) -> Iterator[str]:
    """The lines of an open text file (newline=""), each checked by :func:`check_line`, read
    without ever holding more than one line; an InputError past ``limit``. ``header`` is
    filled in by the caller once it has read the header row, to name fields in errors."""
    total = 0
    number = 0
    while True:
        line = handle.readline(MAX_LINE_CHARS + 2)
        if not line:
            return
        number += 1
        total += len(line)
        if total > limit:
            raise InputError(file, None, None, f"is larger than {_megabytes(limit)}: split it up")
        check_line(file, number, line, header)
        yield line


def decode(path: str | Path, data: bytes) -> str:
    """Text of a CSV file, or an InputError saying which encoding it is and how to fix it."""
    name = str(path)
    start = data[:200]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(start) >= 2 and start.count(b"\x00") * 4 >= len(start)
    ):
        raise InputError(name, None, None, f"is UTF-16 encoded, not UTF-8: {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise InputError(
            name,
            line,
            None,
            f"is not UTF-8 (byte 0x{byte:02x}, perhaps Latin-1 or Windows-1252): {SAVE_AS_UTF8}",
        ) from None


def _delimiter(header: str) -> str:
    """Comma by default; semicolon or tab when the header uses those instead (European Excel)."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] and counts[","] == 0 else ","


def read_table(path: str | Path, data: bytes | None = None) -> tuple[list[str], list[Record]]:
    """Header (column keys) and non-blank rows of a CSV file, with physical line numbers.

    Lines starting with ``#`` before or between rows are comments. Raises InputError for an
    unreadable, empty or header-only-broken file.
    """
    name = str(path)
    if data is None:
        data = read_capped(path)
    elif len(data) > MAX_TABLE_BYTES:
        raise InputError(
            name, None, None, f"is larger than {_megabytes(MAX_TABLE_BYTES)}: split it up"
        )
    text = decode(name, data)
    if not text.strip():
        raise InputError(name, None, None, "is empty: expected a header row, then one row a line")
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip() and not _comment(line)), None)
    if first is None:
        raise InputError(name, None, None, "has no header row, only comments")
    delimiter = _delimiter(lines[first])
    for number, line in enumerate(lines[: first + 1], start=1):
        check_line(name, number, line)
    reader = csv.reader(io.StringIO("".join(lines[first:])), delimiter=delimiter, strict=True)
    try:
        raw_header = next(reader)
        header = [column_key(c) for c in raw_header]
        for number, line in enumerate(lines[first + 1 :], start=first + 2):
            check_line(name, number, line, header, delimiter)
        header_line = first + 1
        for i, key in enumerate(header):
            if not key:
                raise InputError(
                    name, header_line, None, f"column {i + 1} of the header has no name"
                )
            if header.index(key) != i:
                raise InputError(
                    name, header_line, raw_header[i].strip(), "appears twice in the header"
                )
        records = []
        offset = first  # physical line = reader.line_num + offset
        while True:
            start = reader.line_num + 1 + offset
            try:
                row = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in row) or _comment(row[0]):
                continue
            cells = {key: (row[i].strip() if i < len(row) else "") for i, key in enumerate(header)}
            extra, missing = max(0, len(row) - len(header)), max(0, len(header) - len(row))
            records.append(Record(start, cells, extra, missing))
    except csv.Error as error:
        raise InputError(
            name, reader.line_num + first, None, f"is not valid CSV ({error})"
        ) from None
    return header, records


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs: text that would start a formula gets a
    leading ``'``; numbers (also as text, like ``-3``) stay numbers and None is empty."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, int | float) or _NUMBER.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(stream: TextIO, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A header and rows as CSV, every cell through :func:`safe_cell`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
