"""What the full-text indexes (FTS5) of registry.db physically keep, word by word and row by row.

Deleting a row from an FTS5 index does not erase its words: FTS5 writes a "delete" entry
into a new segment and leaves the old entries where they are until segments are merged.
So a withdrawn relationship's vendor, client and summary words stayed in
relationships_fts_data, readable by public SQL (issue 18, finding 7). FTS5's own queries
cannot show this (they apply the delete entries), so `registry check` reads the segments
itself, in the format documented at the top of SQLite's ext/fts5/fts5_index.c: a
structure record (rowid 10) listing the segments, and each segment's leaf pages holding
terms (prefix-compressed), each term's rowids and, per rowid, a position list whose size
varint carries the delete flag."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import sqlite_utils

STRUCTURE_ROWID = 10
PAGE_BITS, HEIGHT_BITS, DLIDX_BITS = 31, 5, 1  # fts5_dri(): how a leaf's rowid in %_data is made


@dataclass(frozen=True)
class Entry:
    """One (word, row) of a segment; `deleted` marks FTS5's record that the row lost the word."""

    term: str
    rowid: int
    deleted: bool


def varint(data: bytes, offset: int) -> tuple[int, int]:
    """SQLite's varint at `offset`: (value, offset after it)."""
    value = 0
    for i in range(8):
        byte = data[offset + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + i + 1
    return (value << 8) | data[offset + 8], offset + 9


def segments(db: sqlite_utils.Database, fts_table: str) -> list[tuple[int, int, int]]:
    """(segment id, first leaf page, last leaf page) of every segment of an index."""
    row = db.execute(f"SELECT block FROM [{fts_table}_data] WHERE id = ?", [STRUCTURE_ROWID]).fetchone()
    if row is None:
        return []
    data = row[0]
    offset = 4  # the configuration cookie
    levels, offset = varint(data, offset)
    _, offset = varint(data, offset)  # total segments
    _, offset = varint(data, offset)  # write counter
    found = []
    for _ in range(levels):
        _, offset = varint(data, offset)  # segments in an ongoing merge
        count, offset = varint(data, offset)
        for _ in range(count):
            segid, offset = varint(data, offset)
            first, offset = varint(data, offset)
            last, offset = varint(data, offset)
            found.append((segid, first, last))
    return found


def _leaf_rowid(segid: int, page: int) -> int:
    return (segid << (PAGE_BITS + HEIGHT_BITS + DLIDX_BITS)) + page


def _pages(db: sqlite_utils.Database, fts_table: str, segid: int, first: int, last: int) -> Iterator[bytes]:
    rows = db.execute(
        f"SELECT block FROM [{fts_table}_data] WHERE id BETWEEN ? AND ? ORDER BY id",
        [_leaf_rowid(segid, first), _leaf_rowid(segid, last)],
    )
    for (block,) in rows:
        yield block


def entries(
    db: sqlite_utils.Database, fts_table: str, terms: set[str] | None = None, rowids: set[int] | None = None
) -> Iterator[Entry]:
    """The (word, row) entries the index's segments hold, delete entries included: all of
    them, or only those of `terms` near `rowids`. A million relationships make 13 million
    entries (15 s of CPU to read them all); the pages of a long doclist each start with an
    absolute rowid, so only the few pages around the rowids sought are read."""
    wanted = None if terms is None else {b"0" + t.encode("utf-8") for t in terms}
    sought = sorted(rowids) if rowids is not None else None
    for segid, first, last in segments(db, fts_table):
        yield from _segment_entries(list(_pages(db, fts_table, segid, first, last)), wanted, sought)


def _page_terms(page: bytes, end: int, previous: bytes) -> list[tuple[int, int, bytes]]:
    """(offset of the term, offset of its first rowid, term) for each term on a leaf page."""
    found: list[tuple[int, int, bytes]] = []
    position, at = end, 0
    term = previous
    while position < len(page):  # the footer: each term's offset, as deltas
        delta, position = varint(page, position)
        at += delta
        if not found:  # the first term on a page is stored whole
            size, offset = varint(page, at)
            term = page[offset : offset + size]
        else:
            common, offset = varint(page, at)
            size, offset = varint(page, offset)
            term = term[:common] + page[offset : offset + size]
        found.append((at, offset + size, term))
    return found


def _first_rowid(page: bytes) -> int | None:
    """The absolute rowid a leaf page starts with, if a doclist goes on from the previous page."""
    offset = (page[0] << 8) | page[1]
    return varint(page, offset)[0] if offset else None


def _segment_entries(pages: list[bytes], wanted: set[bytes] | None, sought: list[int] | None) -> Iterator[Entry]:
    term = b""
    for number, page in enumerate(pages):
        end = (page[2] << 8) | page[3]
        on_page = _page_terms(page, end, term)
        going_on = (page[0] << 8) | page[1]  # where the previous term's doclist goes on, if it does
        if going_on and (wanted is None or term in wanted):
            low = varint(page, going_on)[0]
            # It goes on to the next page only if no other term starts on this one.
            following = _first_rowid(pages[number + 1]) if number + 1 < len(pages) and not on_page else None
            if sought is None or _any_between(sought, low, following):
                yield from _doclist(page, going_on, on_page[0][0] if on_page else end, term)
        for i, (_, start, name) in enumerate(on_page):
            if wanted is None or name in wanted:
                yield from _doclist(page, start, on_page[i + 1][0] if i + 1 < len(on_page) else end, name)
        if on_page:
            term = on_page[-1][2]


def _any_between(sought: list[int], low: int, high: int | None) -> bool:
    """Whether a sorted list holds a value from `low` up to (not including) `high`."""
    at = bisect.bisect_left(sought, low)
    return at < len(sought) and (high is None or sought[at] < high)


def _doclist(page: bytes, offset: int, stop: int, term: bytes) -> Iterator[Entry]:
    """The entries of one stretch of a doclist, which starts with an absolute rowid."""
    # Written for speed: varints of one byte, nearly all of them, are read inline.
    text = term[1:].decode("utf-8", "replace")  # the first byte names the index: '0' the main one
    rowid, absolute = 0, True
    while offset < stop:
        byte = page[offset]
        value, after = (byte, offset + 1) if byte < 0x80 else varint(page, offset)
        rowid = value if absolute else rowid + value
        absolute = False
        byte = page[after]
        size, offset = (byte, after + 1) if byte < 0x80 else varint(page, after)
        yield Entry(text, rowid, bool(size & 1))
        offset += size >> 1  # past the position list (beyond `stop` if it goes on to the next page)


def tokens(db: sqlite_utils.Database, texts: list[str], tokenize: str) -> set[str]:
    """The words FTS5 would index for `texts`, cut by the index's own tokenizer (in a
    temporary table: the connection may be read-only)."""
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.words USING fts5(text, tokenize='{tokenize}')")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.words_vocabulary USING fts5vocab(temp, words, 'row')")
    try:
        db.conn.executemany("INSERT INTO temp.words (text) VALUES (?)", [(t,) for t in texts])
        return {r[0] for r in db.execute("SELECT term FROM temp.words_vocabulary")}
    finally:
        db.execute("DROP TABLE temp.words_vocabulary")
        db.execute("DROP TABLE temp.words")
