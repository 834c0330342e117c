"""Export jobs: files of personal data built in the background, with progress.

A leader requests an export of their unit (the participant list, or the
national-register report built by `models.nir`), giving a purpose. The job row
holds everything another app process needs: the progress counters, the sealed
file and its expiry. Builders return an `ExportTable`; `run_export` turns it
into CSV or XLSX.
"""

from __future__ import annotations

import base64
import csv
import enum
import importlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from models.accounts import Role, Unit, User
from models.base import Base, UTCDateTime, code_enum, local_today, utcnow
from models.crypto import Encrypted, Referenced, Sealed, keyring_of
from models.errors import N_, NotFound, ValidationFailed
from models.participants import Participant
from models.policy import Action, Actor, Grant, register_scope, require, scoped

log = logging.getLogger(__name__)

EXPORT_LIFETIME = timedelta(hours=24)
# A running job not heard from for this long died with its process.
STALE_AFTER = timedelta(minutes=5)
PROGRESS_EVERY = 500
MIN_PURPOSE = 10
MAX_PURPOSE = 500
FIRST_REPORT_YEAR = 2000


class ExportKind(enum.StrEnum):
    PARTICIPANT_LIST = "participant_list"
    NIR_REPORT = "nir_report"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


KIND_LABELS: dict[ExportKind, str] = {
    ExportKind.PARTICIPANT_LIST: N_("Participant list with personal data"),
    ExportKind.NIR_REPORT: N_("National register (NIR) report"),
}
STATUS_LABELS: dict[ExportStatus, str] = {
    ExportStatus.QUEUED: N_("Queued"),
    ExportStatus.RUNNING: N_("Running"),
    ExportStatus.DONE: N_("Ready"),
    ExportStatus.FAILED: N_("Failed"),
}


@dataclass
class ExportTable:
    """What a builder hands to `run_export`.

    `rows` is consumed while `run_export` commits progress on the same session
    between batches: a builder fetches each batch completely (``.all()``) and
    never keeps a database cursor open across a ``yield``.
    """

    headers: list[str]  # column names (stable, English snake_case: a public contract)
    total: int  # number of rows, known before iterating (for progress)
    rows: Iterator[Sequence[object]]


