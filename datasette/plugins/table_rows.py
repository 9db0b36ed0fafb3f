"""The rows of table and row pages, written in Python rather than by Jinja.

Datasette 0.65's `_table.html` writes each cell in an async Jinja loop: for the hundred
rows of the relationships page (1,600 cells) that loop was about half of the page's CPU
time, and every reader's page takes CPU from the intake app on the same cores. Our
`_table.html` is Datasette's with its `<tbody>` loop replaced by this filter, which
writes the same cells (the same classes, the same escaping: `markupsafe.escape`, which
Jinja's autoescape calls, leaves Datasette's links as they are and escapes the rest).
tests/test_table_rows.py compares the two templates' rows on real pages.

It also writes only the columns a reader sees first (`show`, from readable_columns.py) and
links names to their pages (`links`: a name column -> the column of its row's id and the
URL of that table), so Datasette's cells of the other columns are never written."""

from __future__ import annotations

import json
from functools import lru_cache

from datasette.utils import tilde_encode, to_css_class
from markupsafe import Markup, escape

from datasette import hookimpl


@lru_cache(maxsize=1024)
def _cell_class(column: str, value_type: str) -> str:
    return f'<td class="col-{escape(to_css_class(column))} type-{escape(value_type)}">'


def as_list(raw) -> str | None:
    """A JSON array of labels as "Theft, Loss"; None when `raw` is not one (written as it is)."""
    try:
        values = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return ", ".join(map(str, values)) if isinstance(values, list) else None


def table_rows(rows, show: tuple[str, ...] | None = None, links: dict | None = None, lists=frozenset()) -> Markup:
    """`<tr>` elements for Datasette's display rows (lists of cells: column, value, raw, value_type):
    the cells of the columns in `show` in its order (all when None), with the columns of `links`
    written as links to their rows' pages and those of `lists` (JSON arrays) as "a, b"."""
    parts = []
    for row in rows or ():
        parts.append("<tr>")
        by_name = {cell["column"]: cell for cell in row} if show or links else {}
        for cell in (by_name[c] for c in show if c in by_name) if show else row:
            parts.append(_cell_class(cell["column"], cell["value_type"]))
            link = (links or {}).get(cell["column"])
            target = by_name[link[0]]["raw"] if link is not None and link[0] in by_name else None
            if target is not None and cell["raw"] not in (None, ""):
                parts.append(f'<a href="{escape(link[1] + tilde_encode(str(target)))}">{escape(cell["value"])}</a>')  # type: ignore[index]
            elif cell["column"] in lists and (listed := as_list(cell["raw"])) is not None:
                parts.append(escape(listed))
            else:
                parts.append(escape(cell["value"]))
            parts.append("</td>")
        parts.append("</tr>\n")
    return Markup("".join(parts))  # noqa: S704 (every value went through escape above)


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["table_rows"] = table_rows
