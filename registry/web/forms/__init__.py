"""WTForms forms: the shape of each field, no SQL. Database checks live in the services."""

from __future__ import annotations

from collections.abc import Iterator

from wtforms import Field, Form, FormField
from wtforms.fields import SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import ValidationError as FormValidationError

from registry.rules.fields import FieldError, character_problem

BLANK_CHOICE = SelectChoice("", "— choose —")


def all_fields(form: Form) -> Iterator[Field]:
    """Every field of a form, subforms' fields included (named like "client-country")."""
    for field in form:
        if isinstance(field, FormField):
            yield from all_fields(field.form)
        else:
            yield field


def set_choices(form: Form, choices: dict[str, list[tuple[str, str]]]) -> None:
    """Give every SelectField whose short name is in `choices` its options, blank first
    (none for a field of several choices: choosing none is leaving all unticked)."""
    for field in all_fields(form):
        if isinstance(field, SelectField) and field.short_name in choices:
            options = [SelectChoice(value, label) for value, label in choices[field.short_name]]
            field.choices = options if isinstance(field, SelectMultipleField) else [BLANK_CHOICE, *options]


def attach_errors(form: Form, errors: list[FieldError]) -> list[str]:
    """Put each service error next to its field; return those that match no field."""
    fields = {field.name: field for field in all_fields(form)}
    unplaced = []
    for error in errors:
        field = fields.get(error.field)
        if field is None:
            unplaced.append(str(error))
        else:
            field.errors = [*field.errors, error.message]
    return unplaced


def plain_text(form: Form, field: Field) -> None:
    """A WTForms validator for text kept outside the record builders (an upload's submitter):
    the rule of registry/rules/fields.py, so every form refuses the same characters."""
    problem = character_problem(str(field.data or ""))
    if problem:
        raise FormValidationError(problem[0].upper() + problem[1:] + ".")
