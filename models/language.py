"""Language training: classes, enrolments, attendance, absence, leave, progress and tests.

Who may do what:
* create and edit a class, enrol, move and unenrol participants
  (`Action.CLASS_MANAGE` on the class): the leaders of the class's provider unit
  (the adult learning centre) and the teachers of that unit;
* take attendance (`Action.LANGUAGE_RECORD` on the class): the class's teachers;
* record leave, progress estimates and test results (`Action.LANGUAGE_RECORD` on
  the participant): a teacher of a class the participant is actively enrolled in
  (see `teacher_class_unit`, used by `models.access`);
* read: the class's teachers and the centre's leaders read the class; the
  participant's language section follows `models.access.view_of`.

Codes, dates and minutes stay clear (reports and the deadline need them); the
comments on estimates and leave are free text and sealed.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.accounts import Role, Unit, User
from models.base import Base, UTCDateTime, Versioned, code_enum, local_today, utcnow
from models.codes import CefrLevel, Country, Skill
from models.crypto import Encrypted, Referenced, Sealed
from models.deadlines import Due, frozen_params, register_provider
from models.errors import N_, NotFound, StaleEdit, ValidationFailed
from models.participants import Participant, refresh_deadlines
from models.policy import Action, Actor, Grant, register_scope
from models.rules import DeadlineKind, RuleSet, add_months, rule_set_for

MAX_CLASS_NAME = 100
MAX_ROOM = 60
MAX_COMMENT = 1000
MAX_LESSON_MINUTES = 240
MAX_LESSONS_PER_DAY = 8
MAX_SESSION_MINUTES = MAX_LESSON_MINUTES * MAX_LESSONS_PER_DAY
MAX_CLASS_MONTHS = 36
MAX_ENTRY_AHEAD = timedelta(days=31)  # a register or estimate far ahead is a typing error
MAX_LEAVE_DAYS = 2 * 366
MAX_ORIENTATION_HOURS = 500
# Product default, not law: an automatic absence task is due this many days later.
ABSENCE_TASK_DAYS = 7
# The automatic task's title is stored text (tasks are free text), so it is written in
# the language of the participant's municipality, not in the teacher's interface language.
ABSENCE_TASK_TITLES = {
    Country.NORWAY: "Ugyldig fravær fra norskopplæringen er over terskelen",
    Country.SWEDEN: "Ogiltig frånvaro från sfi är över gränsen",
}


# -- code lists ----------------------------------------------------------------


class Weekday(enum.IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


WEEKDAY_LABELS = {
    Weekday.MONDAY: N_("Monday"),
    Weekday.TUESDAY: N_("Tuesday"),
    Weekday.WEDNESDAY: N_("Wednesday"),
    Weekday.THURSDAY: N_("Thursday"),
    Weekday.FRIDAY: N_("Friday"),
    Weekday.SATURDAY: N_("Saturday"),
    Weekday.SUNDAY: N_("Sunday"),
}


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    EXCUSED = "excused"
    UNEXCUSED = "unexcused"
    LEAVE = "leave"


ATTENDANCE_STATUS_LABELS = {
    AttendanceStatus.PRESENT: N_("Present"),
    AttendanceStatus.EXCUSED: N_("Excused absence"),
    AttendanceStatus.UNEXCUSED: N_("Unexcused absence"),
    AttendanceStatus.LEAVE: N_("On leave"),
}


class AbsenceReason(enum.StrEnum):
    ILLNESS = "illness"
    CHILD_ILLNESS = "child_illness"
    APPOINTMENT = "appointment"  # doctor, public office, the refugee service
    WORK_OR_INTERVIEW = "work_or_interview"
    FAMILY = "family"
    OTHER = "other"


ABSENCE_REASON_LABELS = {
    AbsenceReason.ILLNESS: N_("Illness"),
    AbsenceReason.CHILD_ILLNESS: N_("Child's illness"),
    AbsenceReason.APPOINTMENT: N_("Appointment with a public service"),
    AbsenceReason.WORK_OR_INTERVIEW: N_("Work or job interview"),
    AbsenceReason.FAMILY: N_("Family matters"),
    AbsenceReason.OTHER: N_("Other approved reason"),
}


class LeaveType(enum.StrEnum):
    PARENTAL = "parental"
    ILLNESS = "illness"
    WORK = "work"
    EDUCATION = "education"
    OTHER = "other"


LEAVE_TYPE_LABELS = {
    LeaveType.PARENTAL: N_("Parental leave"),
    LeaveType.ILLNESS: N_("Long-term illness"),
    LeaveType.WORK: N_("Work"),
    LeaveType.EDUCATION: N_("Other education"),
    LeaveType.OTHER: N_("Other approved leave"),
}


class EnrolmentEnd(enum.StrEnum):
    MOVED = "moved"
    LEFT = "left"
    COMPLETED = "completed"


ENROLMENT_END_LABELS = {
    EnrolmentEnd.MOVED: N_("Moved to another class"),
    EnrolmentEnd.LEFT: N_("Left the class"),
    EnrolmentEnd.COMPLETED: N_("Completed the training"),
}


class TestKind(enum.StrEnum):
    __test__ = False  # not a pytest class

    NORWEGIAN = "norwegian"  # NO: the Norwegian test, one skill
    SOCIAL_STUDIES = "social_studies"  # NO: samfunnskunnskapsprøven, a score
    SFI_COURSE = "sfi_course"  # SE: a finished sfi course with its grade
    ORIENTATION = "orientation"  # SE: samhällsorientering, hours completed


TEST_KIND_LABELS = {
    TestKind.NORWEGIAN: N_("Norwegian test"),
    TestKind.SOCIAL_STUDIES: N_("Social studies test"),
    TestKind.SFI_COURSE: N_("SFI course"),
    TestKind.ORIENTATION: N_("Civic orientation"),
}


class StudyPath(enum.StrEnum):
    ONE = "1"
    TWO = "2"
    THREE = "3"


class SfiCourse(enum.StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class SfiGrade(enum.StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


CEFR_ORDER = list(CefrLevel)


# -- models --------------------------------------------------------------------


class LanguageClass(Referenced, Versioned, Base):
    """A class at an adult learning centre: teachers, level, weekly schedule, period."""

    __tablename__ = "language_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # The name of a class ("Norsk A2 formiddag") names no person: clear.
    name: Mapped[str] = mapped_column(String(MAX_CLASS_NAME))
    level: Mapped[CefrLevel | None] = mapped_column(code_enum(CefrLevel, 10))
    weekdays: Mapped[str] = mapped_column(String(20))  # Weekday numbers, comma-separated
    lesson_minutes: Mapped[int] = mapped_column(Integer)
    lessons_per_day: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    room: Mapped[str | None] = mapped_column(String(MAX_ROOM))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    teacher_links: Mapped[list[ClassTeacher]] = relationship(
        back_populates="language_class", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def weekday_list(self) -> list[Weekday]:
        return [Weekday(int(d)) for d in self.weekdays.split(",") if d]

    @property
    def teacher_ids(self) -> set[int]:
        return {link.user_id for link in self.teacher_links}

    @property
    def session_minutes(self) -> int:
        return self.lesson_minutes * self.lessons_per_day

    def meets_on(self, on: date) -> bool:
        return self.starts_on <= on <= self.ends_on and on.weekday() in self.weekday_list


class ClassTeacher(Base):
    __tablename__ = "class_teachers"
    __table_args__ = (UniqueConstraint("class_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("language_classes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    language_class: Mapped[LanguageClass] = relationship(back_populates="teacher_links")
    user: Mapped[User] = relationship(lazy="joined")


class Enrolment(Referenced, Versioned, Base):
    """A participant in a class from a date; ended (never deleted) when they move or leave."""

    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_class_active", "class_id", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    class_id: Mapped[int] = mapped_column(ForeignKey("language_classes.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[EnrolmentEnd | None] = mapped_column(code_enum(EnrolmentEnd, 20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = relationship()
    language_class: Mapped[LanguageClass] = relationship(lazy="joined")

    def is_active(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)


def _active_on(on: date) -> Any:
    return and_(
        Enrolment.starts_on <= on, or_(Enrolment.ends_on.is_(None), Enrolment.ends_on >= on)
    )


class ClassSession(Referenced, Versioned, Base):
    """One day's lessons of a class; its version guards the attendance register."""

    __tablename__ = "class_sessions"
    __table_args__ = (UniqueConstraint("class_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("language_classes.id"))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    planned_minutes: Mapped[int] = mapped_column(Integer)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(Versioned, Base):
    """One participant at one session. `held_on` is copied from the session so the
    absence window is one index range per participant."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("session_id", "participant_id"),
        # INCLUDE: the outcome figures' absence sums read the index only (migration 0013).
        Index(
            "ix_attendances_participant_held",
            "participant_id",
            "held_on",
            postgresql_include=["status", "planned_minutes", "attended_minutes"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    held_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AttendanceStatus] = mapped_column(code_enum(AttendanceStatus, 20))
    reason: Mapped[AbsenceReason | None] = mapped_column(code_enum(AbsenceReason, 30))
    planned_minutes: Mapped[int] = mapped_column(Integer)
    attended_minutes: Mapped[int] = mapped_column(Integer)
    # Programme time of the attended minutes under the rule in force when saved.
    programme_minutes: Mapped[int] = mapped_column(Integer)


class AttendanceMonth(Base):
    """One participant's attendance in one calendar month, summed from `attendances`.

    Derived data, kept by `refresh_attendance_months`: the unit leader's yearly absence
    figure reads about 12 of these per participant instead of every attendance row.
    """

    __tablename__ = "attendance_months"
    __table_args__ = (
        # The absence figure probes a unit's participants' months and sums these minutes:
        # from this index alone it reads the unit's rows, not every unit's (migration 0017).
        Index(
            "ix_attendance_months_minutes",
            "participant_id",
            "month",
            "planned_minutes",
            "unexcused_minutes",
        ),
    )

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    planned_minutes: Mapped[int] = mapped_column(Integer)  # leave rows left out
    unexcused_minutes: Mapped[int] = mapped_column(Integer)  # planned - attended, unexcused
    # Every row, leave included: "had attendance registered in the period" is sessions > 0.
    sessions: Mapped[int] = mapped_column(Integer)


class AttendanceChange(Base):
    """A correction of a saved attendance: codes and minutes before and after, who, when."""

    __tablename__ = "attendance_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(
        ForeignKey("attendances.id", ondelete="CASCADE"), index=True
    )
    old_status: Mapped[AttendanceStatus] = mapped_column(code_enum(AttendanceStatus, 20))
    old_minutes: Mapped[int] = mapped_column(Integer)
    new_status: Mapped[AttendanceStatus] = mapped_column(code_enum(AttendanceStatus, 20))
    new_minutes: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Leave(Referenced, Versioned, Base):
    """Approved leave from language training; it extends the training deadline."""

    __tablename__ = "language_leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    leave_type: Mapped[LeaveType] = mapped_column(code_enum(LeaveType, 20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


class ProgressEstimate(Referenced, Base):
    """The teacher's CEFR estimate of one skill on a date (a new estimate, never an edit)."""

    __tablename__ = "progress_estimates"
    __table_args__ = (
        Index("ix_progress_estimates_participant_on", "participant_id", "assessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    skill: Mapped[Skill] = mapped_column(code_enum(Skill, 20))
    level: Mapped[CefrLevel] = mapped_column(code_enum(CefrLevel, 10))
    assessed_on: Mapped[date] = mapped_column(Date)
    comment_sealed: Mapped[bytes | None] = mapped_column("comment", Sealed)
    comment = Encrypted("comment_sealed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TestResult(Referenced, Base):
    """A test or course result. Which columns are set depends on `kind`."""

    __test__ = False  # not a pytest class
    __tablename__ = "language_test_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TestKind] = mapped_column(code_enum(TestKind, 20))
    taken_on: Mapped[date] = mapped_column(Date)
    skill: Mapped[Skill | None] = mapped_column(code_enum(Skill, 20))
    level: Mapped[CefrLevel | None] = mapped_column(code_enum(CefrLevel, 10))
    score: Mapped[int | None] = mapped_column(Integer)
    max_score: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    study_path: Mapped[StudyPath | None] = mapped_column(code_enum(StudyPath, 2))
    course: Mapped[SfiCourse | None] = mapped_column(code_enum(SfiCourse, 2))
    grade: Mapped[SfiGrade | None] = mapped_column(code_enum(SfiGrade, 2))
    hours: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AbsenceAlert(Base):
    """One crossing of the absence threshold. Numbered per participant; the unique
    (participant, number) pair stops two concurrent saves from creating two tasks."""

    __tablename__ = "absence_alerts"
    __table_args__ = (UniqueConstraint("participant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    crossed_on: Mapped[date] = mapped_column(Date)
    cleared_on: Mapped[date | None] = mapped_column(Date)
    rate_percent: Mapped[int] = mapped_column(Integer)  # rounded down, for the record
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))


# -- the policy for classes ------------------------------------------------------


def _class_rule(user: User, action: Action, obj: Any) -> Grant | None:
    assert isinstance(obj, LanguageClass)
    is_teacher = user.has_role(Role.TEACHER, obj.unit_id)
    if action is Action.LANGUAGE_RECORD:
        return (
            Grant(Role.TEACHER, obj.unit_id) if is_teacher and user.id in obj.teacher_ids else None
        )
    if action is Action.CLASS_MANAGE:
        if user.has_role(Role.LEADER, obj.unit_id):
            return Grant(Role.LEADER, obj.unit_id)
        if is_teacher:
            return Grant(Role.TEACHER, obj.unit_id)
    return None


def _class_scope(stmt: Select[Any], user: User, action: Action) -> Select[Any]:
    units = user.unit_ids(Role.LEADER) | user.unit_ids(Role.TEACHER)
    if action is not Action.CLASS_MANAGE or not units:
        return stmt.where(false())
    return stmt.where(LanguageClass.unit_id.in_(units))


register_scope(LanguageClass, _class_rule, _class_scope)


def teacher_class_unit(session: Session, user: User, participant: Participant) -> int | None:
    """The unit of an active class of `user`'s that `participant` is enrolled in, if any.

    `models.access` calls this for a teacher's PARTICIPANT_READ and LANGUAGE_RECORD.
    """
    teacher_units = user.unit_ids(Role.TEACHER)
    if not teacher_units or participant.id is None:
        return None
    today = local_today()
    return session.scalar(
        select(LanguageClass.unit_id)
        .join(Enrolment, Enrolment.class_id == LanguageClass.id)
        .join(ClassTeacher, ClassTeacher.class_id == LanguageClass.id)
        .where(
            Enrolment.participant_id == participant.id,
            _active_on(today),
            ClassTeacher.user_id == user.id,
            LanguageClass.unit_id.in_(teacher_units),
        )
        .order_by(LanguageClass.unit_id)
        .limit(1)
    )


# -- the rules of programme time and tests -----------------------------------------


def programme_minutes(
    minutes: int, rs: RuleSet, lesson_programme_minutes: int | None = None
) -> int:
    """Programme time of `minutes` of lessons: NO counts a 45-minute lesson as 75 minutes.

    `lesson_programme_minutes` is the deployment's override of the rule set's value.
    Partial lessons count pro rata, rounded down to whole minutes.
    """
    counted = lesson_programme_minutes or rs.lesson_programme_minutes
    if rs.lesson_minutes is None or counted is None:
        return minutes
    return minutes * counted // rs.lesson_minutes


def social_studies_passed(score: int, rs: RuleSet) -> bool:
    """Passed at `social_studies_pass_score` of `social_studies_max_score` (NO: 26 of 34)."""
    if rs.social_studies_pass_score is None or rs.social_studies_max_score is None:
        raise ValidationFailed(N_("This rule set has no social studies test."), "kind")
    if not 0 <= score <= rs.social_studies_max_score:
        raise ValidationFailed(
            N_("The score must be between 0 and %(max)d."), "score", max=rs.social_studies_max_score
        )
    return score >= rs.social_studies_pass_score


# -- classes -----------------------------------------------------------------------


@dataclass
class ClassInput:
    name: str
    unit_id: int | None
    level: CefrLevel | None
    weekdays: list[int]
    lesson_minutes: int | None
    lessons_per_day: int | None
    starts_on: date | None
    ends_on: date | None
    room: str
    teacher_ids: list[int] = field(default_factory=list)


def _clean_text(value: str | None, max_length: int, field_name: str) -> str:
    value = " ".join((value or "").split())
    if len(value) > max_length:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), field_name, max=max_length
        )
    return value


def teachers_of_unit(session: Session, unit_id: int) -> list[User]:
    from models.accounts import Membership

    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.unit_id == unit_id,
                Membership.role == Role.TEACHER,
                User.is_active.is_(True),
            )
            .order_by(User.display_name, User.id)
        ).unique()
    )


