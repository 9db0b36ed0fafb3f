"""An import's reads of what was stored before it, the import lock, and the approval or
removal of everything one import submission created (its rows are written by
registry.store.staging)."""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from registry.store import staging
from registry.store.connection import DatabaseError, connect
from registry.store.records import now
from registry.store.writers import transaction


class ImportConflict(DatabaseError):
    """Another import is being written."""


# Tables an import writes, parents before children; each row carries submission_id
# where the table has one, so an import can be approved or removed as a whole.
IMPORT_TABLES = ("sources", "disclosures", "organisations", "organisation_aliases", "organisation_identifiers",
                 "relationships", "citations", "observations", "breaches", "breach_citations")  # fmt: skip
WITH_STATUS = ("sources", "disclosures", "organisations", "relationships", "observations", "breaches")
STAMPED = ("relationships", "breaches")  # approved_at is set on approval


def organisation_keys(db: sqlite_utils.Database) -> dict[str, list[tuple[int, str | None, str | None]]]:
    """name key -> [(id, country, subdivision)] for every approved organisation's name and aliases."""
    keys: dict[str, list[tuple[int, str | None, str | None]]] = defaultdict(list)
    rows = db.execute(
        "SELECT name_key, id, country, subdivision FROM organisations WHERE status = 'approved' "
        "UNION SELECT a.alias_key, o.id, o.country, o.subdivision FROM organisation_aliases a "
        "JOIN organisations o ON o.id = a.organisation_id WHERE o.status = 'approved'"
    )
    for key, *org in rows:
        keys[key].append(tuple(org))
    return keys


def aliases_of(db: sqlite_utils.Database, org_id: int) -> set[str]:
    rows = db.execute("SELECT name FROM organisations WHERE id = ? UNION SELECT alias FROM organisation_aliases "
                      "WHERE organisation_id = ?", [org_id, org_id])  # fmt: skip
    return {r[0] for r in rows}