class ExportJob(Referenced, Base):
    """One requested export of a unit's data; the file is sealed and expires after 24 h."""

    __tablename__ = "export_jobs"
    __table_args__ = (Index("ix_export_jobs_unit_created", "unit_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[ExportKind] = mapped_column(code_enum(ExportKind, 30))
    format: Mapped[ExportFormat] = mapped_column(code_enum(ExportFormat, 30))
    # Free text: the user is told not to name anyone, but it may still do so.
    purpose_sealed: Mapped[bytes | None] = mapped_column("purpose", Sealed)
    purpose = Encrypted("purpose_sealed")
    options: Mapped[str] = mapped_column(String(200), default="{}")  # JSON object
    status: Mapped[ExportStatus] = mapped_column(
        code_enum(ExportStatus, 30), default=ExportStatus.QUEUED
    )
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # The file itself (base64 text, sealed); deferred so listing jobs never loads it.
    file_sealed: Mapped[bytes | None] = mapped_column("file", Sealed, deferred=True)
    file_b64 = Encrypted("file_sealed")
    filename: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def is_stale(self, now: datetime) -> bool:
        """A queued or running job whose process stopped reporting (it will never finish)."""
        return (
            self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
            and now - self.updated_at > STALE_AFTER
        )


# -- policy: a leader sees the export jobs of the units they lead -----------------


def _job_rule(user: User, action: Action, obj: Any) -> Grant | None:
    if action is Action.UNIT_EXPORT and obj.unit_id in user.unit_ids(Role.LEADER):
        return Grant(Role.LEADER, obj.unit_id)
    return None


def _job_scope(stmt: Select[Any], user: User, action: Action) -> Select[Any]:
    return stmt.where(ExportJob.unit_id.in_(user.unit_ids(Role.LEADER)))


register_scope(ExportJob, _job_rule, _job_scope)


# -- builders ------------------------------------------------------------------

PARTICIPANT_LIST_HEADERS = [
    "reference",
    "national_id",
    "given_name",
    "family_name",
    "birth_date",
    "status",
    "primary_advisor",
    "settlement_date",
    "programme_start",
    "planned_end",
    "next_deadline",
    "next_deadline_kind",
]
BATCH = 500
# The categories of personal data each kind of file holds, for its audit events.
KIND_CATEGORIES: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.PARTICIPANT_LIST: ("identity", "national_id", "birth_date", "programme"),
    ExportKind.NIR_REPORT: ("national_id", "programme", "plan", "decisions", "attendance"),
}


def _opener(session: Session, descriptor: Any) -> Callable[[bytes | None, str], str | None]:
    keyring = keyring_of(session)
    table, field = descriptor.table, descriptor.name

    def open_value(sealed: bytes | None, ref: str) -> str | None:
        return None if sealed is None else keyring.open(session, sealed, table, field, ref)

    return open_value


def participant_list_table(session: Session, unit_id: int) -> ExportTable:
    """The unit's participants as a leader sees them: restricted (GDPR art. 18) and
    anonymised records are left out, as on the leader's pages.

    Reads clear columns and sealed values only (no ORM objects), in id order by
    keyset batches, and decrypts each batch through the key ring.
    """
    where = (
        Participant.unit_id == unit_id,
        Participant.is_restricted.is_(False),
        Participant.anonymised_at.is_(None),
    )
    total = session.scalar(select(func.count()).select_from(Participant).where(*where)) or 0
    advisor_rows = session.execute(
        select(User.id, User.display_name).where(
            User.id.in_(select(Participant.primary_advisor_id).where(*where))
        )
    )
    advisors: dict[int | None, str] = {row.id: row.display_name for row in advisor_rows}
    # Class access to an Encrypted attribute returns the descriptor (table and field name).
    national_id = _opener(session, Participant.national_id)
    given = _opener(session, Participant.given_name)
    family = _opener(session, Participant.family_name)
    birth = _opener(session, Participant.birth_date_text)
    columns = (
        Participant.id,
        Participant.ref,
        Participant.national_id_sealed,
        Participant.given_name_sealed,
        Participant.family_name_sealed,
        Participant.birth_date_sealed,
        Participant.status,
        Participant.primary_advisor_id,
        Participant.settlement_on,
        Participant.programme_start_on,
        Participant.programme_end_on,
        Participant.next_deadline_on,
        Participant.next_deadline_kind,
    )

    def rows() -> Iterator[Sequence[object]]:
        last = 0
        while True:
            batch = session.execute(
                select(*columns)
                .where(*where, Participant.id > last)
                .order_by(Participant.id)
                # keyset, not OFFSET: every batch costs the same at 100k rows
                .limit(BATCH)
            ).all()
            if not batch:
                return
            for row in batch:
                ref = row.ref
                birth_text = birth(row.birth_date_sealed, ref)
                yield (
                    ref,
                    national_id(row.national_id_sealed, ref),
                    given(row.given_name_sealed, ref),
                    family(row.family_name_sealed, ref),
                    date.fromisoformat(birth_text) if birth_text else None,
                    row.status.value,
                    advisors.get(row.primary_advisor_id),
                    row.settlement_on,
                    row.programme_start_on,
                    row.programme_end_on,
                    row.next_deadline_on,
                    row.next_deadline_kind,
                )
            last = batch[-1].id

    return ExportTable(PARTICIPANT_LIST_HEADERS, total, rows())


def _options(job: ExportJob) -> dict[str, Any]:
    loaded = json.loads(job.options or "{}")
    return loaded if isinstance(loaded, dict) else {}


def job_year(job: ExportJob) -> int | None:
    """The report year of a national register export (None for other kinds)."""
    year = _options(job).get("year")
    return year if isinstance(year, int) else None


def build_table(session: Session, job: ExportJob) -> ExportTable:
    """The builder for the job's kind."""
    if job.kind is ExportKind.NIR_REPORT:
        # Imported here: the NIR module is optional for the rest of the machinery.
        nir = importlib.import_module("models.nir")
        table = nir.report_table(session, job.unit_id, int(_options(job)["year"]))
        assert isinstance(table, ExportTable)
        return table
    return participant_list_table(session, job.unit_id)


# -- writing -----------------------------------------------------------------------

# A cell starting with one of these is a formula to a spreadsheet: a name like
# "=HYPERLINK(...)" must stay text (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _text(value: object) -> str:
    value = _cell(value)
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _about(session: Session, job: ExportJob) -> list[tuple[str, str]]:
    unit = session.get(Unit, job.unit_id)
    user = session.get(User, job.requested_by_id)
    options = _options(job)
    about = [
        ("export_reference", job.ref),
        ("unit", unit.name if unit else ""),
        ("kind", job.kind.value),
        ("created", job.created_at.isoformat(timespec="seconds")),
        ("requested_by", user.display_name if user else ""),
        ("purpose", job.purpose or ""),
    ]
    about += [(str(key), str(value)) for key, value in sorted(options.items())]
    return about


class _Progress:
    """Commits rows_done every PROGRESS_EVERY rows so other processes see it."""

    def __init__(self, session: Session, job_id: int) -> None:
        self.session = session
        self.job_id = job_id
        self.done = 0

    def step(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.flush()

    def flush(self) -> None:
        self.session.execute(
            update(ExportJob)
            .where(ExportJob.id == self.job_id)
            .values(rows_done=self.done, updated_at=utcnow())
        )
        self.session.commit()


def _write_csv(about: list[tuple[str, str]], table: ExportTable, progress: _Progress) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([about[0][0], about[0][1]])
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_text(value) for value in row])
        progress.step()
    return out.getvalue().encode("utf-8")