def managed_units(session: Session, user: User) -> list[Unit]:
    """The units in which `user` may create classes (leader or teacher there)."""
    ids = user.unit_ids(Role.LEADER) | user.unit_ids(Role.TEACHER)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))


def _check_class(session: Session, user: User | None, data: ClassInput) -> ClassInput:
    name = _clean_text(data.name, MAX_CLASS_NAME, "name")
    if not name:
        raise ValidationFailed(N_("Give the class a name."), "name")
    if data.unit_id is None or (
        user is not None and data.unit_id not in {u.id for u in managed_units(session, user)}
    ):
        raise ValidationFailed(N_("Choose a unit where you teach or lead."), "unit_id")
    days = sorted(set(data.weekdays))
    if not days or any(d not in Weekday.__members__.values() for d in days):
        raise ValidationFailed(N_("Choose at least one weekday."), "weekdays")
    if data.lesson_minutes is None or not 1 <= data.lesson_minutes <= MAX_LESSON_MINUTES:
        raise ValidationFailed(
            N_("A lesson lasts from 1 to %(max)d minutes."),
            "lesson_minutes",
            max=MAX_LESSON_MINUTES,
        )
    if data.lessons_per_day is None or not 1 <= data.lessons_per_day <= MAX_LESSONS_PER_DAY:
        raise ValidationFailed(
            N_("Enter from 1 to %(max)d lessons a day."), "lessons_per_day", max=MAX_LESSONS_PER_DAY
        )
    if data.starts_on is None:
        raise ValidationFailed(N_("Enter the first day of the class."), "starts_on")
    if data.ends_on is None:
        raise ValidationFailed(N_("Enter the last day of the class."), "ends_on")
    if data.ends_on < data.starts_on:
        raise ValidationFailed(N_("The end date must not be before the start date."), "ends_on")
    if data.ends_on > add_months(data.starts_on, MAX_CLASS_MONTHS):
        raise ValidationFailed(
            N_("A class can run for at most %(months)d months."), "ends_on", months=MAX_CLASS_MONTHS
        )
    room = _clean_text(data.room, MAX_ROOM, "room")
    allowed = {t.id for t in teachers_of_unit(session, data.unit_id)}
    teachers = sorted(set(data.teacher_ids))
    if any(t not in allowed for t in teachers):
        raise ValidationFailed(N_("Choose teachers of this unit."), "teacher_ids")
    return ClassInput(
        name=name,
        unit_id=data.unit_id,
        level=data.level,
        weekdays=days,
        lesson_minutes=data.lesson_minutes,
        lessons_per_day=data.lessons_per_day,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        room=room,
        teacher_ids=teachers,
    )


