"""Column facets that stay fast at a million rows.

Datasette 0.65 runs one `GROUP BY` per facet over the whole filtered table; at a million
relationships each takes 50 to 100 ms, so the default page's five facets alone took
about 400 ms, and more on a filtered page. This plugin answers the same facets, with the
same results, from counts kept in memory for the current version of the database file
(registry.store.versions: SQLite's `PRAGMA data_version`, which changes whenever another
connection, the publisher, commits; a published change shows at once):

- the unfiltered table: each facet column's counts, computed once per version;
- a page filtered by facet values only (vendor=...&client_country=..., as a reader's
  clicks make): a cube, the table's rows counted by every combination of the facet
  columns, with its counts by each pair of columns and by each column, built on a
  thread once per version (at startup, then after each publish; pages count live until
  it is ready);
- a search (with facet values or not): the rows the search index finds counted by value
  from columns of codes kept in memory (each facet column's value of each row as a small
  number, in an array indexed by row id), built on a thread once per version like the
  cube, and kept for the latest searches of that version; before it is ready, or for a
  search with other filters, in one SQL pass over the rows it finds;
- anything else (other filters, `_where`, `_next`...): Datasette's own query, each facet
  on one of Datasette's threads at once.

Array facets (a breach's types, kinds of data and media: JSON arrays of labels) likewise:
Datasette 0.65's array facet deduplicates every row's whole content before counting (about
170 ms at 20,000 breaches, past its time limit at a million). Here an array cube holds, for
each array column, the rows counted by its values and every combination of the column
facets, built on a thread once per version: a page filtered by column facet values counts
its array facets from it, and a page filtered by one array value (`breach_types__arraycontains=`)
its column facets and, from each pair of arrays' values counted together, its array facets;
anything else counts with one pass of json_each over the page's rows
(our arrays hold distinct labels, made from primary keys, so no row counts twice).

One hook: a wrapper of `register_facet_classes` that puts `CountedColumnFacet` and
`CountedArrayFacet` in place of Datasette's `ColumnFacet` and `ArrayFacet` (same types, same
JSON and HTML)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from array import array
from collections import Counter, OrderedDict
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from datasette import hookimpl
from registry.store.versions import data_version

# (database path, table, column) -> (data_version, [(value, count), ...])
UNFILTERED: dict[tuple, tuple[int, list[tuple]]] = {}


# Arguments that change neither the rows a table page counts nor how: pages of the same rows.
# (_next is not one of them: Datasette counts facets from the page's cursor on.)
NEUTRAL_ARGS = {
    "_facet", "_facet_size", "_sort", "_sort_desc", "_size", "_shape", "_labels", "_label", "_col", "_nocol", "_json",
    "_nl", "_nosuggest", "_nocount", "_nofacet", "_array", "_extra", "_dl", "_ttl", "_timelimit", "_trace",
}  # fmt: skip


class Cube:
    """A table's rows counted by every combination of its facet columns, in memory, for one data version.

    A page filtered by facet values (vendor=...&client_country=...) then counts its facets
    from the cube's rows for those values instead of from the table's rows; a page filtered
    by one column's value, from the smaller counts by each pair of columns and by each column."""

    def __init__(self, path: str, table: str, columns: tuple[str, ...], version: int) -> None:
        self.table, self.columns, self.version = table, columns, version
        self.conn = sqlite3.connect(":memory:", uri=True, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        cols = ", ".join(escape_sqlite(c) for c in columns)
        self.conn.execute("ATTACH DATABASE ? AS source", [f"file:{path}?mode=ro"])
        self.conn.execute(
            f"CREATE TABLE main.cube AS SELECT {cols}, count(*) AS n FROM source.{escape_sqlite(table)} GROUP BY {cols}"
        )
        self.conn.execute("DETACH DATABASE source")
        for i, a in enumerate(columns):
            self.conn.execute(f"CREATE INDEX main.cube_{i} ON cube({escape_sqlite(a)})")
            self.conn.execute(
                f"CREATE TABLE main.one_{i} AS SELECT {escape_sqlite(a)}, sum(n) AS n FROM cube GROUP BY 1"
            )
            for j, b in enumerate(columns):
                if i < j:
                    pair = f"{escape_sqlite(a)}, {escape_sqlite(b)}"
                    self.conn.execute(
                        f"CREATE TABLE main.pair_{i}_{j} AS SELECT {pair}, sum(n) AS n FROM cube GROUP BY {pair}"
                    )
                    self.conn.execute(f"CREATE INDEX main.pair_{i}_{j}_{j} ON pair_{i}_{j}({escape_sqlite(b)})")
        self.conn.execute("ANALYZE")

    def counts(self, column: str, filters: list[tuple[str, tuple]]) -> list[tuple]:
        col = escape_sqlite(column)
        table = "cube"
        if not filters:  # every value's count (a selected column's other choices): the column's own table
            table = f"one_{self.columns.index(column)}"
        elif len(filters) == 1 and filters[0][0] != column:
            i, j = sorted((self.columns.index(column), self.columns.index(filters[0][0])))
            table = f"pair_{i}_{j}"
        elif {c for c, _ in filters} == {column}:
            table = f"one_{self.columns.index(column)}"
        sql = f"SELECT {col}, sum(n) AS count FROM {table} WHERE {col} IS NOT NULL{where_in(filters)} GROUP BY {col}"
        with self.lock:
            return self.conn.execute(sql, [v for _, values in filters for v in values]).fetchall()


class ArrayCube:
    """A table's rows counted, for each of its array facet columns, by the array's values and every
    combination of its column facets, in memory, for one data version (see the module's docstring)."""

    def __init__(self, path: str, table: str, columns: tuple[str, ...], arrays: tuple[str, ...], version: int):
        self.table, self.facet_columns, self.arrays, self.version = table, columns, arrays, version
        self.columns = columns + arrays  # what kept_or_building compares
        self.conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        cols = ", ".join(f"t.{escape_sqlite(c)}" for c in columns)
        self.conn.execute("ATTACH DATABASE ? AS source", [f"file:{path}?mode=ro"])
        for i, listed in enumerate(arrays):
            self.conn.execute(
                f"CREATE TABLE main.array_{i} AS SELECT {cols}, j.value AS value, count(*) AS n "
                f"FROM source.{escape_sqlite(table)} AS t, json_each(t.{escape_sqlite(listed)}) AS j "
                f"GROUP BY {cols}, j.value"
            )
            self.conn.execute(f"CREATE INDEX main.array_{i}_value ON array_{i}(value)")
            for k, column in enumerate(columns):  # a page filtered by a column's value reads only its rows
                self.conn.execute(f"CREATE INDEX main.array_{i}_{k} ON array_{i}({escape_sqlite(column)}, value)")
            self.conn.execute(f"CREATE TABLE main.array_{i}_one AS SELECT value, sum(n) AS n FROM array_{i} GROUP BY 1")
        # Each pair of arrays' values counted together (a page filtered by one array value counts the other
        # arrays from them), from the rows' distinct combinations of arrays (126,000 at a million breaches).
        combos = ", ".join(f"t.{escape_sqlite(listed)} AS a{i}" for i, listed in enumerate(arrays))
        self.conn.execute(
            f"CREATE TEMP TABLE combos AS SELECT {combos}, count(*) AS n FROM source.{escape_sqlite(table)} AS t "
            f"GROUP BY {', '.join(f'a{i}' for i in range(len(arrays)))}"
        )
        self.conn.execute("DETACH DATABASE source")
        for i in range(len(arrays)):
            for j in range(i, len(arrays)):
                self.conn.execute(
                    f"CREATE TABLE main.pair_{i}_{j} AS SELECT x.value AS a, y.value AS b, sum(c.n) AS n "
                    f"FROM combos AS c, json_each(c.a{i}) AS x, json_each(c.a{j}) AS y GROUP BY 1, 2"
                )
                self.conn.execute(f"CREATE INDEX main.pair_{i}_{j}_a ON pair_{i}_{j}(a)")
                self.conn.execute(f"CREATE INDEX main.pair_{i}_{j}_b ON pair_{i}_{j}(b)")
        self.conn.execute("DROP TABLE temp.combos")
        self.conn.execute("ANALYZE")

    def counts(self, target: str, filters: list[tuple[str, tuple]], contains: tuple[str, str] | None):
        """The counts of `target`'s values (an array's or a column's) on the rows that pass `filters`
        (column facet values) and `contains` (one array holding one value); None when the cube cannot
        tell (an array counted under an array's value and column facet values)."""
        params = [v for _, values in filters for v in values]
        if target in self.arrays and contains is not None:
            if filters:
                return None
            i, j = self.arrays.index(contains[0]), self.arrays.index(target)
            first, second = (i, j) if i <= j else (j, i)
            sql = f"SELECT {'b' if i <= j else 'a'}, n FROM pair_{first}_{second} WHERE {'a' if i <= j else 'b'} = ?"
            with self.lock:
                return self.conn.execute(sql, [contains[1]]).fetchall()
        if target in self.arrays:
            i = self.arrays.index(target)
            table = f"array_{i}_one" if not filters else f"array_{i}"
            sql = f"SELECT value, sum(n) FROM {table} WHERE value IS NOT NULL{where_in(filters)} GROUP BY value"
        elif contains is not None and target in self.facet_columns:
            col = escape_sqlite(target)
            sql = (
                f"SELECT {col}, sum(n) FROM array_{self.arrays.index(contains[0])} WHERE value = ? "
                f"AND {col} IS NOT NULL{where_in(filters)} GROUP BY {col}"
            )
            params = [contains[1], *params]
        else:
            return None
        with self.lock:
            return self.conn.execute(sql, params).fetchall()


ARRAY_CUBES: dict[tuple, ArrayCube] = {}  # (database path, table) -> the latest array cube built
BUILDING_ARRAYS: set[tuple] = set()


def array_cube_for(path: str, table: str, columns: tuple[str, ...], arrays: tuple[str, ...], version: int):
    """The table's array cube for this data version, or None while it is built on a thread."""
    return kept_or_building(
        ARRAY_CUBES, BUILDING_ARRAYS, (path, table), columns + arrays, version,
        lambda: ArrayCube(path, table, columns, arrays, version),
    )  # fmt: skip


def where_in(filters: list[tuple[str, tuple]]) -> str:
    """` AND column IN (?, ...)` for each (column, values) filter."""
    return "".join(f" AND {escape_sqlite(c)} IN ({', '.join('?' * len(vs))})" for c, vs in filters)


def in_values(value: str) -> tuple[str, ...] | None:
    """The values of a `column__in=` argument, as Datasette's InFilter reads them (a JSON list,
    or values separated by commas); None when it is not a list of texts."""
    if not value.startswith("["):
        return tuple(v.strip() for v in value.split(","))
    try:
        values = json.loads(value)
    except ValueError:
        return None
    return tuple(values) if isinstance(values, list) and all(isinstance(v, str) for v in values) else None


CUBES: dict[tuple, Cube] = {}  # (database path, table) -> the latest cube built
BUILDING: set[tuple] = set()


def cube_for(path: str, table: str, columns: tuple[str, ...], version: int) -> Cube | None:
    """The table's cube for this data version, or None while it is built on a thread (pages count live meanwhile).

    At a million rows a cube takes seconds to build, so no page waits for one: the server
    starts building at startup, and again at the first page after each publish."""
    return kept_or_building(
        CUBES, BUILDING, (path, table), columns, version, lambda: Cube(path, table, columns, version)
    )


def kept_or_building(kept: dict, building: set, key: tuple, columns, version: int, build, unsuited=None):
    """What `kept[key]` holds if it was built for this data version and these columns; else None,
    and `build()` runs on a thread (one at a time per key) to replace it. A ValueError from
    `build` marks the key unsuited for this version in `unsuited` (never tried again for it)."""
    found = kept.get(key)
    if found and found.version == version and set(columns) <= set(found.columns):
        return found
    if key in building or (unsuited is not None and unsuited.get(key) == version):
        return None
    building.add(key)

    def run() -> None:
        try:
            kept[key] = build()
        except ValueError:
            if unsuited is None:
                raise
            unsuited[key] = version
        except sqlite3.Error:  # the file is being replaced, say: the next page tries again
            pass
        finally:
            building.discard(key)

    threading.Thread(target=run, daemon=True).start()
    return None


class Codes:
    """Each facet column's value of every row of a table, as a small number in an array indexed by row id.

    A search's facets are then counted from the ids the search index finds, without reading
    the table's rows: at 200,000 matches, about 40 ms instead of about 300."""

    def __init__(self, path: str, table: str, columns: tuple[str, ...], version: int) -> None:
        self.table, self.columns, self.version = table, columns, version
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            self.codes = self.number_values(conn)
            # SQLite reads the rows (without the GIL, so pages are served meanwhile) and writes
            # each column's codes as one text, a character a row in rowid order.
            codes_of = ", ".join(
                f"group_concat(char(coalesce((SELECT code FROM temp.codes_{i} WHERE value = {escape_sqlite(c)}), "
                f"{self.codes[c].get(None, 0)})), '')"
                for i, c in enumerate(columns)
            )
            rows = f"SELECT rowid AS _rowid, * FROM {escape_sqlite(table)} ORDER BY rowid"
            found = conn.execute(f"SELECT json_group_array(_rowid), {codes_of} FROM ({rows})").fetchone()
        finally:
            conn.close()
        ids = json.loads(found[0])
        if ids and (ids[0] < 0 or ids[-1] > 2 * len(ids) + 1_000_000):
            raise ValueError("row ids too sparse for arrays indexed by id")
        self.size = (ids[-1] if ids else 0) + 1
        # Code 0: no such row. One byte a row while a column has fewer than 256 values, more after.
        self.arrays: dict[str, bytearray | array] = {}
        for column, text in zip(columns, found[1:], strict=True):
            codes: array
            empty: bytearray | array
            if len(self.codes[column]) > 255:  # two bytes a row (number_values allows at most 50,000 values)
                codes, empty = array("H", map(ord, text or "")), array("H", bytes(2 * self.size))
            else:
                codes, empty = array("B", (text or "").encode("latin-1")), bytearray(self.size)
            if len(ids) == self.size - 1:  # ids 1 to n, none missing: code 0 for id 0, then the codes
                empty[1:] = codes
            else:
                for i, code in zip(ids, codes, strict=True):
                    empty[i] = code
            self.arrays[column] = empty
        self.values = {c: {code: value for value, code in self.codes[c].items()} for c in columns}
        # A filter's value is text from the query string: 2019 in an INTEGER column is found by "2019".
        self.by_text = {c: {None if v is None else str(v): k for v, k in self.codes[c].items()} for c in columns}
        # The latest searches' counts: (search, filters, columns) -> what counts() gave.
        self.searched: OrderedDict[tuple, dict[str, list[tuple]]] = OrderedDict()

    def number_values(self, conn: sqlite3.Connection) -> dict[str, dict]:
        """Number each column's values from 1 (None included), in a temporary table codes_<i> (without None)."""
        numbered = {}
        for i, column in enumerate(self.columns):
            values = [
                r[0] for r in conn.execute(f"SELECT DISTINCT {escape_sqlite(column)} FROM {escape_sqlite(self.table)}")
            ]
            if not all(isinstance(v, str | int | None) for v in values):  # found by their text (see by_text)
                raise ValueError(f"{column} holds values other than text and integers")
            if len(values) > 50_000:  # char() of the codes would reach the surrogates
                raise ValueError(f"{column} has too many values for codes")
            numbered[column] = {v: k + 1 for k, v in enumerate(values)}
            conn.execute(f"CREATE TEMP TABLE codes_{i} (value TEXT PRIMARY KEY, code INTEGER) WITHOUT ROWID")
            conn.executemany(
                f"INSERT INTO temp.codes_{i} VALUES (?, ?)",
                [(v, k) for v, k in numbered[column].items() if v is not None],
            )
        return numbered

    def counts(self, ids: list[int], filters: list[tuple[str, tuple]], columns: list[str]) -> dict[str, list[tuple]]:
        """Count the values of `columns` among the rows `ids` that pass `filters` (column is one of values,
        found by their text: see by_text)."""
        for column, chosen in filters:
            wanted, codes = {self.by_text[column].get(v, -1) for v in chosen}, self.arrays[column]
            ids = [i for i in ids if codes[i] in wanted]
        gather = itemgetter(*ids) if len(ids) > 1 else lambda codes: tuple(codes[i] for i in ids)
        counted = {}
        for column in columns:
            codes, values = self.arrays[column], self.values[column]
            if isinstance(codes, bytearray) and len(values) <= 64:
                found = bytes(gather(codes))  # bytes.count runs at memory speed: 5 ms for 30 values
                tally = {code: found.count(code) for code in values}
            else:
                tally = Counter(gather(codes))
            tally.pop(0, None)  # ids of no row
            tally.pop(self.codes[column].get(None), None)  # facets leave out null
            counted[column] = sorted(((values[c], n) for c, n in tally.items() if n), key=lambda vc: (-vc[1], vc[0]))
        return counted


SEARCHES_KEPT = 256
CODES: dict[tuple, Codes] = {}  # (database path, table) -> the latest codes built
BUILDING_CODES: set[tuple] = set()
UNSUITED: dict[tuple, int] = {}  # (database path, table) -> the version whose codes could not be built


def codes_for(path: str, table: str, columns: tuple[str, ...], version: int) -> Codes | None:
    """The table's codes for this data version, or None while they are built on a thread (a table
    unsuited to arrays, see Codes, counts its searches with SQL)."""
    key = (path, table)
    return kept_or_building(
        CODES, BUILDING_CODES, key, columns, version, lambda: Codes(path, table, columns, version), UNSUITED
    )


def one_pass_sql(sql: str, columns: list[str]) -> str:
    """Count each column's values among the rows of `sql`, reading them once."""
    cols = ", ".join(escape_sqlite(c) for c in columns)
    counts = " UNION ALL ".join(
        f"SELECT {i} AS facet, {escape_sqlite(c)} AS value, count(*) AS count FROM matched "
        f"WHERE {escape_sqlite(c)} IS NOT NULL GROUP BY {escape_sqlite(c)}"
        for i, c in enumerate(columns)
    )
    return f"WITH matched AS MATERIALIZED (SELECT {cols} FROM ({sql})) {counts}"


class TableFacets:
    """What both our facet classes read from the request and the table's metadata."""

    request: Any
    metadata: Any

    if TYPE_CHECKING:  # Datasette's Facet gives it; declared here for mypy only

        def get_querystring_pairs(self) -> list[tuple[str, str]]: ...

    def data_version(self, path: str) -> int:
        return data_version(path)

    def metadata_columns(self) -> list[str]:
        """The table's facet columns from metadata: what its cube counts by."""
        facets = (self.metadata or {}).get("facets") or []
        return [f for f in facets if isinstance(f, str)]

    def array_filters(self) -> tuple[list[tuple[str, tuple]], tuple[str, str] | None] | None:
        """The request's filters as (column facet filters, one array value or None) when all are
        equalities or lists on column facets and at most one `array__arraycontains=` on an array
        facet, else None."""
        filters: list[tuple[str, tuple]] = []
        contains = None
        faceted, arrays = set(self.metadata_columns()), set(array_columns(self.metadata))
        for key, value in self.get_querystring_pairs():
            if key.startswith("_"):
                if key not in NEUTRAL_ARGS:
                    return None
                continue
            if key.endswith("__arraycontains") and key.removesuffix("__arraycontains") in arrays:
                if contains is not None:
                    return None
                contains = (key.removesuffix("__arraycontains"), value)
                continue
            column = key.removesuffix("__exact").removesuffix("__in")
            values = in_values(value) if key.endswith("__in") else (value,)
            if column not in faceted or "__" in column or values is None:
                return None
            filters.append((column, values))
        return filters, contains


class CountedColumnFacet(TableFacets, ColumnFacet):
    async def facet_results(self):
        configs = self.get_configs()
        columns = list(dict.fromkeys(c["config"].get("column") or c["config"]["simple"] for c in configs))
        if not columns:
            return [], []
        try:
            counted = await self.counts(columns)
        except QueryInterrupted:
            return [], columns
        hideable = {(c["config"].get("column") or c["config"]["simple"]): c["source"] != "metadata" for c in configs}
        results = [await self.result(c, counted.get(c, []), hideable[c]) for c in columns]
        try:
            for result in results:
                await self.add_selection(result)
        except QueryInterrupted:
            pass  # the values stay without their choices of more
        return results, []

    def unfiltered(self) -> bool:
        return bool(self.table) and not self.params and self.sql.rstrip().endswith(f"from {escape_sqlite(self.table)}")

    async def counts(self, columns: list[str]) -> dict[str, list[tuple]]:
        db = self.ds.get_database(self.database)
        if self.unfiltered() and db.path:
            version = self.data_version(db.path)
            keys = {c: (db.path, self.table, c) for c in columns}
            stale = [c for c in columns if UNFILTERED.get(keys[c], (None,))[0] != version]
            # Every value of each column, each with Datasette's query on its own index, at once.
            limit = self.ds.setting("sql_time_limit_ms")
            for counted in await asyncio.gather(*(self.count([c], limit) for c in stale)):
                for column, values in counted.items():
                    UNFILTERED[keys[column]] = (version, values)
            return {c: UNFILTERED[keys[c]][1] for c in columns}
        if any(key.startswith("_search") for key in self.request.args):
            searched = await self.search_counts(columns) if db.path else None
            if searched is not None:
                return searched
            return await self.count(columns, self.ds.setting("facet_time_limit_ms"))
        counted = {}
        filters, faceted = self.facet_filters(), tuple(self.metadata_columns())
        arrays = array_columns(self.metadata)
        parsed = self.array_filters() if filters is None and arrays else None
        if parsed is not None and parsed[1] is not None and db.path and faceted:  # one array value chosen
            cube = array_cube_for(db.path, self.table, faceted, arrays, self.data_version(db.path))
            if cube:
                for column in columns:
                    found = await asyncio.to_thread(cube.counts, column, parsed[0], parsed[1])
                    if found is not None:
                        counted[column] = sorted(found, key=lambda vc: (-vc[1], vc[0]))
        if filters is not None and db.path and faceted:
            version = self.data_version(db.path)
            cube = cube_for(db.path, self.table, faceted, version)
            if cube:
                from_cube = [c for c in columns if c in cube.columns]
                found = await asyncio.gather(*(asyncio.to_thread(cube.counts, c, filters) for c in from_cube))
                for column, values in zip(from_cube, found, strict=True):
                    counted[column] = sorted(values, key=lambda vc: (-vc[1], vc[0]))
        # The rest with Datasette's query, each on a thread of Datasette's pool at once.
        limit, size = self.ds.setting("facet_time_limit_ms"), self.get_facet_size() + 1
        rest = [c for c in columns if c not in counted]
        for one in await asyncio.gather(*(self.count([column], limit, size) for column in rest)):
            counted |= one
        return counted

    async def search_counts(self, columns: list[str]) -> dict[str, list[tuple]] | None:
        """A plain search's facets (`_search`, maybe with facet values) from the table's codes; None if not one."""
        db = self.ds.get_database(self.database)
        search = self.request.args.get("_search")
        fts_table = (self.metadata or {}).get("fts_table") or await db.fts_table(self.table)
        faceted = tuple(self.metadata_columns())
        if search is None or not fts_table or not set(columns) <= set(faceted):
            return None
        if (self.metadata or {}).get("fts_pk", "rowid") != "rowid" and not await self.pk_is_rowid(db):
            return None
        filters = self.facet_filters(searched=True)
        if filters is None:
            return None
        codes = codes_for(db.path, self.table, faceted, self.data_version(db.path))
        if codes is None:
            return None
        key = (search, tuple(sorted(filters)), tuple(columns))
        if key in codes.searched:  # the same search again, of the same version of the file
            codes.searched.move_to_end(key)
            return codes.searched[key]
        fts = escape_sqlite(fts_table)
        try:
            found = await db.execute(  # as one JSON text: 200,000 ids in 20 ms, against 50 as rows
                f"SELECT json_group_array(rowid) FROM {fts} WHERE {fts} MATCH escape_fts(:search)",
                {"search": search},
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except sqlite3.DataError:  # longer than a value may be (a `_where=` page's limit, sql_limits.py)
            return None
        ids = json.loads(found.first()[0])
        if ids and (max(ids) >= codes.size or min(ids) < 0):  # rows added since the codes: count with SQL
            return None
        counted = codes.searched[key] = await asyncio.to_thread(codes.counts, ids, filters, columns)
        while len(codes.searched) > SEARCHES_KEPT:
            codes.searched.popitem(last=False)
        return counted

    async def pk_is_rowid(self, db) -> bool:
        """Whether the table's fts_pk is its INTEGER PRIMARY KEY, another name of its rowid."""
        pk = (self.metadata or {}).get("fts_pk")
        rows = await db.execute("SELECT name, upper(type), pk FROM pragma_table_info(?) WHERE pk > 0", [self.table])
        return [tuple(r) for r in rows.rows] == [(pk, "INTEGER", 1)]

    def facet_filters(self, searched: bool = False) -> list[tuple[str, tuple]] | None:
        """The request's filters as (column, values) pairs when all are equalities (`column=`, `column__exact=`)
        or lists (`column__in=`) on facet columns, else None (`searched`: besides one `_search`,
        Datasette's default search, by every column of the index)."""
        filters = []
        faceted = set(self.metadata_columns())
        for key, value in self.get_querystring_pairs():
            if key.startswith("_"):
                if key not in NEUTRAL_ARGS and not (searched and key == "_search"):
                    return None
                continue
            column = key.removesuffix("__exact").removesuffix("__in")
            values = in_values(value) if key.endswith("__in") else (value,)
            if column not in faceted or "__" in column or values is None:
                return None
            filters.append((column, values))
        return filters

    async def count(self, columns: list[str], time_limit: int, limit: int | None = None) -> dict[str, list[tuple]]:
        if len(columns) == 1:  # Datasette's own facet query
            col = escape_sqlite(columns[0])
            sql = (
                f"SELECT 0 AS facet, {col} AS value, count(*) AS count FROM ({self.sql}) WHERE {col} IS NOT NULL "
                f"GROUP BY {col} ORDER BY count DESC, value" + (f" LIMIT {int(limit)}" if limit else "")
            )
        else:
            sql = one_pass_sql(self.sql, columns)
        rows = await self.ds.execute(self.database, sql, self.params, truncate=False, custom_time_limit=time_limit)
        counted: dict[str, list[tuple]] = {c: [] for c in columns}
        for facet, value, count in rows.rows:
            counted[columns[facet]].append((value, count))
        for values in counted.values():
            values.sort(key=lambda vc: (-vc[1], vc[0]))  # Datasette's order: count desc, value
        return counted

    # Several values of one facet, by clicks: each value's link adds it to the column's
    # selection (`column__in=a,b`, or Datasette's JSON list when a value holds a comma), each
    # selected value's link removes it. A selected column's other values ("choices") are
    # counted without its own selection, on the rows the other filters keep, so that a reader
    # who picked Belgium sees France with France's count.

    def selected(self, column: str) -> list[str]:
        """The values of `column` the request selects (`column=`, `column__exact=`, `column__in=`)."""
        found: list[str] = []
        for key, value in self.get_querystring_pairs():
            if key in (column, f"{column}__exact"):
                found.append(value)
            elif key == f"{column}__in":
                found.extend(in_values(value) or ())
        return list(dict.fromkeys(found))

    def with_selection(self, column: str, values: list[str]) -> str:
        """This page's path with `values` as the whole selection of `column` (and from the first page)."""
        drop = {column, f"{column}__exact", f"{column}__in", "_next"}
        pairs = [(k, v) for k, v in self.get_querystring_pairs() if k not in drop]
        if len(values) == 1:
            pairs.append((f"{column}__exact" if column.startswith("_") else column, values[0]))
        elif values:
            plain = all("," not in v and v == v.strip() for v in values) and not values[0].startswith("[")
            pairs.append((f"{column}__in", ",".join(values) if plain else json.dumps(values, ensure_ascii=False)))
        query = urlencode(pairs)
        return self.request.path + (f"?{query}" if query else "")

    async def add_selection(self, result: dict) -> None:
        """Give a facet result its `selection` (values, each with the link that removes it) and
        its `choices` (the other values, counted without this column's selection, each with the
        link that adds it; None when they cannot be counted so: then `results` stands)."""
        column = result["name"]
        chosen = self.selected(column)
        labels = {r["value"]: r["label"] for r in result["results"]}
        result["selection"] = [
            {
                "value": v,
                "label": labels.get(v, v),
                "remove_url": self.with_selection(column, [c for c in chosen if c != v]),
            }
            for v in chosen
        ]
        values = None
        if not chosen:
            values = [(r["value"], r["count"]) for r in result["results"]]
        else:
            filters = self.facet_filters()
            if filters is not None and column in self.metadata_columns():
                values = await self.counts_without(column, [f for f in filters if f[0] != column])
        result["choices"] = None
        if values is not None:
            size = self.get_facet_size()
            result["choices"] = [
                {"value": v, "label": v, "count": n, "add_url": self.with_selection(column, [*chosen, str(v)])}
                for v, n in values[:size]
                if str(v) not in chosen
            ]
            result["choices_truncated"] = len(values) > size

    async def counts_without(self, column: str, filters: list[tuple[str, tuple]]) -> list[tuple]:
        """The counts of `column`'s values on the rows that pass `filters`: from the cube when it is built, else SQL."""
        db = self.ds.get_database(self.database)
        cube = db.path and cube_for(db.path, self.table, tuple(self.metadata_columns()), self.data_version(db.path))
        if cube:
            values = await asyncio.to_thread(cube.counts, column, filters)
        else:
            col = escape_sqlite(column)
            sql = (
                f"SELECT {col}, count(*) FROM {escape_sqlite(self.table)} WHERE {col} IS NOT NULL{where_in(filters)} "
                f"GROUP BY {col}"
            )
            params = [v for _, values in filters for v in values]
            rows = await self.ds.execute(
                self.database, sql, params, custom_time_limit=self.ds.setting("facet_time_limit_ms")
            )
            values = [tuple(r) for r in rows.rows]
        return sorted(values, key=lambda vc: (-vc[1], vc[0]))

    async def result(self, column: str, values: list[tuple], hideable: bool) -> dict:
        facet_size = self.get_facet_size()
        qs_pairs = self.get_querystring_pairs()
        shown = values[:facet_size]
        expanded = {}
        if self.table:
            expanded = await self.ds.expand_foreign_keys(self.database, self.table, column, [v for v, _ in shown])
        column_qs = f"{column}__exact" if column.startswith("_") else column
        results = []
        for value, count in shown:
            selected = (column_qs, str(value)) in qs_pairs
            if selected:
                toggle_path = path_with_removed_args(self.request, {column_qs: str(value)})
            else:
                toggle_path = path_with_added_args(self.request, {column_qs: value})
            results.append(
                {
                    "value": value,
                    "label": expanded.get((column, value), value),
                    "count": count,
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle_path)),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": hideable,
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet": column})),
            "results": results,
            "truncated": len(values) > facet_size,
        }


def array_columns(metadata) -> tuple[str, ...]:
    """The table's array facet columns from metadata (`{array: breach_types}`)."""
    facets = (metadata or {}).get("facets") or []
    return tuple(f["array"] for f in facets if isinstance(f, dict) and isinstance(f.get("array"), str))


class CountedArrayFacet(TableFacets, ArrayFacet):
    """Datasette's array facet, counted from the array cube or with one pass of json_each
    (see the module's docstring); the same results."""

    async def facet_results(self):
        results, timed_out = [], []
        for config in self.get_configs():
            column = config["config"].get("column") or config["config"]["simple"]
            try:
                values = await self.array_counts(column)
            except QueryInterrupted:
                timed_out.append(column)
                continue
            results.append(self.result(column, values, config["source"] != "metadata"))
        return results, timed_out

    async def array_counts(self, column: str) -> list[tuple]:
        db = self.ds.get_database(self.database)
        faceted, arrays = tuple(self.metadata_columns()), array_columns(self.metadata)
        parsed = self.array_filters() if column in arrays and db.path else None
        if parsed is not None and not any(k.startswith("_search") for k in self.request.args):
            cube = array_cube_for(db.path, self.table, faceted, arrays, self.data_version(db.path))
            found = await asyncio.to_thread(cube.counts, column, parsed[0], parsed[1]) if cube else None
            if found is not None:
                return sorted(found, key=lambda vc: (-vc[1], str(vc[0])))
        col = escape_sqlite(column)
        sql = (
            f"SELECT j.value AS value, count(*) AS count FROM ({self.sql}) AS inner_rows, "
            f"json_each(inner_rows.{col}) AS j GROUP BY j.value ORDER BY count DESC, value "
            f"LIMIT {self.get_facet_size() + 1}"
        )
        rows = await self.ds.execute(
            self.database, sql, self.params, truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )  # fmt: skip
        return [(r["value"], r["count"]) for r in rows.rows]

    def result(self, column: str, values: list[tuple], hideable: bool) -> dict:
        size, pairs = self.get_facet_size(), self.get_querystring_pairs()
        results = []
        for value, count in values[:size]:
            value = str(value)
            selected = (f"{column}__arraycontains", value) in pairs
            change = path_with_removed_args if selected else path_with_added_args
            toggle_path = change(self.request, {f"{column}__arraycontains": value})
            results.append(
                {
                    "value": value,
                    "label": value,
                    "count": count,
                    "toggle_url": self.ds.absolute_url(self.request, toggle_path),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "results": results,
            "hideable": hideable,
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet_array": column})),
            "truncated": len(values) > size,
        }


@hookimpl
def startup(datasette):
    """Start building the cube of each table whose metadata names facets (and its array cube if some are
    arrays), and its codes if it has a search."""
    for name, db in datasette.databases.items():
        tables = (datasette.metadata("tables", database=name) or {}).items()
        for table, meta in tables:
            columns = tuple(f for f in meta.get("facets") or [] if isinstance(f, str))
            if db.path and columns:
                version = data_version(db.path)
                cube_for(db.path, table, columns, version)
                if arrays := array_columns(meta):
                    array_cube_for(db.path, table, columns, arrays, version)
                if meta.get("fts_table"):
                    codes_for(db.path, table, columns, version)


@hookimpl(hookwrapper=True)
def register_facet_classes():
    outcome = yield
    classes = outcome.get_result()
    ours = {ColumnFacet: CountedColumnFacet, ArrayFacet: CountedArrayFacet}
    outcome.force_result([[ours.get(c, c) for c in group] for group in classes])
