"""Contributors upload a whole list: upload, edit the suggested mapping, preview every
row's problems, send it for review as one submission."""

from __future__ import annotations

import io
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms.fields import StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from registry.config import Settings
from registry.importer import budget, jobs, service, uploads
from registry.importer.readers import FORMATS, ReadError
from registry.importer.run import ImportReport
from registry.importer.suggest import suggest_mapping
from registry.store.connection import StorageFullError
from registry.web.errors import render_error
from registry.web.forms import plain_text
from registry.web.ratelimit import limiter, mapping_limit, preview_limit, submit_limit

bp = Blueprint("upload", __name__, url_prefix="/import")
logger = logging.getLogger(__name__)
PROBLEMS_SHOWN = 200


class UploadForm(FlaskForm):
    file = FileField(
        "The list",
        [FileRequired("Choose a file."), FileAllowed([e[1:] for e in FORMATS], "Upload CSV, XLSX, JSON or NDJSON.")],
        description="CSV (any delimiter, UTF-8, Windows-1252 or Latin-1), XLSX, JSON or NDJSON.",
    )
    submitter_name = StringField("Your name (optional, never published)", [Optional(), Length(max=200), plain_text],
                                 description="So reviewers can thank you.")  # fmt: skip
    submitter_contact = StringField(
        "Your email (optional, never published)",
        [
            Optional(),
            Length(max=200),
            plain_text,
            Email("Give an email address such as name@example.org, or leave it empty."),
        ],
        description="Only if reviewers may ask you about the list.",
    )


class MappingForm(FlaskForm):
    mapping = TextAreaField(
        "Mapping (YAML)",
        [DataRequired("Write the mapping."), Length(max=100_000, message="At most 100,000 characters.")],
        description="Which column feeds which field; see the README's 'Mapping files' for every key.",
    )


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def upload_meta(token: str) -> dict[str, Any]:
    meta = uploads.read_meta(settings(), token)
    if meta is None:  # no such upload, or deleted after its retention
        abort(404)
    return meta


def refuse_beyond_quota() -> tuple[str, int] | None:
    """429 when this address holds its quota of unsent uploads; 507 when the upload would
    take the disk below its reserve (left to intake.db: submissions, reviews, logins)."""
    s, size = settings(), request.content_length or 0
    held = uploads.held_by(s, uploads.holder(current_app.secret_key or "", get_remote_address()))
    if held.count >= s.upload_quota_files or held.size + size > s.upload_quota_mb * uploads.MB:
        return render_error(
            429,
            "Too many uploads waiting",
            f"Lists sent from your address and not yet sent for review already take {held.count} upload(s) "
            f"({held.size / uploads.MB:.1f} MB); at most {s.upload_quota_files} and {s.upload_quota_mb} MB may wait. "
            f"Send them for review, or wait: an upload not sent is deleted after {s.upload_retention_hours} hours.",
        )
    if not uploads.room_for(s, size):
        current_app.logger.error("Uploads refused: less than %s MB would stay free on the disk", s.disk_reserve_mb)
        return render_error(
            507,
            "The registry is out of space",
            "The server has no room for another upload just now, so nothing was stored. "
            "Please try again later; the operators have been told.",
        )
    return None


@bp.route("", methods=["GET", "POST"])
@limiter.limit(submit_limit, methods=["POST"], scope="submissions")
def upload() -> Any:
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("import_upload.html", form=form), 422 if form.is_submitted() else 200
    if refused := refuse_beyond_quota():
        form.file.data.close()  # the spooled upload, unread
        return refused
    s, token = settings(), secrets.token_urlsafe(18)
    name = secure_filename(form.file.data.filename or "") or "upload"
    suffix = Path(name).suffix.lower()
    path = uploads.save_file(s, token, suffix, form.file.data.stream)  # never the contributor's file name
    try:  # in a child process, within the reading budget: the file is anyone's
        columns, rows = budget.sample(path, 10, _budget(), name=name)
    except ReadError as e:
        path.unlink(missing_ok=True)
        form.file.errors = [str(e)]
        return render_template("import_upload.html", form=form), 422
    meta = {
        "name": name,
        "suffix": suffix,
        "submitter": [form.submitter_name.data or None, form.submitter_contact.data or None],
        "created_at": time.time(),
        "holder": uploads.holder(current_app.secret_key or "", get_remote_address()),
        "size": path.stat().st_size,
        "columns": columns,  # read once here: the mapping page shows them without reading the file again
        "rows": rows,
        "mapping": suggest_mapping(name, columns, rows),
    }
    try:
        uploads.write_meta(s, token, meta)
    except StorageFullError:
        path.unlink(missing_ok=True)
        raise
    return redirect(url_for("upload.mapping", token=token), 303)


