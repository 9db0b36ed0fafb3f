"""Contributors upload a whole list: upload, edit the suggested mapping, preview every
row's problems, send it for review as one submission."""

from __future__ import annotations

import io
import json
import re
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms.fields import StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from registry.importer import budget, jobs, service
from registry.importer.readers import FORMATS, ReadError
from registry.importer.run import ImportReport
from registry.importer.suggest import suggest_mapping
from registry.web.forms import plain_text
from registry.web.ratelimit import limiter, submit_limit

bp = Blueprint("upload", __name__, url_prefix="/import")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
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


def uploads() -> Path:
    folder = current_app.config["SETTINGS"].instance / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_meta(token: str) -> dict[str, Any]:
    if not TOKEN.match(token) or not (uploads() / f"{token}.meta.json").exists():
        abort(404)
    return json.loads((uploads() / f"{token}.meta.json").read_text(encoding="utf-8"))


def save_meta(token: str, meta: dict[str, Any]) -> None:
    (uploads() / f"{token}.meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


@bp.route("", methods=["GET", "POST"])
@limiter.limit(submit_limit, methods=["POST"], scope="submissions")
def upload() -> Any:
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("import_upload.html", form=form), 422 if form.is_submitted() else 200
    token = secrets.token_urlsafe(18)
    name = secure_filename(form.file.data.filename or "") or "upload"
    suffix = Path(name).suffix.lower()
    path = uploads() / f"{token}{suffix}"  # never the contributor's file name: no path in it reaches the disk
    form.file.data.save(path)
    meta = {"name": name, "suffix": suffix, "submitter": [form.submitter_name.data or None,
                                                          form.submitter_contact.data or None]}  # fmt: skip
    try:  # in a child process, within the reading budget: the file is anyone's
        columns, rows = budget.sample(path, 10, _budget(), name=name)
    except ReadError as e:
        path.unlink(missing_ok=True)
        form.file.errors = [str(e)]
        return render_template("import_upload.html", form=form), 422
    meta["mapping"] = suggest_mapping(name, columns, rows)
    save_meta(token, meta)
    return redirect(url_for("upload.mapping", token=token), 303)


def _budget() -> budget.Budget:
    return budget.Budget.of(current_app.config["SETTINGS"])


def _sample(token: str, meta: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        return budget.sample(uploads() / f"{token}{meta['suffix']}", 10, _budget(), name=meta["name"])
    except ReadError:
        return [], []


@bp.get("/<token>")
def mapping(token: str) -> str:
    meta = upload_meta(token)
    columns, rows = _sample(token, meta)
    form = MappingForm(data={"mapping": meta["mapping"]})
    return render_template("import_mapping.html", token=token, meta=meta, columns=columns, rows=rows, form=form)


@bp.post("/<token>/<any(preview, submit):action>")
@limiter.limit(submit_limit, scope="submissions")
def run(token: str, action: str) -> Any:
    meta = upload_meta(token)
    if action == "submit" and meta.get("reference"):  # sent already (a second click, a replay)
        return redirect(url_for("submit.submitted", reference=meta["reference"]), 303)
    form = MappingForm()
    if not form.validate_on_submit():
        columns, rows = _sample(token, meta)
        return render_template(
            "import_mapping.html", token=token, meta=meta, columns=columns, rows=rows, form=form
        ), 422
    meta["mapping"] = form.mapping.data
    save_meta(token, meta)
    settings, path = current_app.config["SETTINGS"], uploads() / f"{token}{meta['suffix']}"

    def work(progress: Any) -> service.ImportResult:
        return service.import_file(
            settings,
            path,
            mapping_text=meta["mapping"],
            dry_run=action == "preview",
            progress=progress,
            submitter=tuple(meta["submitter"]),
            file_name=meta["name"],
            budget=budget.Budget.of(settings),
        )

    job = jobs.start(action, token, work, uploads() / "jobs")
    return redirect(url_for("upload.job", job_id=job.id), 303)


def _job(job_id: str) -> jobs.Job:
    found = jobs.get(job_id, uploads() / "jobs") if TOKEN.match(job_id) else None
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
        meta = upload_meta(job.upload)
        save_meta(job.upload, {**meta, "reference": job.result.reference})
        return redirect(url_for("submit.submitted", reference=job.result.reference), 303)
    meta = upload_meta(job.upload)
    report = job.report
    problems = (report.errors + report.skipped)[:PROBLEMS_SHOWN] if report else []
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
