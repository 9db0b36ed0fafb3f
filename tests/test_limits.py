"""One source for each field limit (registry/rules/limits.py), agreeing with schema.sql,
and staging's columns tied to the intake schema."""

from __future__ import annotations

import re

import pytest
from wtforms.validators import Length, NumberRange

from registry.rules import limits
from registry.rules.fields import ValidationError
from registry.rules.records import build_relationship
from registry.store import staging
from registry.store.connection import connect
from registry.store.schema import schema_for, stored_columns
from registry.store.vocabulary import load_vocabulary
from registry.web.forms import review, submit

TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)(?: WITHOUT ROWID,)? STRICT;", re.DOTALL)
COLUMN = re.compile(r"^    (\w+) (?:TEXT|INTEGER|REAL)\b(.*)$", re.MULTILINE)
LONGEST = re.compile(r"length\((\w+)\) <= (\d+)")
LENGTH_BETWEEN = re.compile(r"length\((\w+)\) BETWEEN (\d+) AND (\d+)")
BETWEEN = re.compile(r"(?<!length\()\b(\w+) BETWEEN (-?\d+) AND (-?\d+)")
AT_LEAST = re.compile(r"\b(\w+) >= (-?\d+)\b")


@pytest.fixture
def vocabulary(seeded):
    db = connect(seeded.intake_db)
    try:
        yield load_vocabulary(db)
    finally:
        db.close()


def schema_checks() -> list[tuple[str, str, str, tuple[int, ...]]]:
    """(table, column, kind of limit, numbers) for every limit schema.sql's intake part sets."""
    found = []
    for table, body in TABLE.findall(schema_for("intake")):
        for column, rest in COLUMN.findall(body):
            for name, most in LONGEST.findall(rest):
                found.append((table, name, "longest", (int(most),)))
            for name, least, most in LENGTH_BETWEEN.findall(rest):
                found.append((table, name, "length between", (int(least), int(most))))
            for name, low, high in BETWEEN.findall(rest.replace("length(", "length_of(")):
                if not name.startswith("length_of"):
                    found.append((table, name, "between", (int(low), int(high))))
            for name, low in AT_LEAST.findall(rest):
                if name == column:
                    found.append((table, name, "at least", (int(low),)))
    return found


def test_the_parser_finds_the_limits_we_know_are_there():
    checks = schema_checks()
    assert ("relationships", "trial_days", "between", (1, 3650)) in checks
    assert ("relationships", "summary", "longest", (1000,)) in checks
    assert ("sources", "language", "length between", (2, 3)) in checks
    assert ("disclosures", "reported_count", "at least", (0,)) in checks
    assert len(checks) >= 15


@pytest.mark.parametrize("check", schema_checks(), ids=lambda c: f"{c[0]}.{c[1]}:{c[2]}")
def test_every_check_in_schema_sql_agrees_with_limits(check):
    table, column, kind, numbers = check
    if kind == "longest":
        assert limits.LONGEST.get(table, {}).get(column) == numbers[0], f"{table}.{column}: schema.sql says {numbers}"
    elif kind == "length between":
        assert limits.SHORTEST[table][column] == numbers[0]
        assert limits.LONGEST[table][column] == numbers[1]
    elif kind == "between":
        assert limits.RANGES[table][column] == numbers
    else:
        assert limits.RANGES[table][column][0] == numbers[0]


def test_every_limit_names_a_column_of_the_intake_schema():
    columns = stored_columns("intake")
    for table_limits in (limits.LONGEST, limits.SHORTEST, limits.RANGES):
        for table, fields in table_limits.items():
            for column in fields:
                assert column in columns.get(table, ()), f"{table}.{column} is not in schema.sql"


def field_max(form, name: str) -> int:
    field = getattr(form, name)
    validators = field.kwargs.get("validators") or field.args[1]
    return next(v.max for v in validators if isinstance(v, Length))


@pytest.mark.parametrize(
    ("form", "field", "table", "column"),
    [
        (submit.RelationshipForm, "summary", "relationships", "summary"),
        (submit.RelationshipForm, "notes", "relationships", "notes"),
        (submit.RelationshipForm, "product", "relationships", "product"),
        (submit.RelationshipForm, "locator", "citations", "locator"),
        (submit.RelationshipForm, "quote", "citations", "quote"),
        (submit.OrganisationForm, "name", "organisations", "name"),
        (submit.OrganisationForm, "description", "organisations", "description"),
        (submit.DisclosureForm, "description", "disclosures", "description"),
        (submit.DisclosureForm, "completeness_note", "disclosures", "completeness_note"),
        (submit.ResponseForm, "summary", "responses", "summary"),
        (submit.SourceRefForm, "title", "sources", "title"),
        (submit.SubmitterForm, "submitter_contact", "submissions", "submitter_contact"),
        (review.WithdrawForm, "reason", "audit_log", "reason"),
    ],
)
def test_forms_take_their_limits_from_the_one_source(form, field, table, column):
    assert field_max(form, field) == limits.longest(table, column)


def test_the_trial_length_of_form_and_builder_is_the_schema_s(vocabulary):
    field = submit.RelationshipForm.trial_days
    bounds = next(v for v in field.args[1] if isinstance(v, NumberRange))
    assert (bounds.min, bounds.max) == limits.span("relationships", "trial_days")
    low, high = limits.span("relationships", "trial_days")
    base = {
        "vendor": "a",
        "client": "b",
        "arrangement": "trial",
        "summary": "s",
        "citations": [{"source": "x", "locator": "p. 1"}],
    }
    assert build_relationship({**base, "trial_days": high}, vocabulary).trial_days == high
    for days in (low - 1, high + 1):
        with pytest.raises(ValidationError) as e:
            build_relationship({**base, "trial_days": days}, vocabulary)
        assert [err.field for err in e.value.errors] == ["trial_days"]


def test_the_builder_refuses_one_character_past_the_limit(vocabulary):
    most = limits.longest("relationships", "summary")
    base = {"vendor": "a", "client": "b", "arrangement": "contract", "citations": [{"source": "x", "locator": "1"}]}
    assert build_relationship({**base, "summary": "x" * most}, vocabulary).summary == "x" * most
    with pytest.raises(ValidationError) as e:
        build_relationship({**base, "summary": "x" * (most + 1)}, vocabulary)
    assert [err.field for err in e.value.errors] == ["summary"]


def test_staging_stages_every_written_column_of_the_intake_tables():
    written = stored_columns("intake")
    for table, columns in staging.COLUMNS.items():
        left_out = [c for c in written[table] if c not in columns]
        assert left_out == list(staging.NOT_STAGED.get(table, ())), table
        assert [c for c in written[table] if c in columns] == list(columns), f"{table}: not in schema order"


def test_what_staging_leaves_out_may_be_left_empty():
    """An imported row is written without the columns staging leaves out: each must be
    nullable, with no default needed."""
    schema = schema_for("intake")
    for table, columns in staging.NOT_STAGED.items():
        body = dict(TABLE.findall(schema))[table]
        for column in columns:
            declaration = dict(COLUMN.findall(body))[column]
            assert "NOT NULL" not in declaration, f"{table}.{column}"
