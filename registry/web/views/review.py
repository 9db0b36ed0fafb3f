"""Reviewers' pages: the queue, a submission's preview with approve, reject and edit,
merging organisations, withdrawing relationships, the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from registry.rules.fields import ValidationError
from registry.services import approval, curation, preview, removal
from registry.store import curation as curation_store
from registry.store import imports as import_store
from registry.store import lookups
from registry.store import submissions as submission_store
from registry.web.db import get_db, get_vocabulary
from registry.web.forms import attach_errors
from registry.web.forms.review import ApproveForm, MergeForm, RejectForm, WithdrawForm
from registry.web.views.auth import reviewer_required
from registry.web.views.submit import build_form

bp = Blueprint("review", __name__, url_prefix="/review")
MAX_ID = 2**63 - 1
QUEUE_PAGE = 100
SUBJECTS = ("relationship_id", "disclosure_id", "breach_id", "organisation_id")  # what a response or figure is about


@bp.before_request
@reviewer_required
def require_reviewer() -> None:
    """Every page of this blueprint is for reviewers and admins only."""


def headline(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what a submission is about."""
    if payload.get("relationships"):
        r = payload["relationships"][0]
        names = {o["slug"]: o["name"] for o in payload.get("organisations", [])}

        def name(slug: str) -> str:
            return names.get(slug) or (lookups.by_slug(get_db(), "organisations", slug) or {}).get("name", slug)

        return f"{name(r['vendor'])} → {name(r['client'])} ({r['arrangement']})"
    if payload.get("breaches"):
        return f"Breach: {payload['breaches'][0]['title']}"
    for key, field in (("organisations", "name"), ("disclosures", "title"), ("sources", "title")):
        if payload.get(key):
            return payload[key][0][field]
    for key, what in (("responses", "Response"), ("observations", "Figure")):
        if payload.get(key):
            item = payload[key][0]
            column = next(
                c for c in ("relationship_id", "disclosure_id", "breach_id", "organisation_id") if item.get(c)
            )
            return f"{what} on {column.removesuffix('_id')} {item[column]}"
    if payload.get("corrections"):
        report = payload["corrections"][0]
        if report.get("breach_id"):
            return f"Error report on breach {report['breach_id']}"
        return f"Error report on relationship {report['relationship_id']}"
    if payload.get("import"):
        return f"Import of {payload['import']['file']}: {payload['import'].get('summary', '')}"
    return kind


