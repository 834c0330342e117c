"""Export jobs of a unit: request (with a purpose), follow the progress, download.

Leaders only (`Action.UNIT_EXPORT`), and only for the units they lead; a job of
another unit is "not there" (404). Every bit of state is in the database, so
any app process can show a job's progress or serve its file.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.database import db, services
from app.security import acting_user, requires
from models import exports as ops
from models.access import led_units
from models.base import local_today, utcnow
from models.errors import NotFound
from models.exports import ExportFormat, ExportJob, ExportKind, ExportStatus
from models.policy import Action
from views.common import acting_actor, save

bp = Blueprint("exports", __name__, url_prefix="/unit/exports")

MIMETYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportForm(FlaskForm):
    kind = SelectField(
        _l("What to export"),
        choices=[SelectChoice(k.value, _l(label)) for k, label in ops.KIND_LABELS.items()],
        validators=[InputRequired()],
    )
    unit = SelectField(_l("Unit"), coerce=int, validators=[InputRequired()])
    format = SelectField(
        _l("File format"),
        choices=[
            SelectChoice(ExportFormat.XLSX.value, _l("Excel (XLSX)")),
            SelectChoice(ExportFormat.CSV.value, "CSV"),
        ],
        validators=[InputRequired()],
    )
    year = IntegerField(_l("Year (national register report)"), validators=[Optional()])
    purpose = TextAreaField(
        _l("Purpose of the export"),
        validators=[
            InputRequired(message=_l("Describe why you need the export.")),
            Length(
                min=ops.MIN_PURPOSE,
                max=ops.MAX_PURPOSE,
                message=_l("Describe the purpose in %(min)d to %(max)d characters."),
            ),
        ],
    )

    def check_year(self) -> bool:
        """The national register report needs a year; other exports ignore it."""
        if self.kind.data != ExportKind.NIR_REPORT.value:
            return True
        checker = NumberRange(ops.FIRST_REPORT_YEAR, local_today().year)
        if self.year.data is None:
            self.year.errors = [*self.year.errors, _l("Choose a year for the report.")]
            return False
        try:
            checker(self, self.year)
        except Exception as exc:  # a ValidationError from WTForms
            self.year.errors = [*self.year.errors, str(exc)]
            return False
        return True


def _form(bound: bool) -> ExportForm:
    units = led_units(db(), acting_user())
    form = ExportForm() if bound else ExportForm(formdata=None)
    form.unit.choices = [SelectChoice(u.id, u.name) for u in units if u.is_active]
    if not bound:
        # Other pages (the national register page) link here with the choice prefilled.
        kind = request.args.get("kind", "")
        if kind in {k.value for k in ExportKind}:
            form.kind.data = kind
        fmt = request.args.get("format", "")
        if fmt in {f.value for f in ExportFormat}:
            form.format.data = fmt
        unit = request.args.get("unit", "")
        if unit.isdigit():
            form.unit.data = int(unit)
        year = request.args.get("year", "")
        form.year.data = int(year) if year.isdigit() else local_today().year
    return form


def _start(job_id: int) -> None:
    factory = services().session_factory
    if current_app.config.get("EXPORT_IN_BACKGROUND", True):
        # The job is already committed: if this process dies, the job turns stale and
        # the leader asks again; no other process depends on this thread.
        threading.Thread(
            target=ops.run_export, args=(factory, job_id), name="export", daemon=True
        ).start()
    else:
        ops.run_export(factory, job_id)


def _render_index(form: ExportForm, status: int = 200) -> tuple[str, int]:
    jobs = ops.recent_jobs(db(), acting_user())
    return render_template(
        "exports/index.html",
        form=form,
        jobs=jobs,
        now=utcnow(),
        kind_labels=ops.KIND_LABELS,
        status_labels=ops.STATUS_LABELS,
        min_purpose=ops.MIN_PURPOSE,
        max_purpose=ops.MAX_PURPOSE,
    ), status


@bp.get("/")
@requires(Action.UNIT_EXPORT)
def index() -> tuple[str, int]:
    """The request form (prefilled from the query string) and the recent jobs."""
    return _render_index(_form(bound=False))


@bp.post("/")
@requires(Action.UNIT_EXPORT)
def request_export() -> BaseResponse | tuple[str, int]:
    """Queue an export of one of the user's units and start it; the purpose is required."""
    form = _form(bound=True)
    valid = form.validate_on_submit()
    valid = form.check_year() and valid
    if not valid:
        return _render_index(form, 400)
    units = {u.id: u for u in led_units(db(), acting_user())}
    unit = units[form.unit.data]  # the form only offers the user's units
    kind = ExportKind(form.kind.data)
    options: dict[str, Any] = {"year": form.year.data} if kind is ExportKind.NIR_REPORT else {}
    database = db()

    def queue() -> ExportJob:
        ops.purge_expired(database, utcnow())
        return ops.request_export(
            database,
            acting_actor(),
            unit,
            kind,
            ExportFormat(form.format.data),
            form.purpose.data or "",
            options,
        )

    saved = save(form, queue)
    if not saved.ok or saved.result is None:
        return _render_index(form, saved.status)
    job = saved.result
    _start(job.id)
    return redirect(url_for("exports.status", ref=job.ref))


def _job(ref: str) -> ExportJob:
    try:
        job, _grant = ops.get_job(db(), acting_actor(), ref)
    except NotFound:
        abort(404)
    return job


@bp.get("/<ref>")
@requires(Action.UNIT_EXPORT)
def status(ref: str) -> str:
    """Progress while the job works (the page reloads itself), then the download."""
    job = _job(ref)
    now = utcnow()
    return render_template(
        "exports/status.html",
        job=job,
        stale=job.is_stale(now),
        working=job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) and not job.is_stale(now),
        kind_labels=ops.KIND_LABELS,
        status_labels=ops.STATUS_LABELS,
        year=ops.job_year(job),
    )


@bp.get("/<ref>/download")
@requires(Action.UNIT_EXPORT)
def download(ref: str) -> Response:
    """The file; the download is audited and committed before a byte is sent."""
    job = _job(ref)
    database = db()
    try:
        filename, content = ops.open_download(database, acting_actor(), job)
    except NotFound:
        abort(404)
    database.commit()
    response = Response(content, mimetype=MIMETYPES[job.format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
