"""An uploaded .xlsx checked as it is read, before openpyxl builds anything from it.

A workbook is a zip of XML parts, so a few megabytes can expand to gigabytes, and openpyxl builds
some parts whole in memory (the shared strings, the styles, one sheet row at a time, and the gaps
between rows as empty rows). `check_workbook` bounds all of it in one streaming pass:

- the zip's directory: at most MAX_PARTS parts, MAX_EXPANDED_BYTES decompressed in all, and
  MAX_PART_BYTES for any part but a worksheet. Python's zip reader never inflates a part past the
  size its directory declares (a part that lies fails its CRC check), so the sum of the declared
  sizes bounds every byte decompressed afterwards;
- every XML part but the worksheets, read with expat in chunks: no DTD or entity (an XML bomb),
  at most MAX_PART_ELEMENTS elements (openpyxl builds these parts as trees), and at most
  MAX_SHARED_STRINGS shared strings;
- the first worksheet (the only one read), also streamed: rows by position (blank ones included,
  so a sheet cannot reach row 1,048,576), cells per row, values only in the first MAX_COLUMNS
  columns, MAX_CELL_CHARS per cell (a shared string counts as its length) and MAX_TEXT_CHARS in all.

Each limit stops the pass the moment it is crossed; openpyxl then reads a workbook whose every
dimension is known to be small. Peak memory: bench/bench_upload_limits.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.parsers import expat

from finance_core.untrusted import quoted

from adapters.upload_limits import (
    MAX_CELL_CHARS,
    MAX_CELLS_PER_ROW,
    MAX_COLUMNS,
    MAX_EXPANDED_BYTES,
    MAX_PART_BYTES,
    MAX_PART_ELEMENTS,
    MAX_PARTS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_TEXT_CHARS,
)

WORKSHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SHARED_STRINGS_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CONTENT_TYPES_PART = "[Content_Types].xml"
_CHUNK = 64 * 1024
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")
# The namespaces expat reports before each local name (namespace processing on, separator ' ').
_SEP = " "


class WorkbookRefused(Exception):
    """The workbook breaks a limit; `status` is the HTTP status (413 too large, 400 malformed)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def check_archive(archive: zipfile.ZipFile) -> None:
    """The zip directory's limits, before any part is decompressed."""
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise WorkbookRefused(413, f"the workbook has {len(parts):,} parts; at most {MAX_PARTS:,}")
    expanded = sum(part.file_size for part in parts)
    if expanded > MAX_EXPANDED_BYTES:
        raise WorkbookRefused(
            413,
            f"the workbook expands to {expanded:,} bytes; the limit is {MAX_EXPANDED_BYTES:,} "
            f"({MAX_EXPANDED_BYTES // 2**20} MiB): split it or save it as CSV",
        )


def check_parts(archive: zipfile.ZipFile) -> None:
    """Every XML part, streamed: the shared strings first (a cell's length may be a shared string's),
    then every other part, the worksheets with the sheet limits (openpyxl scans each worksheet for
    its dimensions when it opens the workbook, not only the first)."""
    worksheets: set[str] = set()
    shared_strings: set[str] = set()
    content_types = _member(archive, CONTENT_TYPES_PART)
    if content_types is not None:
        overrides = _ContentTypes()
        _stream(archive, content_types, overrides)
        worksheets = {name for name, kind in overrides.types.items() if kind == WORKSHEET_CONTENT_TYPE}
        shared_strings = {name for name, kind in overrides.types.items() if kind == SHARED_STRINGS_CONTENT_TYPE}
    parts = archive.infolist()
    lengths: list[int] = []
    for part in parts:
        if part.filename not in worksheets and part.file_size > MAX_PART_BYTES:
            raise WorkbookRefused(
                413,
                f"the workbook part {quoted(part.filename)} expands to {part.file_size:,} bytes; at most "
                f"{MAX_PART_BYTES:,} for a part that is not a worksheet",
            )
        if part.filename in shared_strings:
            table = _SharedStrings()
            _stream(archive, part, table)
            lengths += table.lengths
    for part in parts:
        name = part.filename
        if name in worksheets:
            _stream(archive, part, _SheetLimits(tuple(lengths)))
        elif name.endswith((".xml", ".rels")) and name != CONTENT_TYPES_PART and name not in shared_strings:
            _stream(archive, part, _ElementBudget(name))


# --------------------------------------------------------------------------- streaming