def _apply_class(item: LanguageClass, clean: ClassInput) -> None:
    assert clean.unit_id is not None and clean.lesson_minutes and clean.lessons_per_day
    assert clean.starts_on is not None and clean.ends_on is not None
    item.name = clean.name
    item.unit_id = clean.unit_id
    item.level = clean.level
    item.weekdays = ",".join(str(d) for d in clean.weekdays)
    item.lesson_minutes = clean.lesson_minutes
    item.lessons_per_day = clean.lessons_per_day
    item.starts_on = clean.starts_on
    item.ends_on = clean.ends_on
    item.room = clean.room or None
    current = {link.user_id: link for link in item.teacher_links}
    for user_id, link in current.items():
        if user_id not in clean.teacher_ids:
            item.teacher_links.remove(link)
    for user_id in clean.teacher_ids:
        if user_id not in current:
            item.teacher_links.append(ClassTeacher(user_id=user_id))


def create_class(session: Session, actor: Actor, data: ClassInput) -> LanguageClass:
    """A leader or teacher of the provider unit creates a class."""
    clean = _check_class(session, actor.user, data)
    assert clean.unit_id is not None
    unit = session.get(Unit, clean.unit_id)
    if unit is None:
        raise ValidationFailed(N_("Choose a unit where you teach or lead."), "unit_id")
    item = LanguageClass(unit_id=unit.id, unit=unit)
    grant = actor.authorise(Action.CLASS_MANAGE, item)
    _apply_class(item, clean)
    session.add(item)
    session.flush()
    actor.record(session, "class.create", grant, object_type="class", object_ref=item.ref)
    return item


