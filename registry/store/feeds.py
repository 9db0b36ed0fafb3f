"""What a feed of new relationships or breaches is about, for its title: the names behind
the canned queries new_relationships' and new_breaches' parameters (vendor, country,
organisation, disclosure), read from registry.db. Used by Datasette's plugins atom_feed.py
(the feed's <title>) and feeds.py (the pages' <link rel="alternate">)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

SITE = "Exposure registry"
PARAMETERS = ("vendor", "country", "organisation", "disclosure")


def _one(conn: sqlite3.Connection, sql: str, value: str) -> str | None:
    row = conn.execute(sql, {"v": value}).fetchone()
    return str(row[0]) if row else None


def country_name(conn: sqlite3.Connection, value: str) -> str | None:
    """The English name of a country given by its code (BE, BEL) or its English or French name."""
    return _one(
        conn,
        "select name from countries where code = upper(:v) or code3 = upper(:v) "
        "or name = :v collate nocase or name_fr = :v collate nocase limit 1",
        value,
    )


def _by_key(conn: sqlite3.Connection, table: str, column: str, value: str) -> str | None:
    """`column` of the row of `table` given by its number, short name (slug) or `column`
    itself, each looked up in its own index (an OR of the three, or a cast of the id,
    would read every row: 200,000 organisations at a million relationships)."""
    if value.isdigit() and len(value) <= 18:
        row = conn.execute(f"select {column} from {table} where id = ?", [int(value)]).fetchone()
        if row:
            return str(row[0])
    for where in ("slug = :v", f"{column} = :v", f"{column} = :v collate nocase"):
        row = conn.execute(f"select {column} from {table} where {where} limit 1", {"v": value}).fetchone()
        if row:
            return str(row[0])
    return None


def organisation_name(conn: sqlite3.Connection, value: str) -> str | None:
    """The name of an organisation given by its number, short name (slug) or name."""
    return _by_key(conn, "organisations", "name", value)


def disclosure_title(conn: sqlite3.Connection, value: str) -> str | None:
    """The title of a disclosure given by its number, short name (slug) or title."""
    return _by_key(conn, "disclosures", "title", value)


def feed_title(conn: sqlite3.Connection, params: Mapping[str, str]) -> str:
    """Name every filter given: "New relationships: Clearview AI clients in Belgium — Exposure registry"."""
    given = {k: (params.get(k) or "").strip() for k in PARAMETERS}
    pieces = []
    if given["vendor"]:
        pieces.append(f"{organisation_name(conn, given['vendor']) or given['vendor']} clients")
    if given["country"]:
        country = country_name(conn, given["country"]) or given["country"]
        pieces.append(f"in {country}" if pieces else f"clients in {country}")
    if given["organisation"]:
        pieces.append(f"{organisation_name(conn, given['organisation']) or given['organisation']}, as vendor or client")
    if given["disclosure"]:
        pieces.append(f"revealed by {disclosure_title(conn, given['disclosure']) or given['disclosure']}")
    subject = f"New relationships: {' '.join(pieces)}" if pieces else "New relationships"
    return f"{subject} — {SITE}"


def breach_feed_title(conn: sqlite3.Connection, params: Mapping[str, str]) -> str:
    """Name every filter given: "New breaches: of Amazon, as breached organisation or vendor, in
    United States — Exposure registry"."""
    given = {k: (params.get(k) or "").strip() for k in PARAMETERS}
    pieces = []
    if given["organisation"]:
        name = organisation_name(conn, given["organisation"]) or given["organisation"]
        pieces.append(f"of {name}, as breached organisation or vendor")
    if given["vendor"]:
        pieces.append(f"through {organisation_name(conn, given['vendor']) or given['vendor']}")
    if given["country"]:
        country = given["country"]
        pieces.append(f"in {country_name(conn, country) or country}")
    if given["disclosure"]:
        pieces.append(f"made known by {disclosure_title(conn, given['disclosure']) or given['disclosure']}")
    subject = f"New breaches: {', '.join(pieces)}" if pieces else "New breaches"
    return f"{subject} — {SITE}"