def _write_xlsx(
    about: list[tuple[str, str]], ref: str, table: ExportTable, progress: _Progress
) -> bytes:
    # openpyxl ships no type hints (and types-openpyxl is not a dependency).
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    book.properties.identifier = ref
    book.properties.title = f"Veiviser export {ref}"
    book.properties.creator = "Veiviser"
    book.properties.keywords = f"export_reference:{ref}"
    info = book.create_sheet("Export")
    for key, value in about:
        info.append([key, _cell(value)])
    data = book.create_sheet("Data")
    data.append(table.headers)
    for row in table.rows:
        data.append([_cell(value) for value in row])
        progress.step()
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- operations ------------------------------------------------------------------


def _lead(actor: Actor, unit: Unit) -> Grant:
    # The policy's Unit rule is the administrator's; exporting needs leading this unit.
    user = actor.user
    if user is None or not unit.is_active or unit.id not in user.unit_ids(Role.LEADER):
        raise NotFound()
    return Grant(require(user, Action.UNIT_EXPORT).role, unit.id)


def clean_purpose(purpose: str) -> str:
    """The purpose with its whitespace tidied, or ValidationFailed when too short or long."""
    text = " ".join((purpose or "").split())
    if len(text) < MIN_PURPOSE or len(text) > MAX_PURPOSE:
        raise ValidationFailed(
            N_("Describe the purpose in %(min)d to %(max)d characters."),
            "purpose",
            min=MIN_PURPOSE,
            max=MAX_PURPOSE,
        )
    return text


def request_export(
    session: Session,
    actor: Actor,
    unit: Unit,
    kind: ExportKind,
    fmt: ExportFormat,
    purpose: str,
    options: dict[str, Any] | None = None,
) -> ExportJob:
    """Queue an export of `unit` for a leader of that unit; audited "export.request".

    The caller commits (the job and its audit event together) and then runs it.
    """
    grant = _lead(actor, unit)
    text = clean_purpose(purpose)
    options = dict(options or {})
    if kind is ExportKind.NIR_REPORT:
        year = options.get("year")
        if not isinstance(year, int) or not FIRST_REPORT_YEAR <= year <= local_today().year:
            raise ValidationFailed(N_("Choose a year for the report."), "year")
        options = {"year": year}
    else:
        options = {}
    assert actor.user is not None  # _lead refused the system actor
    now = utcnow()
    job = ExportJob(
        unit_id=unit.id,
        requested_by_id=actor.user.id,
        kind=kind,
        format=fmt,
        options=json.dumps(options, sort_keys=True),
        status=ExportStatus.QUEUED,
        rows_total=0,
        rows_done=0,
        created_at=now,
        updated_at=now,
        expires_at=now + EXPORT_LIFETIME,
    )
    job.purpose = text
    session.add(job)
    session.flush()
    actor.record(
        session,
        "export.request",
        grant,
        object_type="export",
        object_ref=job.ref,
        field_categories=(*KIND_CATEGORIES[kind], f"kind:{kind.value}", f"format:{fmt.value}"),
    )
    return job


