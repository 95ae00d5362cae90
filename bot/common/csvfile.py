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
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TextIO

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Files are read with bounded memory: a line or a file beyond these is not a CSV export.
MAX_LINE_CHARS = 65_536
MAX_TABLE_BYTES = 64 * 2**20  # read whole (HR imports, title tables)
MAX_STREAM_BYTES = 1024 * 2**20  # read line by line (preview's members and history)
# Control characters other than tab, CR and LF: a NUL cannot even be stored by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_UNDECODED = re.compile(r"[\udc80-\udcff]")  # a byte that is not UTF-8 (surrogateescape)
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


class Record(NamedTuple):
    """One data row: its first physical line in the file and its cells by column name.

    A tuple, not a frozen dataclass: ``preview`` makes one per history row, a million or
    more, and a frozen dataclass takes seconds longer to make that many."""

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


def _open(path: str | Path, file: str) -> io.BufferedReader:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(file, None, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(file, None, None, "is a directory, not a CSV file") from None
    except OSError as error:
        raise InputError(file, None, None, f"cannot be read ({error.strerror})") from None


def read_capped(path: str | Path, limit: int = MAX_TABLE_BYTES) -> bytes:
    """A file's bytes, never more than ``limit`` in memory (``/dev/zero`` is refused)."""
    name = str(path)
    with _open(path, name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(name, None, None, f"is larger than {_megabytes(limit)}: split it up")
    return data


def stream_lines(path: str | Path, file: str, limit: int = MAX_STREAM_BYTES) -> Iterator[str]:
    """The lines of a file decoded as :func:`decode` does, with the same answers for UTF-16
    or Latin-1, but one line at a time: a file up to ``limit`` never has to fit in memory."""
    with _open(path, file) as binary:
        if _utf16(binary.peek(200)[:200]):
            raise InputError(file, None, None, f"is UTF-16 encoded, not UTF-8: {SAVE_AS_UTF8}")
        # a byte that is not UTF-8 is kept (as a surrogate) until its line number is known
        handle = io.TextIOWrapper(binary, "utf-8-sig", errors="surrogateescape", newline="")
        total = 0
        for number in itertools.count(1):
            line = handle.readline(MAX_LINE_CHARS + 2)
            if not line:
                return
            total += len(line)
            if total > limit:
                raise InputError(
                    file, None, None, f"is larger than {_megabytes(limit)}: split it up"
                )
            bad = None if line.isascii() else _UNDECODED.search(line)
            if bad:
                raise _not_utf8(file, number, ord(bad.group()) - 0xDC00)
            yield line


def _utf16(start: bytes) -> bool:
    return start.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(start) >= 2 and start.count(b"\x00") * 4 >= len(start)
    )


def _not_utf8(file: str, line: int, byte: int) -> InputError:
    return InputError(
        file, line, None,
        f"is not UTF-8 (byte 0x{byte:02x}, perhaps Latin-1 or Windows-1252): {SAVE_AS_UTF8}",
    )  # fmt: skip


def decode(path: str | Path, data: bytes) -> str:
    """Text of a CSV file, or an InputError saying which encoding it is and how to fix it."""
    name = str(path)
    if _utf16(data[:200]):
        raise InputError(name, None, None, f"is UTF-16 encoded, not UTF-8: {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _not_utf8(name, line, data[error.start]) from None


def _delimiter(header: str) -> str:
    """Comma by default; semicolon or tab when the header uses those instead (European Excel)."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] and counts[","] == 0 else ","


def read_table(
    path: str | Path, data: bytes | None = None
) -> tuple[list[str], int, list[Record]]:
    """Header (column keys), its line number (comments may come before it) and the non-blank
    rows of a CSV file, with physical line numbers (see :func:`parse_table`)."""
    name = str(path)
    if data is None:
        data = read_capped(path)
    elif len(data) > MAX_TABLE_BYTES:
        raise InputError(
            name, None, None, f"is larger than {_megabytes(MAX_TABLE_BYTES)}: split it up"
        )
    header, header_line, records = parse_table(
        name, decode(name, data).splitlines(keepends=True)
    )
    return header, header_line, list(records)


class _Lines:
    """Physical lines on their way to csv.reader: counted, and checked by :func:`check_line`
    (with the header's fields once it is known)."""

    def __init__(self, file: str, lines: Iterable[str]) -> None:
        self.file, self.lines = file, iter(lines)
        self.number = 0
        self.header: list[str] | None = None
        self.delimiter = ","

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number += 1
        check_line(self.file, self.number, line, self.header, self.delimiter)
        return line


def parse_table(file: str, lines: Iterable[str]) -> tuple[list[str], int, Iterator[Record]]:
    """Header (column keys), its line number and the non-blank rows of CSV text: comma,
    semicolon or tab separated, strictly quoted. The rows are read as they are asked for, so
    one reader serves a file held whole (the HR import) and one streamed (``preview``).

    Lines starting with ``#`` before or between rows are comments. Raises InputError for an
    empty or header-only-broken file, and, while rows are read, for text that is not CSV.
    """
    source = _Lines(file, lines)
    found_text = False
    for line in source:
        found_text = found_text or bool(line.strip())
        if line.strip() and not _comment(line):
            break
    else:
        if found_text:
            raise InputError(file, None, None, "has no header row, only comments")
        raise InputError(file, None, None, "is empty: expected a header row, then one row a line")
    header_line = source.number
    source.delimiter = _delimiter(line)
    reader = csv.reader(itertools.chain([line], source), delimiter=source.delimiter, strict=True)
    try:
        raw_header = next(reader)
    except csv.Error as error:
        raise InputError(file, source.number, None, f"is not valid CSV ({error})") from None
    header = [column_key(c) for c in raw_header]
    # Excel saves ",," after the data once a cell right of it was touched: unnamed columns at
    # the end are dropped here, and refused by _records in a row that has a value in one.
    named = len(header)
    while named > 1 and not header[named - 1]:
        named -= 1
    header, unnamed = header[:named], len(header) - named
    source.header = header
    for i, key in enumerate(header):
        if not key:
            raise InputError(file, header_line, None, f"column {i + 1} of the header has no name")
        if header.index(key) != i:
            raise InputError(
                file, header_line, raw_header[i].strip(), "appears twice in the header"
            )
    return header, header_line, _records(file, header, unnamed, reader, source)


def _records(
    file: str, header: list[str], unnamed: int, reader: Iterator[list[str]], source: _Lines
) -> Iterator[Record]:
    """The rows; ``unnamed`` empty-named columns after the header's last name are dropped."""
    named = len(header)
    try:
        while True:
            start = source.number + 1
            row = next(reader, None)
            if row is None:
                return
            cells = [unquote_cell(cell.strip()) for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            for i, cell in enumerate(cells[named : named + unnamed], start=named + 1):
                if cell:
                    raise InputError(
                        file, start, None,
                        f"has a value in column {i}, which has no name in the header: name the "
                        "column, or empty it",
                    )  # fmt: skip
            del cells[named : named + unnamed]
            missing = len(header) - len(cells)
            cells += [""] * missing
            by_column = dict(zip(header, cells, strict=False))  # extra cells are only counted
            yield Record(start, by_column, max(0, -missing), max(0, missing))
    except csv.Error as error:  # named where the row begins: an unclosed quote opens there
        hint = ": a quoted cell here is never closed" if "end of data" in str(error) else ""
        raise InputError(file, start, None, f"is not valid CSV ({error}){hint}") from None


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs: text that would start a formula gets a
    leading ``'``; numbers (also as text, like ``-3``) stay numbers and None is empty. So
    does text such as ``'=x``: :func:`unquote_cell` takes one quote away, and must give
    back exactly the value."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, int | float) or _NUMBER.fullmatch(text):
        return text
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def unquote_cell(text: str) -> str:
    """A cell as it was before :func:`safe_cell` wrote it: the one ``'`` it puts before a
    formula's first character (or before quotes that precede one) goes, so an export imports
    back as it was, not with the quote that was only there for spreadsheets."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text


def write_csv(stream: TextIO, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A header and rows as CSV, every cell through :func:`safe_cell`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