def _budget() -> budget.Budget:
    return budget.Budget.of(current_app.config["SETTINGS"])


def _sample(token: str, meta: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    """The first rows as read at upload (older uploads: read now)."""
    if "columns" in meta:
        return meta["columns"], meta["rows"]
    try:
        return budget.sample(uploads.file_path(settings(), token, meta["suffix"]), 10, _budget(), name=meta["name"])
    except ReadError:
        return [], []


@bp.get("/<token>")
@limiter.limit(mapping_limit, scope="mapping")
def mapping(token: str) -> Any:
    meta = upload_meta(token)
    if meta.get("reference"):  # sent already: its file is gone, the submission holds the rows
        return redirect(url_for("submit.submitted", reference=meta["reference"]), 303)
    columns, rows = _sample(token, meta)
    form = MappingForm(data={"mapping": meta["mapping"]})
    return render_template("import_mapping.html", token=token, meta=meta, columns=columns, rows=rows, form=form)


@bp.post("/<token>/<any(preview, submit):action>")
@limiter.limit(submit_limit, scope="submissions")
@limiter.limit(preview_limit, scope="previews")
def run(token: str, action: str) -> Any:
    meta = upload_meta(token)
    if meta.get("reference"):  # sent already (a second click, a replay)
        return redirect(url_for("submit.submitted", reference=meta["reference"]), 303)
    form = MappingForm()
    if not form.validate_on_submit():
        columns, rows = _sample(token, meta)
        return render_template(
            "import_mapping.html", token=token, meta=meta, columns=columns, rows=rows, form=form
        ), 422
    meta["mapping"] = form.mapping.data
    s = settings()
    uploads.write_meta(s, token, meta)
    path = uploads.file_path(s, token, meta["suffix"])

    def work(progress: Any) -> service.ImportResult:
        result = service.import_file(
            s,
            path,
            mapping_text=meta["mapping"],
            dry_run=action == "preview",
            progress=progress,
            submitter=tuple(meta["submitter"]),
            file_name=meta["name"],
            budget=budget.Budget.of(s),
        )
        if result.reference and not result.dry_run:  # the submission holds the rows and the contact now
            try:
                uploads.mark_sent(s, token, result.reference)
            except (StorageFullError, OSError) as e:  # stored all the same; the clean-up deletes it later
                logger.error("upload %s sent as %s, not marked so: %s", token, result.reference, e)
        return result

    job = jobs.start(action, token, work, uploads.folder(s) / "jobs")
    return redirect(url_for("upload.job", job_id=job.id), 303)


def _job(job_id: str) -> jobs.Job:
    found = jobs.get(job_id, uploads.folder(settings()) / "jobs") if uploads.TOKEN.match(job_id) else None
    if found is None:
        abort(404)
    return found


@bp.get("/jobs/<job_id>.json")
def job_status(job_id: str) -> Response:
    job = _job(job_id)
    return jsonify({"state": job.state, "rows": job.rows})


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    job = _job(job_id)
    if job.state == "done" and job.kind == "submit" and job.result and job.result.reference:
        return redirect(url_for("submit.submitted", reference=job.result.reference), 303)
    meta = upload_meta(job.upload)
    report = job.report
    problems = (report.errors + report.skipped + report.flagged)[:PROBLEMS_SHOWN] if report else []
    form = MappingForm(data={"mapping": meta["mapping"]})
    return render_template("import_job.html", job=job, meta=meta, report=report, problems=problems, form=form)


@bp.get("/jobs/<job_id>/problems.csv")
def job_problems(job_id: str) -> Response:
    job = _job(job_id)
    report = job.report
    out = io.StringIO()
    (report or ImportReport()).to_csv(out)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=problems-{job.id}.csv"})  # fmt: skip