def update_class(
    session: Session, actor: Actor, item: LanguageClass, expected_version: int, data: ClassInput
) -> None:
    """A leader or teacher of the class's unit changes it (the unit stays)."""
    grant = actor.authorise(Action.CLASS_MANAGE, item)
    if item.version != expected_version:
        raise StaleEdit()
    data.unit_id = item.unit_id
    _apply_class(item, _check_class(session, actor.user, data))
    session.flush()
    actor.record(session, "class.update", grant, object_type="class", object_ref=item.ref)


def get_class(session: Session, user: User, number: int) -> tuple[LanguageClass, Grant]:
    """The class, if `user` may manage or read it; NotFound otherwise."""
    from models.policy import require

    item = session.get(LanguageClass, number)
    if item is None:
        require(user, Action.CLASS_MANAGE)  # 403 for roles that never see classes
        raise NotFound()
    return item, require(user, Action.CLASS_MANAGE, item)


def classes_for(session: Session, user: User) -> list[LanguageClass]:
    """A teacher's own classes and, for a leader, every class of their units; running first."""
    from models.policy import scoped

    stmt = scoped(select(LanguageClass), user, Action.CLASS_MANAGE, LanguageClass)
    leader_units = user.unit_ids(Role.LEADER)
    stmt = stmt.where(
        or_(
            LanguageClass.unit_id.in_(leader_units),
            LanguageClass.id.in_(
                select(ClassTeacher.class_id).where(ClassTeacher.user_id == user.id)
            ),
        )
    )
    return list(session.scalars(stmt.order_by(LanguageClass.ends_on.desc(), LanguageClass.name)))


# -- enrolment ------------------------------------------------------------------


def roster(session: Session, item: LanguageClass, on: date) -> list[Enrolment]:
    """Enrolments active on `on`, with their participants loaded in one query."""
    from sqlalchemy.orm import joinedload

    rows = session.scalars(
        select(Enrolment)
        .options(joinedload(Enrolment.participant))
        .where(Enrolment.class_id == item.id, _active_on(on))
        .order_by(Enrolment.id)
    )
    return sorted(rows, key=lambda e: e.participant.display_name.casefold())


def enrolment_history(session: Session, participant: Participant) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment)
            .where(Enrolment.participant_id == participant.id)
            .order_by(Enrolment.starts_on.desc(), Enrolment.id.desc())
        )
    )


def _check_enrol_date(item: LanguageClass, on: date | None, today: date, field_name: str) -> date:
    if on is None:
        raise ValidationFailed(N_("Enter the date."), field_name)
    if on > today + MAX_ENTRY_AHEAD or on < item.starts_on - MAX_ENTRY_AHEAD:
        raise ValidationFailed(N_("Check the date."), field_name)
    if on > item.ends_on:
        raise ValidationFailed(N_("The class has ended by then."), field_name)
    return on


def enrol(
    session: Session,
    actor: Actor,
    item: LanguageClass,
    participant: Participant,
    starts_on: date | None,
    today: date,
) -> Enrolment:
    """A leader or teacher of the class's unit enrols a participant found by identifier."""
    grant = actor.authorise(Action.CLASS_MANAGE, item)
    start = _check_enrol_date(item, starts_on, today, "starts_on")
    if participant.anonymised_at is not None:
        raise ValidationFailed(N_("No participant with this number was found."), "identifier")
    open_here = session.scalar(
        select(Enrolment.id).where(
            Enrolment.participant_id == participant.id,
            Enrolment.class_id == item.id,
            or_(Enrolment.ends_on.is_(None), Enrolment.ends_on >= start),
        )
    )
    if open_here is not None:
        raise ValidationFailed(N_("This participant is already in the class."), "identifier")
    enrolment = Enrolment(
        participant_id=participant.id,
        class_id=item.id,
        starts_on=start,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(enrolment)
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "enrolment.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("language",),
    )
    return enrolment


def end_enrolment(
    session: Session,
    actor: Actor,
    enrolment: Enrolment,
    expected_version: int,
    *,
    ends_on: date | None,
    reason: EnrolmentEnd | None,
    move_to: LanguageClass | None,
    today: date,
) -> Enrolment | None:
    """End an enrolment (left, completed) or move the participant to another class of
    a unit the actor manages: the old enrolment ends the day before, a new one starts."""
    item = enrolment.language_class
    grant = actor.authorise(Action.CLASS_MANAGE, item)
    if enrolment.version != expected_version:
        raise StaleEdit()
    if enrolment.ends_on is not None:
        raise ValidationFailed(N_("This enrolment has already ended."), "ends_on")
    on = _check_enrol_date(item, ends_on, today, "ends_on")
    if on < enrolment.starts_on:
        raise ValidationFailed(N_("The end date must not be before the start date."), "ends_on")
    if reason is None:
        raise ValidationFailed(N_("Choose what happens."), "reason")
    new: Enrolment | None = None
    if reason is EnrolmentEnd.MOVED:
        if move_to is None or move_to.id == item.id:
            raise ValidationFailed(N_("Choose the class to move to."), "move_to")
        actor.authorise(Action.CLASS_MANAGE, move_to)
        start = _check_enrol_date(move_to, on, today, "ends_on")
        enrolment.ends_on = start - timedelta(days=1) if start > enrolment.starts_on else start
        new = Enrolment(
            participant_id=enrolment.participant_id,
            class_id=move_to.id,
            starts_on=start,
            created_by_id=actor.user.id if actor.user else None,
        )
        session.add(new)
    else:
        enrolment.ends_on = on
    enrolment.end_reason = reason
    session.flush()
    participant = enrolment.participant
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "enrolment.move" if new is not None else "enrolment.end",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("language",),
    )
    return new


def enrolment_by_ref(session: Session, item: LanguageClass, ref: str) -> Enrolment:
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.ref == ref, Enrolment.class_id == item.id)
    )
    if enrolment is None:
        raise NotFound()
    return enrolment


# -- attendance ------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceInput:
    enrolment_ref: str
    status: AttendanceStatus | None
    reason: AbsenceReason | None
    minutes: int | None


@dataclass
class Register:
    item: LanguageClass
    on: date
    session: ClassSession | None
    enrolments: list[Enrolment]
    attendance: dict[int, Attendance]  # by participant id

    @property
    def version(self) -> int:
        return self.session.version if self.session is not None else 0


def register_of(session: Session, item: LanguageClass, on: date) -> Register:
    """The roster on `on` and what was saved for that day (two queries plus the roster)."""
    saved = session.scalar(
        select(ClassSession).where(ClassSession.class_id == item.id, ClassSession.held_on == on)
    )
    rows: dict[int, Attendance] = {}
    if saved is not None:
        rows = {
            a.participant_id: a
            for a in session.scalars(select(Attendance).where(Attendance.session_id == saved.id))
        }
    return Register(item, on, saved, roster(session, item, on), rows)


