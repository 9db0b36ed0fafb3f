"""Our `_table.html` writes the rows with a Python filter (datasette/plugins/table_rows.py):
the rows must be exactly those Datasette's own template writes, hostile values included."""

from __future__ import annotations

import re
import shutil
import sqlite3

import pytest
from datasette.app import Datasette

from tests.test_datasette import METADATA, ROOT, ours

HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single' <img src=x onerror=alert(2)>"
PAGES = [  # every column (`_columns=all`): Datasette's template writes them all
    "/registry/relationships?_columns=all",
    "/registry/relationships?_sort_desc=start_date&_size=7&_columns=all",
    "/registry/organisations?_columns=all",
    "/registry/sources?_columns=all",
    "/registry/sources/1",  # a row page (relationships have their own, row-registry-relationships.html)
    "/registry/disclosures?_columns=all",
]
# The names the filter links to their pages (readable_columns.py), unlinked to compare with Datasette's cells.
OUR_LINK = re.compile(
    r'(<td class="col-(?:client|vendor|disclosure|name|title) [^"]*">)<a href="/registry/\w+/\d+">(.*?)</a></td>'
)


def stock(path, templates) -> Datasette:
    """Our Datasette, but with Datasette's own `_table.html` (ours removed from a copy)."""
    return Datasette(
        [str(path)],
        metadata=METADATA,
        template_dir=str(templates),
        plugins_dir=str(ROOT / "datasette" / "plugins"),
    )


def body(html: str) -> str:
    found = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)
    assert len(found) == 1, "one table of rows on the page"
    return re.sub(r">\s+<", "><", found[0]).strip()


@pytest.fixture
def both(seeded, tmp_path):
    (tmp_path / "hostile").mkdir()
    registry = tmp_path / "hostile" / "registry.db"  # Datasette names the database after the file
    shutil.copy(seeded.registry_db, registry)
    conn = sqlite3.connect(registry)
    with conn:  # values a leaked list could hold, in a text column each table page shows
        conn.execute("UPDATE organisations SET name = ? || name WHERE id IN (1, 2)", [HOSTILE])
        conn.execute("UPDATE relationships SET product = ? WHERE id = 1", [HOSTILE])
        conn.execute("UPDATE sources SET title = ? WHERE id = 1", [HOSTILE])
    conn.close()
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "datasette" / "templates", templates)
    (templates / "_table.html").unlink()
    return ours(registry), stock(registry, templates)


@pytest.mark.parametrize("page", PAGES)
async def test_rows_are_those_of_datasettes_own_template(both, page):
    mine, theirs = both
    ours_page, stock_page = await mine.client.get(page), await theirs.client.get(page)
    assert ours_page.status_code == stock_page.status_code == 200
    rows = body(ours_page.text)
    assert OUR_LINK.sub(r"\1\2</td>", rows) == body(stock_page.text)
    assert rows.count("<tr>") >= 1 and "<td class=" in rows


async def test_hostile_values_are_escaped_in_the_rows(both):
    mine, _ = both
    rows = body((await mine.client.get("/registry/relationships?_size=max&_columns=all")).text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows
    assert "<script" not in rows and "<img" not in rows
    assert "&#34;quoted&#34;" in rows and "&#39;single&#39;" in rows


async def test_the_filter_is_what_writes_the_rows(both):
    """A guard on the comparison above: it compares two different templates, not one twice.
    The filter writes a row's cells side by side; Datasette's template puts a line break and
    indentation between them."""
    mine, theirs = both
    assert "table_rows" in (ROOT / "datasette" / "templates" / "_table.html").read_text(encoding="utf-8")
    ours_page, stock_page = await mine.client.get(PAGES[0]), await theirs.client.get(PAGES[0])
    assert "</td><td" in ours_page.text
    assert "</td><td" not in stock_page.text