def run_export(session_factory: sessionmaker[Session], job_id: int) -> ExportStatus | None:
    """Build the job's file, from any process; returns the final status.

    Claims the job with a conditional UPDATE, so two processes never both run
    it (None: someone else has it). A failed build marks the job failed and
    does not raise; only the exception's type is logged (its text may hold data).
    """
    with session_factory() as session:
        claimed = session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == ExportStatus.QUEUED)
            .values(status=ExportStatus.RUNNING, updated_at=utcnow())
        )
        session.commit()
        if getattr(claimed, "rowcount", 0) != 1:
            return None
        try:
            job = session.get_one(ExportJob, job_id)
            table = build_table(session, job)
            session.execute(
                update(ExportJob).where(ExportJob.id == job_id).values(rows_total=table.total)
            )
            session.commit()
            about = _about(session, job)
            progress = _Progress(session, job_id)
            if job.format is ExportFormat.CSV:
                content = _write_csv(about, table, progress)
            else:
                content = _write_xlsx(about, job.ref, table, progress)
            job = session.get_one(ExportJob, job_id)
            job.file_b64 = base64.b64encode(content).decode("ascii")
            job.filename = f"veiviser-{job.kind.value}-{job.ref}.{job.format.value}"
            job.rows_done = progress.done
            job.rows_total = max(table.total, progress.done)
            job.status = ExportStatus.DONE
            job.finished_at = job.updated_at = utcnow()
            session.commit()
            return ExportStatus.DONE
        except Exception as exc:  # any failure must end as "failed"
            session.rollback()
            log.warning("export job %s failed: %s", job_id, type(exc).__name__)
            session.execute(
                update(ExportJob)
                .where(ExportJob.id == job_id)
                .values(status=ExportStatus.FAILED, finished_at=utcnow(), updated_at=utcnow())
            )
            session.commit()
            return ExportStatus.FAILED


def get_job(session: Session, actor: Actor, ref: str) -> tuple[ExportJob, Grant | None]:
    """The job with reference `ref` if `actor` leads its unit (NotFound otherwise)."""
    job = session.scalar(select(ExportJob).where(ExportJob.ref == ref))
    if job is None or job.expires_at <= utcnow():
        raise NotFound()
    return job, actor.authorise(Action.UNIT_EXPORT, job)


def recent_jobs(session: Session, user: User, limit: int = 20) -> list[ExportJob]:
    """The user's units' unexpired jobs, newest first."""
    stmt = scoped(select(ExportJob), user, Action.UNIT_EXPORT, ExportJob)
    return list(
        session.scalars(
            stmt.where(ExportJob.expires_at > utcnow())
            .order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
            .limit(limit)
        )
    )


def open_download(session: Session, actor: Actor, job: ExportJob) -> tuple[str, bytes]:
    """The file's name and content for a leader of the job's unit; audited "export.download".

    The caller commits before sending the file: no event, no file.
    """
    grant = actor.authorise(Action.UNIT_EXPORT, job)
    if job.status is not ExportStatus.DONE or job.expires_at <= utcnow():
        raise NotFound()
    encoded = job.file_b64
    if encoded is None or job.filename is None:
        raise NotFound()
    job.downloaded_at = utcnow()
    actor.record(
        session,
        "export.download",
        grant,
        object_type="export",
        object_ref=job.ref,
        field_categories=(
            *KIND_CATEGORIES[job.kind],
            f"kind:{job.kind.value}",
            f"format:{job.format.value}",
        ),
    )
    return job.filename, base64.b64decode(encoded)


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the jobs (and their files) whose 24 hours are over; returns how many.

    Called on each new request, and safe to call from a scheduled job: the caller commits.
    """
    result = session.execute(
        delete(ExportJob)
        .where(ExportJob.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
