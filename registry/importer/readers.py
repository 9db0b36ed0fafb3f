"""Read a leaked list (CSV, XLSX, JSON, NDJSON) as numbered rows of text cells,
streaming where the format allows."""

from __future__ import annotations

import codecs
import csv
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json", ".ndjson": "ndjson",
           ".jsonl": "ndjson"}  # fmt: skip
DETECT_BYTES = 64 * 1024
C1_BYTES = re.compile(rb"[\x80-\x9f]")  # Windows-1252 punctuation (curly quotes, dashes, euro)


class ReadError(Exception):
    """The file cannot be read as the format it claims; the message says where and why."""


@dataclass(frozen=True)
class Table:
    """A file opened for reading: its columns, its encoding, and its rows (read lazily)."""

    columns: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]
    encoding: str | None = None
    delimiter: str | None = None


def detect_format(path: Path, declared: str | None = None) -> str:
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt not in set(FORMATS.values()):
        raise ReadError(f"{path.name}: unknown format '{declared or path.suffix}' (use csv, xlsx, json or ndjson)")
    return fmt


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such; else Windows-1252
    when it uses that code page's punctuation bytes (0x80-0x9F); else Latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        head = f.read(DETECT_BYTES)
        if b"\x00" in head:
            raise ReadError(
                f"{path.name}: not a text file in a supported encoding (UTF-16 or binary?): save it as UTF-8"
            )
        f.seek(0)
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            f.seek(0)
            data = f.read()
            return "cp1252" if C1_BYTES.search(data) and _is_cp1252(data) else "latin-1"
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def read_table(path: Path, fmt: str | None = None, json_path: str | None = None, sheet: str | None = None) -> Table:
    """Open `path` and return its columns and a lazy iterator of (row number, cells)."""
    if not path.exists():
        raise ReadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ReadError(f"{path.name}: the file is empty")
    kind = detect_format(path, fmt)
    if kind == "csv":
        return _read_csv(path)
    if kind == "xlsx":
        return _read_xlsx(path, sheet)
    if kind == "json":
        return _read_json(path, json_path)
    return _read_ndjson(path)


def _read_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(DETECT_BYTES)
    delimiter = _delimiter(sample)
    with path.open(encoding=encoding, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter, strict=True))
        except (StopIteration, csv.Error) as e:
            raise ReadError(f"{path.name}: no header row ({e})") from e
    columns = _check_columns([h.strip() for h in header], path.name)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        # The file is opened only when rows are read, and closed when they end.
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            next(reader)
            line = 1
            try:
                for line, cells in enumerate(reader, start=2):
                    if len(cells) != len(columns):
                        if not any(c.strip() for c in cells):
                            continue  # a blank line
                        raise ReadError(
                            f"{path.name}: row {line} has {len(cells)} cells, the header has {len(columns)}"
                        )
                    yield line, dict(zip(columns, cells, strict=True))
            except csv.Error as e:
                raise ReadError(f"{path.name}: row {line + 1}: {e} (an unclosed quote?)") from e

    return Table(columns, rows(), encoding, delimiter)


def _delimiter(sample: str) -> str:
    """The delimiter that splits the header and the first rows into the same number of cells."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    best, best_width = ",", 1
    for candidate in (",", ";", "\t", "|"):
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = candidate, width
    if best_width == 1:  # no candidate agrees on every line (a quoted newline?): ask the sniffer
        try:
            return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            return ","
    return best


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: cached cell values are read, formulas are never evaluated.
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        raise ReadError(f"{path.name}: not a readable XLSX workbook ({type(e).__name__}: {e})") from e
    if sheet and sheet not in book.sheetnames:
        raise ReadError(f"{path.name}: no sheet named '{sheet}' (sheets: {', '.join(book.sheetnames)})")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    values = worksheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        raise ReadError(f"{path.name}: the sheet is empty")
    columns = _check_columns([_cell_text(h).strip() for h in header], path.name)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for line, cells in enumerate(values, start=2):
            texts = [_cell_text(c) for c in cells][: len(columns)]
            if any(texts):
                yield line, dict(zip(columns, texts + [""] * (len(columns) - len(texts)), strict=True))
        book.close()

    return Table(columns, rows())


MAX_CELL = 128 * 1024  # the csv module's own limit per field


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > MAX_CELL:
        raise ReadError(f"a cell holds {len(value):,} characters, more than {MAX_CELL:,}: not a client list")
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json(path: Path, json_path: str | None) -> Table:
    try:
        data = json.loads(path.read_text(encoding=detect_encoding(path)))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReadError(f"{path.name}: not valid JSON ({e})") from e
    except RecursionError as e:
        raise ReadError(f"{path.name}: JSON nested too deeply to be a list of records") from e
    for step in (json_path or "").split(".") if json_path else []:
        if not isinstance(data, dict) or step not in data:
            raise ReadError(f"{path.name}: the path '{json_path}' finds nothing (no key '{step}')")
        data = data[step]
    if not isinstance(data, list):
        raise ReadError(f"{path.name}: expected an array of records{' at ' + json_path if json_path else ''}")
    return _records_table(path.name, enumerate(data, start=1))


def _read_ndjson(path: Path) -> Table:
    handle = path.open(encoding=detect_encoding(path))

    def records() -> Iterator[tuple[int, Any]]:
        with handle:
            for line, text in enumerate(handle, start=1):
                if text.strip():
                    try:
                        yield line, json.loads(text)
                    except json.JSONDecodeError as e:
                        raise ReadError(f"{path.name}: line {line}: not valid JSON ({e.msg})") from e
                    except RecursionError as e:
                        raise ReadError(f"{path.name}: line {line}: JSON nested too deeply to be a record") from e

    return _records_table(path.name, records())


def _records_table(name: str, records: Iterator[tuple[int, Any]]) -> Table:
    """Columns are the keys of the first record; values become text (nested values as JSON)."""
    first = next(records, None)
    if first is None:
        raise ReadError(f"{name}: no records")
    if not isinstance(first[1], dict):
        raise ReadError(f"{name}: record {first[0]} is not an object")
    columns = _check_columns(list(first[1]), name)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, record in _chain(first, records):
            if not isinstance(record, dict):
                raise ReadError(f"{name}: record {number} is not an object")
            yield number, {c: _json_text(record.get(c)) for c in columns}

    return Table(columns, rows())


def _chain(first: tuple[int, Any], rest: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    yield first
    yield from rest


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _check_columns(columns: list[str], name: str) -> list[str]:
    if not any(columns):
        raise ReadError(f"{name}: the header row is empty")
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise ReadError(f"{name}: the column '{column}' appears twice in the header")
        seen.add(column)
    return columns


def sample(path: Path, rows: int = 20, **options: Any) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and first rows of a file (for suggesting a mapping)."""
    table = read_table(path, **options)
    first = [cells for _, (_, cells) in zip(range(rows), table.rows, strict=False)]
    table.rows.close()  # type: ignore[attr-defined]  # a generator: closes the file now
    return table.columns, first


def count_rows(path: Path) -> int | None:
    """Lines in a CSV or NDJSON file (an upper bound of its rows, for a progress bar)."""
    if FORMATS.get(path.suffix.lower()) not in ("csv", "ndjson"):
        return None
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 0)
