"""What a feed of new relationships is about, for its title: the names behind the canned
query new_relationships' parameters (vendor, country, organisation, disclosure), read from
registry.db. Used by Datasette's plugins atom_feed.py (the feed's <title>) and feeds.py
(the pages' <link rel="alternate">)."""

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


def organisation_name(conn: sqlite3.Connection, value: str) -> str | None:
    """The name of an organisation given by its number, short name (slug) or name."""
    return _one(
        conn,
        "select name from organisations where cast(id as text) = :v or slug = :v or name = :v collate nocase limit 1",
        value,
    )


def disclosure_title(conn: sqlite3.Connection, value: str) -> str | None:
    """The title of a disclosure given by its number, short name (slug) or title."""
    return _one(
        conn,
        "select title from disclosures where cast(id as text) = :v or slug = :v or title = :v collate nocase limit 1",
        value,
    )


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
