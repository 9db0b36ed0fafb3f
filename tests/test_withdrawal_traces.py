"""A withdrawn relationship leaves no trace in registry.db: not in its rows, not in the
search index's shadow tables (FTS5 kept a deleted row's words, readable by public SQL:
issue 18, finding 7), not in the raw bytes of the file or its write-ahead log."""

from __future__ import annotations

import re
import sqlite3

import pytest

from registry.services import curation
from registry.store import public, search_index
from registry.store.connection import connect
from registry.store.schema import text_cells
from tests.conftest import invoke, query
from tests.test_relationship_page import relationship_id

PUBLIC_NOTICE = "The source does not name this client: it was listed in error."


def index_words(path, rowid: int) -> set[str]:
    """The words relationships_fts keeps against a row, read from its segments."""
    db = connect(path, readonly=True)
    try:
        return {e.term for e in search_index.entries(db, "relationships_fts") if e.rowid == rowid}
    finally:
        db.close()


def shadow_blobs(path) -> bytes:
    return b"".join(r[0] for r in query(path, "select block from relationships_fts_data"))


def words_nowhere_else(seeded, words: set[str]) -> set[str]:
    """Those of `words` that no published table of registry.db holds (the index left aside)."""
    db = connect(seeded.registry_db, readonly=True)
    try:
        cells = [cell for table in public.PUBLIC_TABLES for _, cell in text_cells(db, table)]
        return words - search_index.tokens(db, cells, public.TOKENIZE)
    finally:
        db.close()


@pytest.fixture
def coinbase(seeded):
    """Clearview AI → Coinbase: its summary has words no other relationship has."""
    return relationship_id(seeded, "clearview-ai", "coinbase")


def test_the_index_reader_sees_what_fts5_keeps(seeded, coinbase):
    """The reader of FTS5 segments agrees with FTS5 on a published row (it is what proves the rest)."""
    words = index_words(seeded.registry_db, coinbase)
    assert {"clearview", "coinbase", "compliance", "tested"} <= words
    db = connect(seeded.registry_db, readonly=True)
    try:
        indexed = search_index.tokens(db, [query(seeded.registry_db, "select vendor || ' ' || client || ' ' || "
                                                 "summary from relationships where id = ?", [coinbase])[0][0]],
                                      public.TOKENIZE)  # fmt: skip
    finally:
        db.close()
    assert indexed <= words


def test_a_withdrawn_relationships_words_leave_the_search_index(seeded, reviewer, coinbase):
    words = index_words(seeded.registry_db, coinbase)
    assert {"compliance", "tested", "teams"} <= words

    curation.withdraw(seeded, coinbase, reviewer, "Misread row of the leak", PUBLIC_NOTICE)

    unique = words_nowhere_else(seeded, words)
    assert {"compliance", "tested", "teams"} <= unique

    # Before the fix FTS5's "delete" entries spelt them out whole: public SQL read them there.
    blobs, file = shadow_blobs(seeded.registry_db), seeded.registry_db.read_bytes().lower()
    assert [w for w in unique if w.encode() in blobs] == []
    assert [w for w in unique if re.search(rb"(?<![a-z])" + w.encode() + rb"(?![a-z])", file)] == []
    assert index_words(seeded.registry_db, coinbase) == set()  # no entry, no "delete" entry either
    summary = query(seeded.intake_db, "select summary from relationships where id = ?", [coinbase])[0][0]
    assert summary.encode() not in file
    # The search still works, without it.
    db = connect(seeded.registry_db, readonly=True)
    try:
        hits = [
            r[0] for r in db.execute("select rowid from relationships_fts where relationships_fts match 'clearview'")
        ]
    finally:
        db.close()
    assert hits and coinbase not in hits
    assert invoke("check").exit_code == 0


def test_a_merge_that_folds_a_relationship_leaves_none_of_its_words(seeded, reviewer, reviewer_client):
    """Walmart Inc., merged into Walmart, had the same relationship from the same leak: it is
    folded into Walmart's and leaves registry.db, its words with it."""
    from tests.test_review import approve_new_client

    duplicate = approve_new_client(reviewer_client, seeded, "Walmart Inc.")
    folded = query(seeded.intake_db, "select id from relationships where client_id = ?", [duplicate])[0][0]
    leak = query(seeded.intake_db, "select id from disclosures where slug = 'clearview-client-list-2020'")[0][0]
    conn = sqlite3.connect(seeded.intake_db)
    conn.execute("update relationships set disclosure_id = ? where id = ?", [leak, folded])
    conn.commit()
    conn.close()
    assert invoke("publish").exit_code == 0
    assert "sylvania" in index_words(seeded.registry_db, folded)  # its summary names Sylvania's police
    walmart = query(seeded.intake_db, "select id from organisations where slug = 'walmart'")[0][0]

    curation.merge(seeded, walmart, duplicate, reviewer, "The same company, per its annual report.")

    assert query(seeded.intake_db, "select status from relationships where id = ?", [folded]) == [("merged",)]
    assert query(seeded.registry_db, "select count(*) from relationships where id = ?", [folded]) == [(0,)]
    assert index_words(seeded.registry_db, folded) == set()
    assert not re.search(rb"(?<![a-z])sylvania", seeded.registry_db.read_bytes().lower())  # not Pennsylvania
    assert invoke("check").exit_code == 0


def test_a_withdrawal_empties_the_write_ahead_log(seeded, reviewer, coinbase):
    """If registry.db is in WAL mode, the log holds old copies of pages: emptied and truncated."""
    conn = sqlite3.connect(seeded.registry_db)
    assert conn.execute("pragma journal_mode = wal").fetchone() == ("wal",)
    conn.close()
    curation.withdraw(seeded, coinbase, reviewer, "Misread row of the leak", PUBLIC_NOTICE)
    wal = seeded.registry_db.with_name("registry.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert index_words(seeded.registry_db, coinbase) == set()


def test_erasing_turns_secure_delete_on_whatever_the_build_default(seeded):
    """Debian's SQLite zeroes deleted content by default; SQLite's own build does not."""
    db = connect(seeded.registry_db)
    try:
        db.execute("PRAGMA secure_delete = OFF")
        public.erase_deleted_text(db)
        assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        db.close()