@bp.get("")
def queue() -> str:
    """The oldest pending submissions, a page at a time (a busy day leaves thousands)."""
    db = get_db()
    total = submission_store.count_pending(db)
    pages = max(1, -(-total // QUEUE_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    found = submission_store.pending_submissions(db, QUEUE_PAGE, (page - 1) * QUEUE_PAGE)
    items = [{**s, "headline": headline(s["kind"], s["payload"])} for s in found]
    return render_template(
        "review_queue.html", items=items, total=total, page=page, pages=pages, first=(page - 1) * QUEUE_PAGE + 1
    )


def render_submission(submission_id: int, edit_form: Any = None, status: int = 200) -> tuple[str, int]:
    db = get_db()
    found = submission_store.submission(db, submission_id)
    if found is None:
        abort(404)
    if found["kind"] == "import":
        edit_form, shown = None, preview.describe_import(db, found)
    else:
        edit_form = edit_form or build_form(found["kind"], data=found["payload"]["form"])
        shown = preview.describe(db, found["payload"])
    return render_template(
        "review_submission.html",
        submission=found,
        preview=shown,
        reviews=submission_store.reviews_of(db, submission_id),
        edit_form=edit_form,
        approve_form=ApproveForm(),
        reject_form=RejectForm(),
        countries=lookups.country_names(db),
        removal=import_store.removal_progress(db, submission_id) if found["kind"] == "import" else None,
    ), status


@bp.get("/submissions/<int(max=9223372036854775807):submission_id>")
def submission(submission_id: int) -> tuple[str, int]:
    return render_submission(submission_id)


@bp.post("/submissions/<int(max=9223372036854775807):submission_id>/approve")
def approve(submission_id: int) -> Response:
    form = ApproveForm()
    if not form.validate_on_submit():
        flash("The form expired: approve again.")
        return redirect(url_for("review.submission", submission_id=submission_id), 303)
    try:
        approval.approve(current_app.config["SETTINGS"], submission_id, g.user, form.note.data or None,
                         form.person_name_reason.data or None)  # fmt: skip
    except (approval.ReviewError, ValidationError) as e:
        flash(f"Not approved: {e}")
        return redirect(url_for("review.submission", submission_id=submission_id), 303)
    flash("Approved and published.")
    return redirect(url_for("review.queue"), 303)


@bp.post("/submissions/<int(max=9223372036854775807):submission_id>/reject")
def reject(submission_id: int) -> Response | tuple[str, int]:
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Not rejected: " + "; ".join(form.reason.errors or ["the form expired"]))
        return redirect(url_for("review.submission", submission_id=submission_id), 303)
    assert form.reason.data is not None  # DataRequired
    try:
        rows_to_remove = approval.record_rejection(get_db(), submission_id, g.user, form.reason.data)
    except approval.ReviewError as e:
        flash(f"Not rejected: {e}")
        return redirect(url_for("review.submission", submission_id=submission_id), 303)
    if rows_to_remove:  # an import's rows go on a thread; its page shows how far it is
        removal.start(current_app.config["SETTINGS"].intake_db, submission_id)
        flash("Rejected. The import's rows are being removed: nothing of it was published.")
        return redirect(url_for("review.submission", submission_id=submission_id), 303)
    flash("Rejected.")
    return redirect(url_for("review.queue"), 303)


@bp.post("/submissions/<int(max=9223372036854775807):submission_id>/edit")
def edit(submission_id: int) -> Response | tuple[str, int]:
    found = submission_store.submission(get_db(), submission_id)
    if found is None:
        abort(404)
    form = build_form(found["kind"])
    if not form.validate_on_submit():
        return render_submission(submission_id, form, 422)
    try:
        approval.edit(get_db(), get_vocabulary(), submission_id, g.user, form.data)
    except ValidationError as e:
        attach_errors(form, e.errors)
        return render_submission(submission_id, form, 422)
    except approval.ReviewError as e:
        flash(f"Not saved: {e}")
    else:
        flash("Changes saved. Check the preview, then approve.")
    return redirect(url_for("review.submission", submission_id=submission_id), 303)


@bp.route("/organisations/merge", methods=["GET", "POST"])
def merge() -> Response | tuple[str, int]:
    asked = {k: request.args.get(k, type=int) for k in ("survivor_id", "other_id")}
    form = MergeForm(data={k: v for k, v in asked.items() if v is not None and 0 < v <= MAX_ID})
    if form.validate_on_submit():
        survivor_id, other_id, reason = form.survivor_id.data, form.other_id.data, form.reason.data
        assert survivor_id is not None and other_id is not None and reason is not None  # InputRequired, DataRequired
        action = curation.merge if form.decision.data == "merge" else curation.not_same
        try:
            action(current_app.config["SETTINGS"], survivor_id, other_id, g.user, reason.strip())
        except approval.ReviewError as e:
            form.survivor_id.errors = [*form.survivor_id.errors, str(e)]
        else:
            flash("Merged." if form.decision.data == "merge" else "Recorded: not the same organisation.")
            return redirect(url_for("review.merge"), 303)
    db = get_db()
    ids = (form.survivor_id.data, form.other_id.data)
    found = [lookups.organisation(db, i) for i in ids if isinstance(i, int) and 0 < i <= MAX_ID]
    status = 422 if request.method == "POST" else 200
    shown = [o for o in found if o]
    decisions = curation_store.decisions_between(db, shown[0]["id"], shown[1]["id"]) if len(shown) == 2 else []
    return render_template("review_merge.html", form=form, shown=shown, decisions=decisions), status


@bp.get("/relationships")
def published() -> str:
    text = request.args.get("q", "").strip()[:200]
    rows = lookups.search_relationships(get_db(), text)
    return render_template("review_published.html", rows=rows, q=text)


@bp.route("/relationships/<int(max=9223372036854775807):rel_id>", methods=["GET", "POST"])
def relationship(rel_id: int) -> Response | tuple[str, int]:
    db = get_db()
    rel = lookups.relationship(db, rel_id)
    if rel is None:
        abort(404)
    form = WithdrawForm()
    if form.validate_on_submit():
        assert form.reason.data is not None and form.public_reason.data is not None  # DataRequired
        settings = current_app.config["SETTINGS"]
        try:
            curation.withdraw(settings, rel_id, g.user, form.reason.data, form.public_reason.data)
        except approval.ReviewError as e:
            form.public_reason.errors = [*form.public_reason.errors, str(e)]
        else:
            flash(f"Relationship {rel_id} withdrawn from the public registry.")
            return redirect(url_for("review.relationship", rel_id=rel_id), 303)
    entries = submission_store.audit_entries(db, "relationships", rel_id)
    status = 422 if request.method == "POST" else 200
    withdrawal = curation_store.withdrawal(db, rel_id)
    html = render_template("review_relationship.html", rel=rel, form=form, entries=entries, withdrawal=withdrawal)
    return html, status


@bp.get("/audit")
def audit_log() -> str:
    table = request.args.get("table") or None
    row_id = request.args.get("row_id", type=int)
    if row_id is not None and not 0 < row_id <= MAX_ID:
        row_id = 0  # no row has this number: an empty log, not an error
    entries = submission_store.audit_entries(get_db(), table, row_id)
    return render_template("review_audit.html", entries=entries, table=table, row_id=row_id)