def next_ids(db: sqlite_utils.Database) -> dict[str, int]:
    """The next free id of every table an import writes."""
    return {t: db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM [{t}]").fetchone()[0] for t in IMPORT_TABLES}


def source_ids_by_url(db: sqlite_utils.Database, urls: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    batch = list(urls)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT url, id FROM sources WHERE url IN ({marks}) AND status = 'approved'", chunk)
        found.update({url: i for url, i in rows})
    return found


def breaches_cited(db: sqlite_utils.Database, source_id: int | None) -> dict[str, int]:
    """locator -> breach of every breach (not rejected) citing `source_id`: the rows of a file
    imported before, which a new import of it matches instead of storing again."""
    if source_id is None:
        return {}
    rows = db.execute(
        "SELECT c.locator, c.breach_id FROM breach_citations c JOIN breaches b ON b.id = c.breach_id "
        "WHERE c.source_id = ? AND b.status <> 'rejected'",
        [source_id],
    )
    return {locator: breach_id for locator, breach_id in rows}


def breach_identities(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every approved breach with what a mapping's `match` may compare: its organisation, dates,
    numbers affected, title, and its types and media as sorted comma-joined codes."""
    return list(
        db.query(
            "SELECT b.id, b.organisation_id, b.title, b.start_date, b.end_date, b.discovered_date, b.notified_date, "
            "b.affected_low, b.affected_high, "
            "(SELECT group_concat(breach_type, ',') FROM (SELECT breach_type FROM breaches_breach_types "
            " WHERE breach_id = b.id ORDER BY 1)) AS breach_types, "
            "(SELECT group_concat(medium, ',') FROM (SELECT medium FROM breaches_breach_media "
            " WHERE breach_id = b.id ORDER BY 1)) AS media "
            "FROM breaches b WHERE b.status = 'approved' ORDER BY b.id"
        )
    )


def slugs_in_use(db: sqlite_utils.Database, table: str, slugs: Iterable[str]) -> set[str]:
    """Which of `slugs` rows of `table` have."""
    found: set[str] = set()
    batch = list(slugs)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        rows = db.execute(f"SELECT slug FROM [{table}] WHERE slug IN ({','.join('?' * len(chunk))})", chunk)
        found.update(slug for (slug,) in rows)
    return found


def identifier_owner(db: sqlite_utils.Database, scheme: str, value: str) -> int | None:
    row = db.execute(
        "SELECT organisation_id FROM organisation_identifiers WHERE scheme = ? AND value = ?", [scheme, value]
    ).fetchone()
    return row[0] if row else None


def approve_import(db: sqlite_utils.Database, submission_id: int) -> dict[str, int]:
    """Approve every pending row the import created; return counts per table."""
    stamp = now()
    return {
        t: db.execute(
            f"UPDATE [{t}] SET status = 'approved'{', approved_at = ?' if t in STAMPED else ''} "
            "WHERE submission_id = ? AND status = 'pending'",
            [stamp, submission_id] if t in STAMPED else [submission_id],
        ).rowcount
        for t in WITH_STATUS
    }


# Children before parents, so that no foreign key ever points at a removed row.
REMOVAL_ORDER = ("citations", "observations", "breach_citations", *staging.LINKS, "breaches", "relationships",
                 "organisation_identifiers", "organisation_aliases", "organisations", "disclosures",
                 "sources")  # fmt: skip


REMOVAL_CHUNK = 5000  # rows per write transaction of a rejected import's removal


def remove_rows_in_chunks(
    db: sqlite_utils.Database,
    submission_id: int,
    chunk: int = REMOVAL_CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Delete the rows an import created, a few thousand per short write transaction:
    contributors' submissions never wait long behind it. Safe to run again if stopped.
    `on_chunk(rows)` runs inside each chunk's transaction, after its rows went. Each
    chunk costs the same whatever the import's size (every foreign key has an index: see
    tests/test_schema_indexes.py), so the removal's time grows linearly with its rows."""
    first = first_ids(db, submission_id)
    pacer = staging.Pacer(db)
    for table in REMOVAL_ORDER:
        if table in staging.LINKS:
            _remove_links(pacer, table, submission_id, first.get("breaches", 0), chunk)
            continue
        while True:
            with pacer.chunk():
                gone = db.execute(
                    f"DELETE FROM [{table}] WHERE id IN (SELECT id FROM [{table}] WHERE id >= ? AND submission_id = ? "
                    "ORDER BY id LIMIT ?)",
                    [first.get(table, 0), submission_id, chunk],
                ).rowcount
                if on_chunk is not None and gone:
                    on_chunk(gone)
            if gone < chunk:
                break


def _remove_links(pacer: staging.Pacer, table: str, submission_id: int, first: int, chunk: int) -> None:
    """Delete the rows of `table` (no id nor submission of their own) of an import's breaches, a
    chunk of breaches at a time."""
    after = first - 1
    while True:
        with pacer.chunk():
            last = pacer.db.execute(
                "SELECT max(id) FROM (SELECT id FROM breaches WHERE id > ? AND submission_id = ? ORDER BY id LIMIT ?)",
                [after, submission_id, chunk],
            ).fetchone()[0]
            if last is None:
                return
            pacer.db.execute(
                f"DELETE FROM [{table}] WHERE breach_id IN (SELECT id FROM breaches WHERE id > ? AND id <= ? "
                "AND submission_id = ?)",
                [after, last, submission_id],
            )
        after = last


def remove_import_in_chunks(db: sqlite_utils.Database, submission_id: int, chunk: int = 5000) -> None:
    """Delete an unfinished import's rows, then its submission."""
    remove_rows_in_chunks(db, submission_id, chunk)
    with transaction(db):
        db.execute("DELETE FROM submissions WHERE id = ? AND status = 'importing'", [submission_id])


def mark_removing(db: sqlite_utils.Database, submission_id: int) -> None:
    """Note, inside the rejecting transaction, that the import's rows are still to be removed."""
    db.execute(
        "UPDATE submissions SET payload = json_set(payload, '$.import.removing', json('true')) WHERE id = ?",
        [submission_id],
    )


def finish_removal(db: sqlite_utils.Database, submission_id: int) -> None:
    """Remove a rejected import's rows in short transactions, then clear the note. Its
    progress (`$.import.removal`: rows removed, of how many) is written with each chunk,
    for the review page; a removal started again after a stop counts on from there."""
    removed, _ = removal_progress(db, submission_id) or (0, 0)
    total = removed + import_row_count(db, submission_id)
    done = [removed]

    def note(rows: int) -> None:
        done[0] += rows
        _note_progress(db, submission_id, done[0], total)

    with transaction(db):
        _note_progress(db, submission_id, removed, total)
    remove_rows_in_chunks(db, submission_id, REMOVAL_CHUNK, on_chunk=note)  # read now: a test may set it
    with transaction(db):
        db.execute(
            "UPDATE submissions SET payload = json_remove(payload, '$.import.removing', '$.import.removal') "
            "WHERE id = ?",
            [submission_id],
        )


def _note_progress(db: sqlite_utils.Database, submission_id: int, removed: int, total: int) -> None:
    db.execute(
        "UPDATE submissions SET payload = json_set(payload, '$.import.removal', json_object('removed', ?, 'total', ?)) "
        "WHERE id = ?",
        [removed, total, submission_id],
    )


def import_row_count(db: sqlite_utils.Database, submission_id: int) -> int:
    """How many rows of the tables with a submission_id an import still has (each read from
    its submission_id index)."""
    return sum(
        db.execute(f"SELECT count(*) FROM [{t}] WHERE submission_id = ?", [submission_id]).fetchone()[0]
        for t in IMPORT_TABLES
    )


def removal_progress(db: sqlite_utils.Database, submission_id: int) -> tuple[int, int] | None:
    """(rows removed, of how many) of a rejected import whose rows are being removed; None
    when none are (never rejected, or all gone)."""
    row = db.execute(
        "SELECT json_extract(payload, '$.import.removing'), json_extract(payload, '$.import.removal.removed'), "
        "json_extract(payload, '$.import.removal.total') FROM submissions WHERE id = ?",
        [submission_id],
    ).fetchone()
    if not row or not row[0]:
        return None
    return int(row[1] or 0), int(row[2] or 0)


def imports_being_removed(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """(id, reference) of rejected imports whose rows were not all removed (the process stopped)."""
    return [
        tuple(r)
        for r in db.execute(
            "SELECT id, reference FROM submissions WHERE kind = 'import' AND status = 'rejected' "
            "AND json_extract(payload, '$.import.removing')"
        )
    ]


def first_ids(db: sqlite_utils.Database, submission_id: int) -> dict[str, int]:
    """The first id an import could have written in each table (kept in its payload)."""
    row = db.execute(
        "SELECT json_extract(payload, '$.import.first_ids') FROM submissions WHERE id = ?", [submission_id]
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def unfinished_imports(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """(id, reference) of imports still being written, or abandoned mid-way."""
    return [tuple(r) for r in db.execute("SELECT id, reference FROM submissions WHERE status = 'importing'")]


@contextlib.contextmanager
def import_lock(intake_db: Path) -> Iterator[bool]:
    """Hold the import lock of an intake.db (a file beside it, locked with flock): True if
    taken, False if another import holds it. The kernel releases it when the holder dies,
    so a lock that can be taken means no import is being written."""
    path = intake_db.with_name(intake_db.name + ".import-lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_abandoned(db: sqlite_utils.Database, intake_db: Path) -> list[str]:
    """Remove the rows and staging files of imports left unfinished (their writer died or
    failed); the caller holds the import lock. Returns their references."""
    found = unfinished_imports(db)
    for submission_id, _ in found:
        remove_import_in_chunks(db, submission_id)
    rejected = imports_being_removed(db)
    for submission_id, _ in rejected:
        finish_removal(db, submission_id)
    found += rejected
    for path in staging.leftovers(intake_db):
        path.unlink(missing_ok=True)
    return [reference for _, reference in found]


def clean_up(intake_db: Path) -> list[str]:
    """Remove abandoned imports unless an import is being written now; their references."""
    with import_lock(intake_db) as taken:
        if not taken:
            return []
        db = connect(intake_db)
        try:
            tune_for_bulk(db)
            return remove_abandoned(db, intake_db)
        finally:
            db.close()


def import_preview(db: sqlite_utils.Database, submission_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The first relationships an import created, with labels, as they would be published."""
    return list(
        db.query(
            "SELECT r.id, v.name AS vendor, c.name AS client, s.label AS client_sector, co.name AS client_country, "
            "c.subdivision, a.label AS arrangement, r.product, r.start_date, r.summary, c.status AS client_status "
            "FROM relationships r JOIN organisations v ON v.id = r.vendor_id "
            "JOIN organisations c ON c.id = r.client_id "
            "JOIN sectors s ON s.code = c.sector LEFT JOIN countries co ON co.code = c.country "
            "JOIN arrangements a ON a.code = r.arrangement_code WHERE r.submission_id = ? ORDER BY r.id LIMIT ?",
            [submission_id, limit],
        )
    )


def breach_preview(db: sqlite_utils.Database, submission_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The first breaches an import created, with labels, as they would be published."""
    labels = ("SELECT group_concat(label, ', ') FROM (SELECT v.label FROM {links} l JOIN {vocabulary} v ON v.code = "
              "l.{column} WHERE l.breach_id = b.id ORDER BY v.label)")  # fmt: skip
    return list(
        db.query(
            "SELECT b.id, b.title, o.name AS organisation, o.status = 'pending' AS organisation_new, co.name AS "
            "country, v.name AS vendor, v.status = 'pending' AS vendor_new, b.start_date, b.end_date, "
            "b.discovered_date, b.notified_date, b.affected_low, b.affected_high, b.affected_unit, "
            f"({labels.format(links='breaches_breach_types', vocabulary='breach_types', column='breach_type')}) "
            "AS breach_types, "
            f"({labels.format(links='breaches_data_kinds', vocabulary='data_kinds', column='data_kind')}) "
            "AS data_kinds, "
            f"({labels.format(links='breaches_breach_media', vocabulary='breach_media', column='medium')}) AS media "
            "FROM breaches b JOIN organisations o ON o.id = b.organisation_id "
            "LEFT JOIN countries co ON co.code = o.country LEFT JOIN organisations v ON v.id = b.vendor_id "
            "WHERE b.submission_id = ? ORDER BY b.id LIMIT ?",
            [submission_id, limit],
        )
    )


def new_organisations(db: sqlite_utils.Database, submission_id: int, limit: int = 500) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, name, country, subdivision FROM organisations WHERE submission_id = ? ORDER BY id LIMIT ?",
            [submission_id, limit],
        )
    )


def organisation_names(db: sqlite_utils.Database, submission_id: int) -> Iterator[tuple[int, str, str | None]]:
    """(id, name, person_name_reason) of every organisation an import made."""
    sql = "SELECT id, name, person_name_reason FROM organisations WHERE submission_id = ? ORDER BY id"
    for row in db.execute(sql, [submission_id]):
        yield row[0], row[1], row[2]


def unstated_organisations(db: sqlite_utils.Database, ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, name) of the organisations among `ids` still without a person_name_reason: those an
    import flagged, less the ones a reviewer has since stated."""
    found: list[tuple[int, str]] = []
    batch = sorted(set(ids))
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT id, name FROM organisations WHERE id IN ({marks}) AND person_name_reason IS NULL ORDER BY id",
            chunk,
        )
        found += [(i, name) for i, name in rows]
    return found


def state_person_name_reason(db: sqlite_utils.Database, ids: list[int], reason: str) -> None:
    """Record a reviewer's statement of why these names, which look like people's, are organisations'."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        db.execute(f"UPDATE organisations SET person_name_reason = ? WHERE id IN ({marks})", [reason, *chunk])


def tune_for_bulk(db: sqlite_utils.Database) -> None:
    """A larger page cache for the import's connection: index updates stay in memory."""
    db.execute("PRAGMA cache_size = -24576")  # 24 MB: the move mostly appends to its indexes
    db.execute("PRAGMA temp_store = MEMORY")
    # Chunks commit without a sync: a crash
    # of the process loses nothing committed, a power cut at worst the last chunks (the
    # import then stays unfinished and is removed). The last commit syncs: see sync_commits.
    db.execute("PRAGMA synchronous = NORMAL")


def sync_commits(db: sqlite_utils.Database) -> None:
    """Sync this connection's commits to disk (the one that makes an import whole)."""
    db.execute("PRAGMA synchronous = FULL")


def pending_import(db: sqlite_utils.Database) -> str | None:
    """The reference of an import waiting for review, if any."""
    row = db.execute(
        "SELECT reference FROM submissions WHERE kind = 'import' AND status IN ('pending', 'importing') LIMIT 1"
    ).fetchone()
    return row[0] if row else None


# What makes a relationship's stage: a later row giving other values is reported.
STAGE_FIELDS = ("arrangement_code", "trial_days", "start_date", "end_date")