def _check_entry(
    entry: AttendanceInput, planned: int, index: int
) -> tuple[AttendanceStatus, AbsenceReason | None, int]:
    field_name = f"entries-{index}"
    if entry.status is None:
        raise ValidationFailed(N_("Choose present, absent or on leave for everyone."), field_name)
    status = entry.status
    reason = entry.reason
    if status is AttendanceStatus.EXCUSED and reason is None:
        raise ValidationFailed(N_("Choose the reason for an excused absence."), field_name)
    if status is not AttendanceStatus.EXCUSED:
        reason = None
    if status is AttendanceStatus.PRESENT:
        minutes = planned if entry.minutes is None else entry.minutes
        if not 1 <= minutes <= planned:
            raise ValidationFailed(
                N_("Minutes attended must be from 1 to %(max)d."), field_name, max=planned
            )
    else:
        minutes = 0
    return status, reason, minutes


def save_register(
    session: Session,
    actor: Actor,
    item: LanguageClass,
    on: date | None,
    expected_version: int,
    entries: Iterable[AttendanceInput],
    *,
    today: date,
    lesson_programme_minutes: int | None = None,
) -> list[Participant]:
    """A teacher of the class saves (or corrects) the register for one day, all at once.

    Every enrolled participant needs an entry. A correction writes an
    `AttendanceChange` per changed row; the whole save is one audit event. Then the
    absence of everyone in the register is checked against the threshold, which may
    create advisor tasks, and their `AttendanceMonth` rows of the day's month are
    recomputed. Returns the participants for whom a task was created.
    """
    grant = actor.authorise(Action.LANGUAGE_RECORD, item)
    if on is None:
        raise ValidationFailed(N_("Enter the date."), "on")
    if on > today:
        raise ValidationFailed(N_("Attendance cannot be registered ahead."), "on")
    if not item.meets_on(on):
        raise ValidationFailed(N_("The class has no lessons on this day."), "on")
    register = register_of(session, item, on)
    if register.version != expected_version:
        raise StaleEdit()
    by_ref = {e.ref: e for e in register.enrolments}
    given = list(entries)
    if sorted(e.enrolment_ref for e in given) != sorted(by_ref):
        raise StaleEdit()  # the roster changed since the form was shown
    planned = item.session_minutes
    cleaned = []
    for index, entry in enumerate(given):
        cleaned.append((by_ref[entry.enrolment_ref], *_check_entry(entry, planned, index)))
    user_id = actor.user.id if actor.user else None
    is_correction = register.session is not None
    held = register.session
    if held is None:
        held = ClassSession(
            class_id=item.id,
            held_on=on,
            planned_minutes=planned,
            saved_by_id=user_id,
            saved_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(held)
        except IntegrityError:
            # Another teacher's first save of this day won (in another process): this
            # form is as stale as one with an old version.
            raise StaleEdit() from None
    else:
        held.saved_by_id = user_id
        held.saved_at = utcnow()  # bumps the version: the next stale form is refused
        session.flush()
    rules: dict[Country, RuleSet] = {}
    for enrolment, status, reason, minutes in cleaned:
        participant = enrolment.participant
        rs = rules.setdefault(participant.country, rule_set_for(participant.country, on))
        counted = programme_minutes(minutes, rs, lesson_programme_minutes)
        row = register.attendance.get(participant.id)
        if row is None:
            session.add(
                Attendance(
                    session_id=held.id,
                    participant_id=participant.id,
                    held_on=on,
                    status=status,
                    reason=reason,
                    planned_minutes=planned,
                    attended_minutes=minutes,
                    programme_minutes=counted,
                )
            )
            continue
        if (row.status, row.reason, row.attended_minutes) == (status, reason, minutes):
            continue
        session.add(
            AttendanceChange(
                attendance_id=row.id,
                old_status=row.status,
                old_minutes=row.attended_minutes,
                new_status=status,
                new_minutes=minutes,
                changed_by_id=user_id,
            )
        )
        row.status, row.reason, row.attended_minutes = status, reason, minutes
        row.programme_minutes = counted
    session.flush()
    participants = [e.participant for e, *_ in cleaned]
    alerted = check_absence(session, actor, participants, today)
    # Only now: check_absence has locked these participants (FOR NO KEY UPDATE), so a
    # concurrent save of another class for one of them waits until this one commits,
    # and its recompute, a new statement under READ COMMITTED, then sees both saves'
    # rows. Recomputed before the lock, each save would miss the other's rows.
    refresh_attendance_months(session, [p.id for p in participants], [on])
    actor.record(
        session,
        "attendance.correct" if is_correction else "attendance.save",
        grant,
        object_type="class",
        object_ref=item.ref,
        field_categories=("attendance", *(("tasks",) if alerted else ())),
    )
    return alerted


# -- the monthly rollup ------------------------------------------------------------


def month_start(column: Any, dialect: str) -> Any:
    """The first day of the month of the date `column`, in the database's own functions."""
    # Literal units, not bound parameters: PostgreSQL matches a GROUP BY expression to the
    # selected one by its text, and two parameters ($1, $2) would not match.
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column("'month'"), column), Date)
    return func.date(column, literal_column("'start of month'"))


def refresh_attendance_months(
    session: Session,
    participant_ids: Iterable[int] | None,
    months: Iterable[date] | None = None,
) -> None:
    """Recompute the `AttendanceMonth` rows of `participant_ids` (everyone when None) in
    the months of the dates `months` (every month when None) from their attendance rows.

    Whoever writes attendance rows calls this in the same transaction, after locking the
    participants (see `save_register`); the seed and migration 0014 rebuild everything.
    Two statements: DELETE, then INSERT … SELECT … GROUP BY. Changes nothing else.
    """
    month = month_start(Attendance.held_on, session.get_bind().dialect.name)
    not_leave = Attendance.status != AttendanceStatus.LEAVE
    missed = Attendance.planned_minutes - Attendance.attended_minutes
    source = select(
        Attendance.participant_id,
        month,
        func.sum(case((not_leave, Attendance.planned_minutes), else_=0)),
        func.sum(case((Attendance.status == AttendanceStatus.UNEXCUSED, missed), else_=0)),
        func.count(),
    ).group_by(Attendance.participant_id, month)
    stale = delete(AttendanceMonth)
    if participant_ids is not None:
        ids = sorted(set(participant_ids))
        if not ids:
            return
        source = source.where(Attendance.participant_id.in_(ids))
        stale = stale.where(AttendanceMonth.participant_id.in_(ids))
    if months is not None:
        firsts = sorted({on.replace(day=1) for on in months})
        if not firsts:
            return
        source = source.where(
            or_(
                *(
                    and_(Attendance.held_on >= first, Attendance.held_on < add_months(first, 1))
                    for first in firsts
                )
            )
        )
        stale = stale.where(AttendanceMonth.month.in_(firsts))
    session.execute(stale.execution_options(synchronize_session=False))
    session.execute(
        insert(AttendanceMonth).from_select(
            ["participant_id", "month", "planned_minutes", "unexcused_minutes", "sessions"],
            source,
        )
    )


# -- absence -----------------------------------------------------------------------


