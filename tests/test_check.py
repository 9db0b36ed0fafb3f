"""`registry check` finds private or withdrawn text anywhere in registry.db's file (every
table, shadow tables included, the search index's entries, the raw bytes), and only text
that is nowhere public: nobody can turn it red by submitting a published name."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.services import curation
from tests.conftest import invoke, post_form, query
from tests.test_relationship_page import relationship_id

PUBLIC_NOTICE = "The source does not name this client: it was listed in error."
WHISTLEBLOWER = "Jordan Whistleblower-Smith"


def check_output(expect: int) -> str:
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == expect, result.output
    return result.output


@pytest.fixture
def withdrawn(seeded, reviewer):
    """Clearview AI → Coinbase withdrawn; returns its id and summary."""
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    curation.withdraw(seeded, rel, reviewer, "Misread row of the leak", PUBLIC_NOTICE)
    summary = query(seeded.intake_db, "select summary from relationships where id = ?", [rel])[0][0]
    check_output(0)
    return rel, summary


def plant(path, sql: str, params: list) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "where"),
    [
        ("update sources set notes = 'Context: ' || ? where id = (select min(id) from sources)", "sources.notes"),
        ("insert into relationships_fts_config (k, v) values ('note', ?)", "relationships_fts_config.v"),
        ("insert into organisations_fts_docsize values (99999, cast(? as blob))", "organisations_fts_docsize.sz"),
        ("insert into sqlite_stat1 (tbl, idx, stat) values ('sources', null, ?)", "sqlite_stat1.stat"),
    ],
)  # fmt: skip
def test_check_names_withdrawn_text_planted_in_any_table(seeded, withdrawn, sql, where):
    rel, summary = withdrawn
    plant(seeded.registry_db, sql, [summary])
    assert f"registry.db {where} holds text of withdrawn relationship {rel} (summary)" in check_output(1)


def test_check_finds_withdrawn_text_left_in_free_pages(seeded, withdrawn):
    """A row deleted without secure_delete leaves its bytes in the file: in no table, but there."""
    rel, summary = withdrawn
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("pragma secure_delete = off")
    conn.execute("create table scratch (t text)")
    conn.execute("insert into scratch values (?)", [summary + " " + "padding " * 600])
    conn.commit()
    conn.execute("drop table scratch")
    conn.commit()
    assert conn.execute("pragma freelist_count").fetchone()[0] > 0
    conn.close()
    output = check_output(1)
    assert f"registry.db's raw bytes hold text of withdrawn relationship {rel} (summary)" in output


def test_check_finds_the_words_a_search_index_keeps_of_a_withdrawn_row(seeded, reviewer):
    """What a withdrawal did before issue 18: the row deleted, its words left in the index."""
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    row = query(seeded.registry_db, "select * from relationships where id = ?", [rel])[0]
    curation.withdraw(seeded, rel, reviewer, "Misread row of the leak", PUBLIC_NOTICE)
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute(f"insert into relationships values ({', '.join('?' * len(row))})", row)  # the FTS triggers index it
    conn.execute("delete from relationships where id = ?", [rel])  # and keep its words, with a "delete" entry
    conn.commit()
    conn.close()
    output = check_output(1)
    assert f"registry.db relationships_fts_data keeps words of withdrawn relationship {rel}: " in output
    assert "coinbase" in output
    assert invoke("publish", "--rebuild").exit_code == 0  # the remedy the message gives
    check_output(0)


def submit_source(client, submitter_name: str, title: str) -> None:
    data = {"source-title": title, "source-language": "en", "source-publisher": "Example News",
            "source-url": "https://example.org/a", "source-published_date": "2020-06",
            "submitter_name": submitter_name}  # fmt: skip
    assert post_form(client, "/submit/source", data).status_code == 303


def test_an_anonymous_submitter_named_like_a_published_vendor_does_not_fail_check(seeded, client):
    """ "Clearview AI" is private as a submitter's name, and published as a vendor: no leak."""
    submit_source(client, "Clearview AI", "A pending source")
    check_output(0)


@pytest.mark.parametrize(
    ("sql", "where"),
    [
        ("update organisations set description = 'Told by ' || ? where slug = 'coinbase'", "organisations.description"),
        ("insert into relationships_fts_config (k, v) values ('note', ?)", "relationships_fts_config.v"),
    ],
)  # fmt: skip
def test_a_genuinely_private_value_planted_anywhere_fails_check(seeded, client, sql, where):
    submit_source(client, WHISTLEBLOWER, "A pending source")
    check_output(0)
    plant(seeded.registry_db, sql, [WHISTLEBLOWER])
    assert f"registry.db {where} holds a private value" in check_output(1)
