"""Contributors' pages: the submission forms (seven kinds of record, and error reports), the
confirmation, name suggestions."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from registry.rules.fields import ValidationError
from registry.rules.limits import longest
from registry.rules.names import name_key
from registry.services import submissions
from registry.store import lookups
from registry.store import submissions as submission_store
from registry.web.db import get_db, get_vocabulary
from registry.web.forms import attach_errors, set_choices
from registry.web.forms.submit import (
    BreachForm,
    CorrectionForm,
    DisclosureForm,
    FigureForm,
    OrganisationForm,
    OrganisationPickForm,
    RelationshipForm,
    ResponseForm,
    SourceForm,
    suggest_government_level,
)
from registry.web.ratelimit import limiter, submit_limit

bp = Blueprint("submit", __name__)

FORMS: dict[str, type[FlaskForm]] = {
    "relationship": RelationshipForm,
    "organisation": OrganisationForm,
    "source": SourceForm,
    "disclosure": DisclosureForm,
    "breach": BreachForm,
    "response": ResponseForm,
    "figure": FigureForm,
    "correction": CorrectionForm,
}
TITLES = {
    "relationship": "A vendor-client relationship",
    "organisation": "An organisation",
    "source": "A source",
    "disclosure": "A disclosure",
    "breach": "A breach",
    "response": "A response (right of reply)",
    "figure": "A figure about an organisation or a breach",
    "correction": "An error report",
}
# Which vocabulary table fills each select field, per form.
VOCABULARIES = {
    "relationship": {"kind": "organisation_kinds", "sector": "sectors", "arrangement": "arrangements"},
    "organisation": {"kind": "organisation_kinds", "sector": "sectors", "government_level": "government_levels"},
    "source": {},
    "disclosure": {"kind": "disclosure_kinds"},
    "breach": {
        "kind": "organisation_kinds",
        "sector": "sectors",
        "breach_types": "breach_types",
        "data_kinds": "data_kinds",
        "media": "breach_media",
    },
    "response": {"kind": "response_kinds"},
    "figure": {},
    "correction": {},
}
# The forms a published record's page links to, filled with its number
# (/submit/response?relationship=5, ?disclosure=2, ?breach=7; /submit/figure?breach=7).
PREFILLED = {
    "response": {"relationship": "relationship_id", "disclosure": "disclosure_id", "breach": "breach_id"},
    "figure": {"breach": "breach_id"},
    "correction": {"relationship": "relationship_id", "breach": "breach_id"},
}
# The organisation pickers (OrganisationPickForm) a link fills by number or name
# (/submit/figure?organisation=3, /submit/response?disclosure=2&organisation=Clearview+AI).
PICKERS = {"figure": "organisation", "response": "responder"}
NUMBER = re.compile(r"[0-9]{1,18}")  # a record's number in a link ("²".isdigit() is true, int("²") fails)
ABOUT_RELATIONSHIP = ("response", "correction")


def build_form(kind: str, data: dict | None = None) -> FlaskForm:
    """The form for `kind`, with its choices from the vocabulary tables."""
    if data is not None and kind in PICKERS and data.get("organisation_id"):
        # A submission stored before the picker gave the organisation's number only.
        data = {**data, PICKERS[kind]: {"id": data["organisation_id"]}}
    form = FORMS[kind](data=data) if data is not None else FORMS[kind]()
    labels = get_vocabulary().labels
    choices = {field: list(labels[table]) for field, table in VOCABULARIES[kind].items()}
    if kind in ("relationship", "breach"):
        field = "disclosure" if kind == "relationship" else "disclosures"
        choices[field] = [(str(i), title) for i, title in lookups.disclosure_choices(get_db())]
    set_choices(form, choices)
    if not form.idempotency_key.data:
        form.idempotency_key.data = uuid.uuid4().hex
    if kind in PICKERS and not form[PICKERS[kind]].form.name.data:  # never over a name the contributor typed
        show_picked_name(form[PICKERS[kind]].form)
    return form


def show_picked_name(picker: OrganisationPickForm) -> None:
    """Show the name of the organisation a number stands for (a link, a stored submission),
    so the contributor sees whom the form is about."""
    number = picker.id.data
    if isinstance(number, int) and 0 < number < 2**63 and (found := lookups.organisation(get_db(), number)):
        picker.name.data = found["name"]


def fill_picker(picker: OrganisationPickForm, wanted: str) -> None:
    """Fill a picker from a link: a number, or a name that names one organisation."""
    if NUMBER.fullmatch(wanted):
        picker.id.data = int(wanted)
        show_picked_name(picker)
        return
    picker.name.data = wanted[: longest("organisations", "name")]
    exact = lookups.organisations_with_key(get_db(), name_key(picker.name.data))
    picker.id.data = exact[0]["id"] if len(exact) == 1 else None  # else resolved, with near matches, on submission


def offer_candidates(kind: str, form: FlaskForm) -> None:
    """After a name that did not resolve, offer the organisations it could mean as choices
    (the message on the name field lists them too)."""
    picker = form[PICKERS[kind]].form if kind in PICKERS else None
    if picker is not None and picker.name.errors and picker.name.data and not picker.id.data:
        picker.choice.candidates = submissions.pick_organisation(get_db(), picker.name.data).candidates


def render_form(kind: str, form: FlaskForm, problems: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    if isinstance(form, OrganisationForm):
        suggest_government_level(form)
    db = get_db()
    countries = lookups.country_names(db)
    about = None
    number = form.relationship_id.data if kind in ABOUT_RELATIONSHIP else None
    if isinstance(number, int) and 0 < number < 2**63:  # as typed: it may be out of SQLite's range
        found = lookups.relationship(db, number)
        about = found if found is not None and found["status"] == "approved" else None
    html = render_template(
        "submit.html",
        kind=kind,
        title=TITLES[kind],
        form=form,
        countries=countries,
        problems=problems or [],
        about=about,
        about_other=about_other(kind, form),
    )
    return html, status


def about_other(kind: str, form: FlaskForm) -> str | None:
    """What a response or a figure is about when it names a published disclosure, breach
    or organisation: one line, so the contributor sees the number stands for what they mean."""
    db = get_db()
    for field in ("disclosure_id", "breach_id", "organisation_id"):
        if field == "organisation_id":
            number = form["organisation"].form.id.data if kind == "figure" else None
        else:
            number = form[field].data if kind in ("response", "figure") and field in form else None
        if not (isinstance(number, int) and 0 < number < 2**63):
            continue
        if field == "disclosure_id" and (found := lookups.disclosure(db, number)):
            return f"About disclosure {number}: {found['title']}."
        if field == "breach_id" and (found := lookups.breach(db, number)):
            return f"About breach {number}: {found['title']} ({found['organisation']})."
        if field == "organisation_id" and (found := lookups.organisation(db, number)) and kind == "figure":
            return f"About organisation {number}: {found['name']}."
    return None


@bp.get("/submit")
def index() -> str:
    return render_template("submit_index.html", titles=TITLES)


@bp.route("/submit/<kind>", methods=["GET", "POST"])
@limiter.limit(submit_limit, methods=["POST"], scope="submissions")
def submit(kind: str) -> Response | tuple[str, int]:
    if kind not in FORMS:
        abort(404)
    form = build_form(kind)
    for parameter, field in PREFILLED.get(kind, {}).items():
        wanted = request.args.get(parameter, "")
        if request.method == "GET" and NUMBER.fullmatch(wanted):
            form[field].data = int(wanted)
    if request.method == "GET" and kind in PICKERS and request.args.get("organisation"):
        fill_picker(form[PICKERS[kind]].form, request.args["organisation"])
    if not form.validate_on_submit():
        return render_form(kind, form, status=422 if request.method == "POST" else 200)
    try:
        reference = submissions.submit(get_db(), get_vocabulary(), kind, form.data)
    except ValidationError as e:
        problems = attach_errors(form, e.errors)
        offer_candidates(kind, form)
        return render_form(kind, form, problems, status=422)
    return redirect(url_for("submit.submitted", reference=reference), 303)


@bp.get("/submitted/<reference>")
def submitted(reference: str) -> str:
    found = submission_store.submission_by_reference(get_db(), reference)
    if found is None:
        abort(404)
    return render_template("submitted.html", submission=found)


@bp.get("/organisations/suggest")
def suggest_organisations() -> Response:
    """Existing organisations whose name or alias looks the same as what is typed."""
    text = request.args.get("q", "")[:300]
    return jsonify(lookups.suggest_organisations(get_db(), name_key(text)) if len(text.strip()) >= 2 else [])


@bp.get("/sources/suggest")
def suggest_sources() -> Response:
    text = request.args.get("q", "")[:300].strip()
    return jsonify(lookups.suggest_sources(get_db(), text) if len(text) >= 3 else [])