@dataclass(frozen=True)
class AbsenceSummary:
    planned_minutes: int = 0  # scheduled minutes, leave days excluded
    attended_minutes: int = 0
    programme_minutes: int = 0
    excused_minutes: int = 0
    unexcused_minutes: int = 0
    leave_minutes: int = 0

    def _rate(self, minutes: int) -> float:
        return 100.0 * minutes / self.planned_minutes if self.planned_minutes else 0.0

    @property
    def excused_percent(self) -> float:
        return self._rate(self.excused_minutes)

    @property
    def unexcused_percent(self) -> float:
        return self._rate(self.unexcused_minutes)

    @property
    def attendance_percent(self) -> float:
        return self._rate(self.attended_minutes)


def absence_summaries(
    session: Session, participant_ids: list[int], start: date, end: date
) -> dict[int, AbsenceSummary]:
    """Minutes per participant between `start` and `end` (inclusive), one grouped query."""
    if not participant_ids:
        return {}
    not_leave = Attendance.status != AttendanceStatus.LEAVE

    def minutes_if(condition: Any, column: Any) -> Any:
        return func.coalesce(func.sum(case((condition, column), else_=0)), 0)

    missed = Attendance.planned_minutes - Attendance.attended_minutes
    rows = session.execute(
        select(
            Attendance.participant_id,
            minutes_if(not_leave, Attendance.planned_minutes),
            minutes_if(not_leave, Attendance.attended_minutes),
            minutes_if(not_leave, Attendance.programme_minutes),
            minutes_if(Attendance.status == AttendanceStatus.EXCUSED, missed),
            minutes_if(Attendance.status == AttendanceStatus.UNEXCUSED, missed),
            minutes_if(Attendance.status == AttendanceStatus.LEAVE, Attendance.planned_minutes),
        )
        .where(
            Attendance.participant_id.in_(participant_ids),
            Attendance.held_on >= start,
            Attendance.held_on <= end,
        )
        .group_by(Attendance.participant_id)
    )
    return {row[0]: AbsenceSummary(*(int(v) for v in row[1:])) for row in rows}


def absence_window(rs: RuleSet, today: date) -> tuple[date, date]:
    return today - timedelta(weeks=rs.absence_window_weeks) + timedelta(days=1), today


def is_above_threshold(summary: AbsenceSummary, rs: RuleSet) -> bool:
    """Unexcused absence above the threshold share of the scheduled minutes (leave excluded)."""
    return summary.planned_minutes > 0 and (
        summary.unexcused_minutes * 100 > rs.absence_threshold_percent * summary.planned_minutes
    )


def _latest_alerts(session: Session, participant_ids: list[int]) -> dict[int, AbsenceAlert]:
    latest = (
        select(AbsenceAlert.participant_id, func.max(AbsenceAlert.number).label("number"))
        .where(AbsenceAlert.participant_id.in_(participant_ids))
        .group_by(AbsenceAlert.participant_id)
        .subquery()
    )
    rows = session.scalars(
        select(AbsenceAlert)
        .join(
            latest,
            and_(
                AbsenceAlert.participant_id == latest.c.participant_id,
                AbsenceAlert.number == latest.c.number,
            ),
        )
        # Another process may have cleared an alert this session loaded earlier.
        .execution_options(populate_existing=True)
    )
    return {a.participant_id: a for a in rows}


def _absence_assignee(participant: Participant) -> User | None:
    from models.tasks import may_hold

    for advisor in (participant.primary_advisor, participant.secondary_advisor):
        if advisor is not None and may_hold(advisor, participant):
            return advisor
    return None


def check_absence(
    session: Session, actor: Actor, participants: list[Participant], today: date
) -> list[Participant]:
    """Open or clear the absence alert of each participant; a new alert (a crossing of
    the threshold) gives the advisor a task. Staying above creates nothing; going
    under clears the alert, so the next crossing is a new one.

    The caller authorised the write and records the audit event. Every participant is
    locked before their absence is summed (SELECT … FOR NO KEY UPDATE on PostgreSQL, in
    id order; SQLite serialises writers): two registers saved at once in different
    processes must see each other's rows, or a crossing made by the two together is
    missed. NO KEY, because the caller's attendance inserts already hold KEY SHARE locks
    on these rows (foreign keys) and FOR UPDATE would deadlock against the other save.
    The (participant, number) unique constraint backs the lock up.
    """
    from models.tasks import new_task

    if not participants:
        return []
    ids = [p.id for p in participants]
    session.execute(
        select(Participant.id)
        .where(Participant.id.in_(ids))
        .order_by(Participant.id)
        .with_for_update(key_share=True)
    )
    by_country: dict[Country, RuleSet] = {}
    summaries: dict[Country, dict[int, AbsenceSummary]] = {}
    for participant in participants:
        if participant.country not in by_country:
            rs = rule_set_for(participant.country, today)
            by_country[participant.country] = rs
            summaries[participant.country] = absence_summaries(
                session,
                [p.id for p in participants if p.country == participant.country],
                *absence_window(rs, today),
            )
    alerts = _latest_alerts(session, ids)
    created: list[Participant] = []
    for participant in participants:
        rs = by_country[participant.country]
        summary = summaries[participant.country].get(participant.id, AbsenceSummary())
        above = is_above_threshold(summary, rs)
        latest = alerts.get(participant.id)
        is_open = latest is not None and latest.cleared_on is None
        if above == is_open:
            continue
        if not above:
            if latest is not None and is_open:
                latest.cleared_on = today
            continue
        if is_open:
            continue
        alert = AbsenceAlert(
            participant_id=participant.id,
            number=(latest.number if latest else 0) + 1,
            crossed_on=today,
            rate_percent=int(summary.unexcused_percent),
        )
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:
            continue  # another save recorded this crossing first
        still_open = _open_task_id(session, latest)
        assignee = _absence_assignee(participant)
        if still_open is not None:
            # The advisor has not dealt with the last crossing's task yet: one is enough.
            alert.task_id = still_open
        elif assignee is not None:
            task = new_task(
                session,
                actor,
                participant,
                title=ABSENCE_TASK_TITLES[participant.country],
                assignee=assignee,
                due_on=today + timedelta(days=ABSENCE_TASK_DAYS),
            )
            session.flush()
            alert.task_id = task.id
        created.append(participant)
    return created


def _open_task_id(session: Session, alert: AbsenceAlert | None) -> int | None:
    """The task of an earlier crossing, if it is still open."""
    from models.tasks import Task

    if alert is None or alert.task_id is None:
        return None
    task = session.get(Task, alert.task_id)
    return task.id if task is not None and task.done_at is None else None


# -- leave, progress and tests ----------------------------------------------------


def _check_past(on: date | None, today: date, field_name: str) -> date:
    if on is None:
        raise ValidationFailed(N_("Enter the date."), field_name)
    if on > today + MAX_ENTRY_AHEAD:
        raise ValidationFailed(N_("The date cannot be that far ahead."), field_name)
    if on < today - timedelta(days=10 * 366):
        raise ValidationFailed(N_("Check the date."), field_name)
    return on


