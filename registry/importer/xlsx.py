"""Read an XLSX workbook's sheet as rows of text, after checking what it would expand to.

An XLSX file is a zip of XML parts, and a small one can expand to gigabytes: 2.1 MB of
a million repeated 1 KB shared strings took a worker to 2 GB (issue 18, finding 3),
because openpyxl holds every shared string (and an element per string) in memory even in
read-only mode. So before openpyxl parses anything, the zip's own directory is checked:
the uncompressed size of every part (zipfile stops at the size the directory declares, so
it cannot lie), its ratio to the compressed size, their total, and the number of shared
strings. Then the sheet is streamed in read-only mode, as wide as its header whatever
size the sheet claims, and any damage found on the way is a ReadError naming the file as
the contributor named it, never a 500 or a path of the server.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from registry.importer.readers import ReadError, Table, cell_text, check_columns

MAX_PARTS = 10_000
MAX_TOTAL = 512 * 1024 * 1024  # bytes of all parts uncompressed (a million-row sheet is about 300 MB)
MAX_RATIO = 100  # uncompressed / compressed, for a part over RATIO_FROM (XML compresses 5 to 20 times)
RATIO_FROM = 1024 * 1024
MAX_PART = 16 * 1024 * 1024  # bytes of a part other than a sheet or the shared strings (parsed whole)
MAX_SHARED_BYTES = 64 * 1024 * 1024  # bytes of the shared strings (held in memory whole)
MAX_SHARED_STRINGS = 1_100_000  # a full sheet of distinct names, and some more
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STRING_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
# Errors openpyxl and the XML and zip readers raise on a damaged workbook.
DAMAGED = (zipfile.BadZipFile, zlib.error, ParseError, KeyError, ValueError, TypeError, IndexError, AttributeError,
           EOFError, OSError, AssertionError)  # fmt: skip


# What a contributor can do about a damaged workbook; the parser's detail follows in brackets.
UNREADABLE = "this is not an Excel workbook the registry can read: open it and save it again as .xlsx, or as CSV"


def read_xlsx(path: Path, name: str, sheet: str | None) -> Table:
    """Check the workbook's expansion, then open `sheet` (the first by default) read-only."""
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    check_expansion(path, name)
    try:
        # data_only: cached cell values are read, formulas are never evaluated.
        book = load_workbook(path, read_only=True, data_only=True)
    except (*DAMAGED, SyntaxError) as e:
        raise ReadError(f"{name}: {UNREADABLE} (detail: {_reason(e, path)})") from e
    if sheet and sheet not in book.sheetnames:
        raise ReadError(f"{name}: no sheet named '{sheet}' (sheets: {', '.join(book.sheetnames)})")
    if not book.sheetnames:
        raise ReadError(f"{name}: the workbook has no sheet")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    header = _first_row(worksheet, path, name)
    columns = check_columns([cell_text(h).strip() for h in header], name)
    return Table(columns, _rows(book, worksheet, columns, path, name))


def _first_row(worksheet: Any, path: Path, name: str) -> tuple[Any, ...]:
    try:
        # The size a sheet claims (its <dimension>) is not trusted: 'A1:XFD1048576' would pad
        # every row to 16,384 cells and add rows up to a million.
        worksheet.reset_dimensions()
        header = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
    except (*DAMAGED, SyntaxError) as e:
        raise ReadError(f"{name}: the sheet's first row cannot be read ({_reason(e, path)})") from e
    if not header:
        raise ReadError(f"{name}: the sheet is empty")
    return tuple(header)


def _rows(book: Any, worksheet: Any, columns: list[str], path: Path, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    width, line, skipped = len(columns), 1, None
    try:
        for line, cells in enumerate(worksheet.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
            if cells is skipped:
                continue  # openpyxl gives the same empty row for every row the sheet leaves out
            texts = [cell_text(c) for c in cells[:width]]
            if any(texts):
                yield line, dict(zip(columns, texts + [""] * (width - len(texts)), strict=True))
            else:
                skipped = cells
    except (*DAMAGED, SyntaxError) as e:
        raise ReadError(f"{name}: the sheet cannot be read after row {line} ({_reason(e, path)})") from e
    finally:
        book.close()


def check_expansion(path: Path, name: str) -> None:
    """Refuse a workbook whose parts would expand past the caps, before anything is parsed."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise ReadError(f"{name}: the workbook has {len(parts):,} parts, more than {MAX_PARTS:,}")
            total = sum(p.file_size for p in parts)
            if total > MAX_TOTAL:
                raise ReadError(f"{name}: the workbook would expand to {_mb(total)}, more than {_mb(MAX_TOTAL)}")
            for part in parts:
                if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
                    raise ReadError(
                        f"{name}: the part {part.filename} expands {part.file_size // max(part.compress_size, 1):,}"
                        f" times (at most {MAX_RATIO}): a zip bomb, not a spreadsheet"
                    )
            sheets, strings = _special_parts(archive, path, name)
            for part in parts:
                limit = MAX_SHARED_BYTES if part.filename in strings else MAX_PART
                if part.filename not in sheets and part.file_size > limit:
                    size = _mb(part.file_size)
                    raise ReadError(f"{name}: the part {part.filename} would expand to {size}, more than {_mb(limit)}")
            for part_name in strings:
                _count_strings(archive, part_name, name)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ReadError(f"{name}: {UNREADABLE} (detail: {_reason(e, path)})") from e


def _special_parts(archive: zipfile.ZipFile, path: Path, name: str) -> tuple[set[str], set[str]]:
    """The sheets and the shared strings, as openpyxl finds them: from [Content_Types].xml."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
    from openpyxl.xml.functions import fromstring

    try:
        info = archive.getinfo(ARC_CONTENT_TYPES)
        if info.file_size > MAX_PART:
            raise ReadError(f"{name}: the part {ARC_CONTENT_TYPES} would expand to {_mb(info.file_size)}")
        manifest = Manifest.from_tree(fromstring(archive.read(info)))  # type: ignore[arg-type]  # as openpyxl does
    except (*DAMAGED, SyntaxError) as e:
        if isinstance(e, ReadError):
            raise
        raise ReadError(f"{name}: {UNREADABLE} (detail: no readable [Content_Types].xml, {_reason(e, path)})") from e
    overrides = (manifest.Override if manifest is not None else None) or []
    sheets = {o.PartName.lstrip("/") for o in overrides if o.ContentType == SHEET_TYPE}
    strings = {o.PartName.lstrip("/") for o in overrides if o.ContentType == SHARED_STRINGS}
    return sheets, strings


def _count_strings(archive: zipfile.ZipFile, part_name: str, name: str) -> None:
    """Count the shared strings by their tags, streaming (each costs openpyxl about 200 bytes)."""
    if part_name not in archive.NameToInfo:
        return  # openpyxl reports the missing part
    count, tail = 0, b""
    with archive.open(part_name) as part:
        while chunk := part.read(1 << 20):
            data = tail + chunk
            count += len(STRING_ITEM.findall(data))
            tail = data[-32:]
            count -= len(STRING_ITEM.findall(tail))  # the tail is counted again with the next chunk
            if count > MAX_SHARED_STRINGS:
                break
    count += len(STRING_ITEM.findall(tail))
    if count > MAX_SHARED_STRINGS:
        raise ReadError(f"{name}: the workbook has more than {MAX_SHARED_STRINGS:,} shared strings")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def _reason(error: BaseException, path: Path) -> str:
    """The error in a few words, without the server's path of the file."""
    text = str(error).replace(str(path.parent), "").replace(str(path), "the file")[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
