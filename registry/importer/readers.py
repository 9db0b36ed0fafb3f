"""Read a leaked list (CSV, XLSX, JSON, NDJSON) as numbered rows of text cells,
streaming where the format allows.

Messages name the file as the contributor named it (`name`), never by its path on the
server. What opening an upload may cost is bounded here, by linear-time detection and by
caps per row (columns, cells, NDJSON records), and for XLSX by the expansion checks of
registry.importer.xlsx; the web app also opens uploads in a child process under a memory
and CPU budget first (registry.importer.budget)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json", ".ndjson": "ndjson",
           ".jsonl": "ndjson"}  # fmt: skip
DETECT_BYTES = 64 * 1024
DELIMITER_SAMPLE = 16 * 1024  # characters the delimiter is guessed from
MAX_COLUMNS = 1_000  # every row becomes a dict this wide: a wider header is not a client list
MAX_CELL = 128 * 1024  # the csv module's own limit per field
MAX_RECORD = 1024 * 1024  # characters of one NDJSON line
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


def detect_format(path: Path, declared: str | None = None, name: str | None = None) -> str:
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt not in set(FORMATS.values()):
        raise ReadError(
            f"{name or path.name}: unknown format '{declared or path.suffix}' (use csv, xlsx, json or ndjson)"
        )
    return fmt


def detect_encoding(path: Path, name: str | None = None) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such; else Windows-1252
    when it uses that code page's punctuation bytes (0x80-0x9F); else Latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        head = f.read(DETECT_BYTES)
        if b"\x00" in head:
            raise ReadError(
                f"{name or path.name}: not a text file in a supported encoding (UTF-16 or binary?): save it as UTF-8"
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


def read_table(
    path: Path, fmt: str | None = None, json_path: str | None = None, sheet: str | None = None, name: str | None = None
) -> Table:
    """Open `path` and return its columns and a lazy iterator of (row number, cells); messages
    call the file `name` (the name it was uploaded as), by default its own."""
    name = name or path.name
    if not path.exists():
        raise ReadError(f"{name}: file not found")
    if path.stat().st_size == 0:
        raise ReadError(f"{name}: the file is empty")
    kind = detect_format(path, fmt, name)
    if kind == "csv":
        return _read_csv(path, name)
    if kind == "xlsx":
        from registry.importer.xlsx import read_xlsx  # imported here: only XLSX imports pay for openpyxl

        return read_xlsx(path, name, sheet)
    if kind == "json":
        return _read_json(path, name, json_path)
    return _read_ndjson(path, name)


def _read_csv(path: Path, name: str) -> Table:
    encoding = detect_encoding(path, name)
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(DELIMITER_SAMPLE)
    delimiter = _delimiter(sample, complete=len(sample) < DELIMITER_SAMPLE)
    with path.open(encoding=encoding, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter, strict=True))
        except (StopIteration, csv.Error) as e:
            raise ReadError(f"{name}: no header row ({e})") from e
    columns = check_columns([h.strip() for h in header], name)

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
                        raise ReadError(f"{name}: row {line} has {len(cells)} cells, the header has {len(columns)}")
                    yield line, dict(zip(columns, cells, strict=True))
            except csv.Error as e:
                raise ReadError(f"{name}: row {line + 1}: {e} (an unclosed quote?)") from e

    return Table(columns, rows(), encoding, delimiter)


def _delimiter(sample: str, *, complete: bool) -> str:
    """The delimiter on which the sample's records agree on a width, the widest.

    Each candidate is parsed with the csv module itself (so quoted newlines and quoted
    delimiters count as a spreadsheet counts them): linear in the sample. csv.Sniffer, used
    before, is quadratic on text such as '!"a' * 21845 (16 s of CPU for 64 KB, issue 18).
    The last record of a sample cut from a longer file may be cut short: it is not counted."""
    best, best_score = ",", (False, 1, 0)
    for candidate in (",", ";", "\t", "|"):
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=candidate) if row]
        except csv.Error:
            continue
        widths = widths if complete or len(widths) < 2 else widths[:-1]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        # Every record agreeing beats most of them agreeing; then the widest; then the most.
        score = (len(set(widths)) == 1, common, widths.count(common))
        if common > 1 and score > best_score:
            best, best_score = candidate, score
    return best


def cell_text(value: Any) -> str:
    """A spreadsheet cell's value as text: dates in ISO 8601, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > MAX_CELL:
        raise ReadError(f"a cell holds {len(value):,} characters, more than {MAX_CELL:,}: not a client list")
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json(path: Path, name: str, json_path: str | None) -> Table:
    try:
        data = json.loads(path.read_text(encoding=detect_encoding(path, name)))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReadError(f"{name}: not valid JSON ({e})") from e
    except RecursionError as e:
        raise ReadError(f"{name}: JSON nested too deeply to be a list of records") from e
    for step in (json_path or "").split(".") if json_path else []:
        if not isinstance(data, dict) or step not in data:
            raise ReadError(f"{name}: the path '{json_path}' finds nothing (no key '{step}')")
        data = data[step]
    if not isinstance(data, list):
        raise ReadError(f"{name}: expected an array of records{' at ' + json_path if json_path else ''}")
    return _records_table(name, enumerate(data, start=1))


def _read_ndjson(path: Path, name: str) -> Table:
    handle = path.open(encoding=detect_encoding(path, name))

    def records() -> Iterator[tuple[int, Any]]:
        with handle:
            # A limit on each line read: a file of one long line is never held whole.
            for line, text in enumerate(iter(lambda: handle.readline(MAX_RECORD + 1), ""), start=1):
                if len(text) > MAX_RECORD:
                    raise ReadError(f"{name}: line {line} is longer than {MAX_RECORD:,} characters: not one record")
                if text.strip():
                    try:
                        yield line, json.loads(text)
                    except json.JSONDecodeError as e:
                        raise ReadError(f"{name}: line {line}: not valid JSON ({e.msg})") from e
                    except RecursionError as e:
                        raise ReadError(f"{name}: line {line}: JSON nested too deeply to be a record") from e

    return _records_table(name, records())


def _records_table(name: str, records: Iterator[tuple[int, Any]]) -> Table:
    """Columns are the keys of the first record; values become text (nested values as JSON)."""
    first = next(records, None)
    if first is None:
        raise ReadError(f"{name}: no records")
    if not isinstance(first[1], dict):
        raise ReadError(f"{name}: record {first[0]} is not an object")
    columns = check_columns(list(first[1]), name)

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


def check_columns(columns: list[str], name: str) -> list[str]:
    """Refuse an empty header, a header too wide to be a list of clients, a repeated column."""
    if not any(columns):
        raise ReadError(f"{name}: the header row is empty")
    if len(columns) > MAX_COLUMNS:
        raise ReadError(f"{name}: the header has {len(columns):,} columns, more than {MAX_COLUMNS:,}")
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
    """Lines in a CSV or NDJSON file (an upper bound of its rows, for a progress bar): linear,
    a megabyte in memory at a time."""
    if FORMATS.get(path.suffix.lower()) not in ("csv", "ndjson"):
        return None
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 0)