def add_leave(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    leave_type: LeaveType | None,
    starts_on: date | None,
    ends_on: date | None,
    today: date,
) -> Leave:
    """A teacher of an enrolled participant records approved leave; the deadline moves."""
    grant = actor.authorise(Action.LANGUAGE_RECORD, participant)
    if leave_type is None:
        raise ValidationFailed(N_("Choose the kind of leave."), "leave_type")
    if starts_on is None:
        raise ValidationFailed(N_("Enter the first day of the leave."), "starts_on")
    if ends_on is None:
        raise ValidationFailed(N_("Enter the last day of the leave."), "ends_on")
    if ends_on < starts_on:
        raise ValidationFailed(N_("The end date must not be before the start date."), "ends_on")
    if (ends_on - starts_on).days + 1 > MAX_LEAVE_DAYS:
        raise ValidationFailed(N_("A leave can last at most two years."), "ends_on")
    if abs((starts_on - today).days) > 3 * 366:
        raise ValidationFailed(N_("Check the date."), "starts_on")
    overlap = session.scalar(
        select(Leave.id).where(
            Leave.participant_id == participant.id,
            Leave.starts_on <= ends_on,
            Leave.ends_on >= starts_on,
        )
    )
    if overlap is not None:
        raise ValidationFailed(N_("This overlaps a leave already recorded."), "starts_on")
    leave = Leave(
        participant_id=participant.id,
        leave_type=leave_type,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(leave)
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "leave.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("language",),
    )
    return leave


def add_estimate(
    session: Session,
    actor: Actor,
    participant: Participant,
    *,
    skill: Skill | None,
    level: CefrLevel | None,
    assessed_on: date | None,
    comment: str,
    today: date,
) -> ProgressEstimate:
    """A teacher of an enrolled participant records a CEFR estimate of one skill."""
    grant = actor.authorise(Action.LANGUAGE_RECORD, participant)
    if skill is None:
        raise ValidationFailed(N_("Choose the skill."), "skill")
    if level is None:
        raise ValidationFailed(N_("Choose the level."), "level")
    on = _check_past(assessed_on, today, "assessed_on")
    if on > today:
        raise ValidationFailed(N_("An estimate cannot be dated ahead."), "assessed_on")
    text = " ".join((comment or "").split())
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(
            N_("This can be at most %(max)d characters long."), "comment", max=MAX_COMMENT
        )
    estimate = ProgressEstimate(
        participant_id=participant.id,
        skill=skill,
        level=level,
        assessed_on=on,
        created_by_id=actor.user.id if actor.user else None,
    )
    estimate.comment = text or None
    session.add(estimate)
    session.flush()
    actor.record(
        session,
        "progress.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("language", *(("comment",) if text else ())),
    )
    return estimate


@dataclass(frozen=True)
class TestInput:
    __test__ = False  # not a pytest class

    kind: TestKind | None
    taken_on: date | None
    skill: Skill | None = None
    level: CefrLevel | None = None
    score: int | None = None
    study_path: StudyPath | None = None
    course: SfiCourse | None = None
    grade: SfiGrade | None = None
    hours: int | None = None


NORWEGIAN_KINDS = (TestKind.NORWEGIAN, TestKind.SOCIAL_STUDIES)
SWEDISH_KINDS = (TestKind.SFI_COURSE, TestKind.ORIENTATION)


def add_test_result(
    session: Session, actor: Actor, participant: Participant, data: TestInput, *, today: date
) -> TestResult:
    """A teacher of an enrolled participant records a test or course result."""
    grant = actor.authorise(Action.LANGUAGE_RECORD, participant)
    if data.kind is None:
        raise ValidationFailed(N_("Choose the kind of result."), "kind")
    allowed = NORWEGIAN_KINDS if participant.country is Country.NORWAY else SWEDISH_KINDS
    if data.kind not in allowed:
        raise ValidationFailed(N_("This kind of result does not apply in this country."), "kind")
    on = _check_past(data.taken_on, today, "taken_on")
    if on > today:
        raise ValidationFailed(N_("A result cannot be dated ahead."), "taken_on")
    rs = rule_set_for(participant.country, on)
    result = TestResult(
        participant_id=participant.id,
        kind=data.kind,
        taken_on=on,
        created_by_id=actor.user.id if actor.user else None,
    )
    if data.kind is TestKind.NORWEGIAN:
        if data.skill is None:
            raise ValidationFailed(N_("Choose the skill."), "skill")
        if data.level is None:
            raise ValidationFailed(N_("Choose the level."), "level")
        result.skill, result.level = data.skill, data.level
    elif data.kind is TestKind.SOCIAL_STUDIES:
        if data.score is None:
            raise ValidationFailed(N_("Enter the score."), "score")
        result.passed = social_studies_passed(data.score, rs)
        result.score, result.max_score = data.score, rs.social_studies_max_score
    elif data.kind is TestKind.SFI_COURSE:
        if data.study_path is None:
            raise ValidationFailed(N_("Choose the study path."), "study_path")
        if data.course is None:
            raise ValidationFailed(N_("Choose the course."), "course")
        if data.grade is None:
            raise ValidationFailed(N_("Choose the grade."), "grade")
        result.study_path, result.course, result.grade = data.study_path, data.course, data.grade
        result.passed = data.grade is not SfiGrade.F
    else:
        if data.hours is None or not 1 <= data.hours <= MAX_ORIENTATION_HOURS:
            raise ValidationFailed(
                N_("Enter from 1 to %(max)d hours."), "hours", max=MAX_ORIENTATION_HOURS
            )
        result.hours = data.hours
    session.add(result)
    session.flush()
    refresh_deadlines(participant, today)
    actor.record(
        session,
        "test_result.create",
        grant,
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("language",),
    )
    return result


# -- reading ------------------------------------------------------------------------


def estimates_of(
    session: Session, participant: Participant, limit: int = 200
) -> list[ProgressEstimate]:
    """Estimates, oldest first (the chart's order); comments stay sealed until read."""
    return list(
        session.scalars(
            select(ProgressEstimate)
            .where(ProgressEstimate.participant_id == participant.id)
            .order_by(ProgressEstimate.assessed_on.desc(), ProgressEstimate.id.desc())
            .limit(limit)
        )
    )[::-1]


def tests_of(session: Session, participant: Participant, limit: int = 100) -> list[TestResult]:
    return list(
        session.scalars(
            select(TestResult)
            .where(TestResult.participant_id == participant.id)
            .order_by(TestResult.taken_on.desc(), TestResult.id.desc())
            .limit(limit)
        )
    )


def leaves_of(session: Session, participant: Participant) -> list[Leave]:
    return list(
        session.scalars(
            select(Leave)
            .where(Leave.participant_id == participant.id)
            .order_by(Leave.starts_on.desc())
        )
    )


def latest_by_skill(estimates: Iterable[ProgressEstimate]) -> dict[Skill, ProgressEstimate]:
    latest: dict[Skill, ProgressEstimate] = {}
    for e in estimates:
        if e.skill not in latest or (e.assessed_on, e.id) >= (
            latest[e.skill].assessed_on,
            latest[e.skill].id,
        ):
            latest[e.skill] = e
    return latest