class _Handler:
    """Expat callbacks; raising WorkbookRefused inside one stops the parse at once."""

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens."""

    def end(self, name: str) -> None:
        """An element closes."""

    def text(self, data: str) -> None:
        """Character data (in pieces, as expat delivers it)."""


def _member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    try:
        return archive.getinfo(name)
    except KeyError:
        return None


def _stream(archive: zipfile.ZipFile, part: zipfile.ZipInfo, handler: _Handler) -> None:
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.StartElementHandler = lambda name, attrs: handler.start(_local(name), attrs)
    parser.EndElementHandler = lambda name: handler.end(_local(name))
    parser.CharacterDataHandler = handler.text
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        # The zip reader stops at the part's declared size (checked against the limits) and fails
        # the CRC check of a part that is larger than declared.
        with archive.open(part) as source:
            while chunk := source.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except WorkbookRefused as exc:
        if isinstance(handler, _SheetLimits):
            raise WorkbookRefused(exc.status, f"{exc.message} (worksheet {quoted(part.filename)})") from None
        raise
    except expat.ExpatError as exc:
        raise WorkbookRefused(400, f"the workbook part {quoted(part.filename)} is not well-formed XML: {exc}") from None
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise WorkbookRefused(400, f"the workbook part {quoted(part.filename)} cannot be decompressed: {exc}") from None


def _refuse_dtd(*_: Any) -> None:
    raise WorkbookRefused(400, "the workbook declares an XML DTD or entity, which no spreadsheet part has")


def _local(name: str) -> str:
    return name.rsplit(_SEP, 1)[-1]


class _ElementBudget(_Handler):
    def __init__(self, part: str):
        self.part = part
        self.elements = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_PART_ELEMENTS:
            raise WorkbookRefused(
                413, f"the workbook part {quoted(self.part)} has more than {MAX_PART_ELEMENTS:,} XML elements"
            )


class _ContentTypes(_ElementBudget):
    def __init__(self) -> None:
        super().__init__(CONTENT_TYPES_PART)
        self.types: dict[str, str] = {}

    def start(self, name: str, attributes: dict[str, str]) -> None:
        super().start(name, attributes)
        if name == "Override" and "PartName" in attributes:
            self.types[attributes["PartName"].lstrip("/")] = attributes.get("ContentType", "")


class _SharedStrings(_Handler):
    """Counts the shared strings and measures each (rich text runs add up; phonetic hints do not)."""

    def __init__(self) -> None:
        self.lengths: list[int] = []
        self.in_text = False
        self.in_phonetic = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "si":
            if len(self.lengths) == MAX_SHARED_STRINGS:
                raise WorkbookRefused(
                    413, f"the workbook has more than {MAX_SHARED_STRINGS:,} shared strings: split it"
                )
            self.lengths.append(0)
        elif name == "rPh":
            self.in_phonetic = True
        elif name == "t":
            self.in_text = not self.in_phonetic

    def end(self, name: str) -> None:
        if name == "rPh":
            self.in_phonetic = False
        elif name == "t":
            self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text and self.lengths:
            # Bounded by the part's size; a long one only matters if a cell of the sheet uses it.
            self.lengths[-1] += len(data)


class _SheetLimits(_Handler):
    def __init__(self, shared_string_lengths: tuple[int, ...]):
        self.shared = shared_string_lengths
        self.row = 0
        self.cells_in_row = 0
        self.column = 0
        self.cell_type = ""
        self.cell_chars = 0
        self.cell_has_value = False
        self.in_value = False
        self.value = ""
        self.total_chars = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "row":
            position = attributes.get("r")
            self.row = int(position) if position and position.isdigit() and len(position) < 9 else self.row + 1
            if self.row > MAX_SHEET_ROWS:
                raise WorkbookRefused(
                    413,
                    f"the file has more than {MAX_SHEET_ROWS - 1} data rows (blank rows included: the sheet "
                    f"reaches row {self.row:,}): split it",
                )
            self.cells_in_row = 0
            self.column = 0
        elif name == "c":
            self.cells_in_row += 1
            if self.cells_in_row > MAX_CELLS_PER_ROW:
                raise WorkbookRefused(413, f"row {self.row:,} has more than {MAX_CELLS_PER_ROW} cells")
            self.column = _column(attributes.get("r"), self.column + 1)
            self.cell_type = attributes.get("t", "n")
            self.cell_chars = 0
            self.cell_has_value = False
        elif name in ("v", "t", "f"):
            self.in_value = name != "f"
            self.value = ""

    def text(self, data: str) -> None:
        if not self.in_value:
            return
        self.cell_has_value = True
        self._count(len(data))
        if self.cell_type == "s" and len(self.value) < 12:
            self.value += data

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self.in_value = False
            if name == "v" and self.cell_type == "s":
                index = int(self.value) if self.value.strip().isdigit() else -1
                if not 0 <= index < len(self.shared):
                    raise WorkbookRefused(400, f"row {self.row:,} refers to a shared string that does not exist")
                self._count(self.shared[index] - self.cell_chars)
        elif name == "c" and self.cell_has_value and self.column > MAX_COLUMNS:
            raise WorkbookRefused(
                400, f"row {self.row:,} has a value in column {self.column:,}; at most {MAX_COLUMNS} columns"
            )

    def _count(self, chars: int) -> None:
        self.cell_chars += chars
        self.total_chars += chars
        if self.cell_chars > MAX_CELL_CHARS:
            raise WorkbookRefused(
                413,
                f"row {self.row:,} column {self.column:,} holds more than {MAX_CELL_CHARS:,} characters; "
                f"a cell holds at most {MAX_CELL_CHARS:,}",
            )
        if self.total_chars > MAX_TEXT_CHARS:
            raise WorkbookRefused(413, f"the sheet holds more than {MAX_TEXT_CHARS:,} characters in all: split it")


def _column(reference: str | None, default: int) -> int:
    """The column number of a cell reference such as 'AB12' (cells may omit it: the next column)."""
    match = _CELL_REF.match(reference or "")
    if match is None:
        return default
    number = 0
    for letter in match.group(1):
        number = number * 26 + ord(letter) - 64
    return number


def check_workbook(body: bytes) -> None:
    """The workbook's zip directory, then every part, within the limits; WorkbookRefused otherwise."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise WorkbookRefused(400, f"the file is not a readable .xlsx workbook: {quoted(str(exc), 200)}") from None
    with archive:
        check_archive(archive)
        check_parts(archive)
