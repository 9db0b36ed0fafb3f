"""Hostile uploads (issue 18, findings 2, 3, 4 and 9): files that cost a reader
quadratic time, gigabytes of memory or a 500, built here byte by byte. Used by
tests/test_upload_budget.py and replayed against a served registry by
benchmarks/attacks/reading.py."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator

SNIFFER_BOMB = b'!"a' * 21845  # 64 KB that csv.Sniffer took 16 CPU seconds over
REGEX_BOMB = "^(a+)+$"  # exponential in Python's engine on 'a' * 40 + 'b'
REGEX_BOMB_CSV = b"id,name,notes\n1," + b"a" * 40 + b"b,NA\n"
CLIENT_NAME = "name: {column: name, transforms: [collapse]}"  # in seed/mappings/flock-agencies.yml


def with_name_transform(mapping: str, transform: str) -> str:
    """The Flock agencies mapping with `transform` (YAML) applied to the client's name instead."""
    assert CLIENT_NAME in mapping
    return mapping.replace(CLIENT_NAME, f"name: {{column: name, transforms: [{transform}]}}")


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="List" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PKG_REL}">
<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""


def sheet_xml(rows: list[list[str]], dimension: str = "", tail: str = "") -> str:
    """A sheet of inline strings (row 1 the header)."""
    cells = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">{head}<sheetData>{cells}{tail}</sheetData></worksheet>'


def workbook(parts: dict[str, bytes | str | Callable[[], Iterator[bytes]] | None] | None = None) -> bytes:
    """An XLSX of one sheet ('name', 'country'; two rows), with `parts` replaced (None: left out;
    a function: its chunks, streamed, for parts too large to hold)."""
    every: dict[str, bytes | str | Callable[[], Iterator[bytes]] | None] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet_xml(
            [["name", "country"], ["Police of Springfield", "US"], ["Police of Shelbyville", "US"]]
        ),
        "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}"/>',
        **(parts or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in every.items():
            if content is None:
                continue
            if callable(content):
                with archive.open(name, "w", force_zip64=True) as part:
                    for chunk in content():
                        part.write(chunk)
            else:
                archive.writestr(name, content)
    return out.getvalue()


def shared_strings_bomb(count: int = 1_000_000, size: int = 1024) -> bytes:
    """`count` shared strings of `size` characters (the 2.1 MB file that took a worker to 2 GB)."""
    item = f"<si><t>{'x' * size}</t></si>".encode()

    def strings() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">'.encode()
        block = item * 1000
        for _ in range(count // 1000):
            yield block
        yield b"</sst>"

    sheet = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
    sheet += '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    return workbook({"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet + "</sheetData></worksheet>"})


def sheet_bomb(rows: int = 2_000_000) -> bytes:
    """A sheet XML of millions of identical rows: a zip bomb (ratio far above any spreadsheet's)."""

    def sheet() -> Iterator[bytes]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        block = b'<row><c t="inlineStr"><is><t>Police</t></is></c></row>' * 1000
        for _ in range(rows // 1000):
            yield block
        yield b"</sheetData></worksheet>"

    return workbook({"xl/worksheets/sheet1.xml": sheet})


def malformed_workbooks() -> dict[str, bytes]:
    """Damaged XLSX files, each named by what is wrong with it."""
    good_sheet = sheet_xml([["name", "country"], ["Police of Springfield", "US"]])
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return {
        "not a zip": b"name,country\nPolice,US\n",
        "a zip that is not a workbook": plain_zip.getvalue(),
        "no workbook.xml": workbook({"xl/workbook.xml": None}),
        "workbook.xml not XML": workbook({"xl/workbook.xml": "<workbook><sheets><sheet"}),
        "content types not XML": workbook({"[Content_Types].xml": "<Types"}),
        "truncated sheet": workbook({"xl/worksheets/sheet1.xml": good_sheet[: good_sheet.index("Springfield")]}),
        "sheet missing": workbook({"xl/worksheets/sheet1.xml": None}),
        "shared string out of range": workbook(
            {
                "xl/worksheets/sheet1.xml": good_sheet.replace(
                    '<c r="A2" t="inlineStr"><is><t>Police of Springfield</t></is></c>', '<c r="A2" t="s"><v>99</v></c>'
                )
            }
        ),
        "bad cell reference": workbook({"xl/worksheets/sheet1.xml": good_sheet.replace('r="A2"', 'r="$$"')}),
        "truncated zip": workbook()[:-200],
    }


def huge_dimension() -> bytes:
    """A sheet claiming A1:XFD1048576, and a cell in its last row: 17 billion cells if padded."""
    rows = sheet_xml([["name", "country"], ["Police of Springfield", "US"]], dimension="A1:XFD1048576",
                     tail='<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')  # fmt: skip
    return workbook({"xl/worksheets/sheet1.xml": rows})


def distinct_strings(count: int) -> bytes:
    """A well-formed workbook of `count` distinct shared strings: costly to open, not a bomb."""

    def strings() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><sst xmlns="{MAIN}">'.encode()
        for start in range(0, count, 10_000):
            yield "".join(f"<si><t>Agency {i}</t></si>" for i in range(start, min(count, start + 10_000))).encode()
        yield b"</sst>"

    sheet = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'
    sheet += '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    return workbook({"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet + "</sheetData></worksheet>"})


def damaged_after(rows: int = 30) -> bytes:
    """A sheet of `rows` good rows (id, name, notes), cut off inside its last one: the first rows,
    those a mapping page shows, read well; the preview finds the damage."""
    good = sheet_xml(
        [["id", "name", "notes"], *([str(i), f"Town {i} PD", "NA"] for i in range(1, rows + 1))],
        dimension=f"A1:C{rows + 1}",  # else openpyxl reads the whole sheet to find its size, and fails at once
    )
    return workbook({"xl/worksheets/sheet1.xml": good[: good.index(f"Town {rows} PD")]})