def latest_tests_by_skill(tests: Iterable[TestResult]) -> dict[Skill, TestResult]:
    latest: dict[Skill, TestResult] = {}
    for t in sorted(tests, key=lambda t: (t.taken_on, t.id)):
        if t.kind is TestKind.NORWEGIAN and t.skill is not None:
            latest[t.skill] = t
    return latest


# -- the Norwegian-training deadline ---------------------------------------------


@dataclass(frozen=True)
class TrainingDeadline:
    due_on: date
    started_on: date
    months: int
    leave_days: int
    met_on: date | None
    rule_set: RuleSet


def training_deadline(session: Session, participant: Participant) -> TrainingDeadline | None:
    """3 years from the first enrolment (18 months with upper-secondary education), plus
    the days of recorded leave. Met when an enrolment ended as completed."""
    first = session.execute(
        select(
            func.min(Enrolment.starts_on),
            func.max(case((Enrolment.end_reason == EnrolmentEnd.COMPLETED, Enrolment.ends_on))),
        ).where(Enrolment.participant_id == participant.id)
    ).one()
    started_on, completed_on = first
    if started_on is None:
        return None
    rs = rule_set_for(participant.country, started_on)
    if rs.language_training_months is None:
        return None
    months = rs.language_training_months
    if rs.language_training_months_upper_secondary is not None:
        from models.plans import current_mapping

        mapping = current_mapping(session, participant)
        if mapping is not None and mapping.has_upper_secondary:
            months = rs.language_training_months_upper_secondary
    leave_days = sum(leave.days for leave in leaves_of(session, participant))
    due_on = add_months(started_on, months) + timedelta(days=leave_days)
    return TrainingDeadline(due_on, started_on, months, leave_days, completed_on, rs)


def _language_deadlines(session: Session, participant: Participant, today: date) -> list[Due]:
    found = training_deadline(session, participant)
    if found is None:
        return []
    return [
        Due(
            kind=DeadlineKind.LANGUAGE_TRAINING,
            due_on=found.due_on,
            met_on=found.met_on,
            rule_id=f"{found.rule_set.rule_prefix}/deadline-language-training",
            rule_set=found.rule_set.version,
            explanation=N_(
                "Norwegian training must be completed within %(months)d months of its start "
                "(%(start)s), extended by %(days)d days of approved leave."
            ),
            params=frozen_params(
                months=found.months, start=found.started_on.isoformat(), days=found.leave_days
            ),
        )
    ]


register_provider("language", _language_deadlines)


# -- the participant's hours, and the centre leader's figures ------------------------


def planned_language_minutes(session: Session, participant: Participant, today: date) -> int:
    """Language hours the plan foresees up to today (LANGUAGE elements × weeks), in minutes."""
    from models.codes import PlanElementType
    from models.plans import PlanElement

    total = 0.0
    for element in session.scalars(
        select(PlanElement).where(
            PlanElement.participant_id == participant.id,
            PlanElement.element_type == PlanElementType.LANGUAGE,
        )
    ):
        if element.start_on is None or element.start_on > today:
            continue
        end = min(element.end_on or today, today)
        weeks = ((end - element.start_on).days + 1) / 7
        total += element.hours_per_week * weeks * 60
    return int(total)


def level_index(level: CefrLevel | None) -> int:
    return CEFR_ORDER.index(level) if level is not None else 0


def expected_level(goal: CefrLevel, started_on: date, due_on: date, on: date) -> CefrLevel:
    """The level expected on `on` if progress from below A1 to the goal were even."""
    if on <= started_on:
        return CefrLevel.BELOW_A1
    share = min(1.0, (on - started_on).days / max(1, (due_on - started_on).days))
    return CEFR_ORDER[int(level_index(goal) * share)]


@dataclass(frozen=True)
class WeekRate:
    week_start: date
    planned_minutes: int
    attended_minutes: int

    @property
    def percent(self) -> float | None:
        return (
            100.0 * self.attended_minutes / self.planned_minutes if self.planned_minutes else None
        )


def class_week_rates(
    session: Session, class_ids: list[int], first_week: date, weeks: int
) -> dict[int, list[WeekRate]]:
    """Attendance per class and ISO week (leave excluded), one grouped query."""
    if not class_ids:
        return {}
    end = first_week + timedelta(weeks=weeks) - timedelta(days=1)
    rows = session.execute(
        select(
            ClassSession.class_id,
            ClassSession.held_on,
            func.sum(Attendance.planned_minutes),
            func.sum(Attendance.attended_minutes),
        )
        .join(Attendance, Attendance.session_id == ClassSession.id)
        .where(
            ClassSession.class_id.in_(class_ids),
            ClassSession.held_on >= first_week,
            ClassSession.held_on <= end,
            Attendance.status != AttendanceStatus.LEAVE,
        )
        .group_by(ClassSession.class_id, ClassSession.held_on)
    )
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for class_id, held_on, planned, attended in rows:
        week = (held_on - first_week).days // 7
        sums[(class_id, week)][0] += int(planned or 0)
        sums[(class_id, week)][1] += int(attended or 0)
    return {
        class_id: [
            WeekRate(first_week + timedelta(weeks=w), *sums.get((class_id, w), [0, 0]))
            for w in range(weeks)
        ]
        for class_id in class_ids
    }


@dataclass(frozen=True)
class BehindRow:
    enrolment: Enrolment
    skill: Skill
    latest: CefrLevel | None
    expected: CefrLevel


def behind_expected(
    session: Session, classes: list[LanguageClass], today: date, limit: int = 100
) -> list[BehindRow]:
    """Participants of these classes whose latest estimate of a skill is below the level
    expected by now on the way to their plan's goal (even progress to the deadline)."""
    from sqlalchemy.orm import joinedload

    from models.plans import Plan

    if not classes:
        return []
    enrolments = list(
        session.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.participant))
            .where(Enrolment.class_id.in_([c.id for c in classes]), _active_on(today))
        )
    )
    ids = [e.participant_id for e in enrolments]
    if not ids:
        return []
    goals = {
        pid: text
        for pid, text in session.execute(
            select(Plan.participant_id, Plan.language_goals).where(Plan.participant_id.in_(ids))
        )
    }
    estimates: dict[int, list[ProgressEstimate]] = defaultdict(list)
    for e in session.scalars(
        select(ProgressEstimate).where(ProgressEstimate.participant_id.in_(ids))
    ):
        estimates[e.participant_id].append(e)
    from models.plans import parse_language_goals

    found: list[BehindRow] = []
    for enrolment in enrolments:
        goal_map = parse_language_goals(goals.get(enrolment.participant_id))
        if not goal_map:
            continue
        deadline = training_deadline(session, enrolment.participant)
        if deadline is None:
            continue
        latest = latest_by_skill(estimates[enrolment.participant_id])
        for skill, goal in goal_map.items():
            expected = expected_level(goal, deadline.started_on, deadline.due_on, today)
            have = latest[skill].level if skill in latest else None
            if level_index(have) < level_index(expected):
                found.append(BehindRow(enrolment, skill, have, expected))
        if len(found) >= limit:
            break
    return found[:limit]
