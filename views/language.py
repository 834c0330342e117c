"""Language training: classes, attendance, progress and test results.

* `/classes/…`: a teacher's classes, the roster, the attendance register, class
  management (CLASS_MANAGE: the centre's leaders and teachers; the register needs
  LANGUAGE_RECORD as a teacher of the class) and the centre leader's figures.
* `/participants/<ref>/language`: the participant's language page (PARTICIPANT_READ
  plus the language section: the advisor, the unit's leader, a consented partner and
  a teacher of a class the participant is enrolled in); teachers record there.

Every page that shows personal data writes one audit event and commits it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import language as ops
from models.access import View, view_of
from models.accounts import Role, User
from models.base import local_today
from models.codes import CEFR_LABELS, SKILL_LABELS, CefrLevel, Country, Section, Skill
from models.errors import N_, ValidationFailed
from models.participants import Participant, find_by_identifier, get_by_ref
from models.plans import plan_of
from models.policy import Action, Grant, can, require
from models.rules import rule_set_for
from views.common import acting_actor, save
from views.forms import parse_version
from views.language_forms import (
    ClassForm,
    EndEnrolmentForm,
    EnrolForm,
    EstimateForm,
    LeaveForm,
    RegisterForm,
    TestResultForm,
)

bp = Blueprint("language", __name__, url_prefix=None)

FormResult = str | BaseResponse | tuple[str, int]
REPORT_WEEKS = 8
N_NOT_FOUND = N_("No participant with this number was found.")

# The progress chart: one small SVG per skill, levels on the y axis.
CHART_WIDTH = 320
CHART_HEIGHT = 150
CHART_LEFT = 70
CHART_TOP = 10
CHART_STEP = 22


def _lesson_override() -> int | None:
    value = current_app.config.get("LESSON_PROGRAMME_MINUTES")
    return int(value) if value else None


def _labels() -> dict[str, Any]:
    return {
        "skill_labels": SKILL_LABELS,
        "cefr_labels": CEFR_LABELS,
        "status_labels": ops.ATTENDANCE_STATUS_LABELS,
        "reason_labels": ops.ABSENCE_REASON_LABELS,
        "leave_labels": ops.LEAVE_TYPE_LABELS,
        "end_labels": ops.ENROLMENT_END_LABELS,
        "test_labels": ops.TEST_KIND_LABELS,
        "weekday_labels": ops.WEEKDAY_LABELS,
        "TestKind": ops.TestKind,
        "Skill": Skill,
    }


def _audit_read(action: str, object_type: str, ref: str, grant: Grant, *categories: str) -> None:
    record_event(
        action, object_type=object_type, object_ref=ref, field_categories=categories, grant=grant
    )
    db().commit()  # fail closed: no event, no data


def _class(number: int) -> tuple[ops.LanguageClass, Grant]:
    item, grant = ops.get_class(db(), acting_user(), number)
    g.grant = grant
    return item, grant


# -- the teacher's home ---------------------------------------------------------------


@bp.route("/classes/")
@requires(Action.CLASS_MANAGE)
def classes() -> str:
    """My classes (a leader: the centre's classes), those with lessons today first."""
    user = acting_user()
    today = local_today()
    found = ops.classes_for(db(), user)
    running = [c for c in found if c.ends_on >= today]
    today_first = sorted(running, key=lambda c: (not c.meets_on(today), c.name.casefold()))
    ended = [c for c in found if c.ends_on < today]
    return render_template(
        "language/classes.html",
        today_classes=[c for c in today_first if c.meets_on(today)],
        running=[c for c in today_first if not c.meets_on(today)],
        ended=ended[:50],
        today=today,
        can_create=bool(ops.managed_units(db(), user)),
        is_leader=user.has_role(Role.LEADER),
        **_labels(),
    )


def _class_form(item: ops.LanguageClass | None, formdata: Any = None) -> ClassForm:
    database = db()
    user = acting_user()
    units = [(u.id, u.name) for u in ops.managed_units(database, user)]
    unit_id = item.unit_id if item else (units[0][0] if units else None)
    if formdata is not None and item is None:
        try:
            unit_id = int(request.form.get("unit_id", unit_id or 0))
        except ValueError:
            unit_id = None
    teachers = (
        [(t.id, t.display_name) for t in ops.teachers_of_unit(database, unit_id)] if unit_id else []
    )
    if item is not None:
        units = [(item.unit_id, item.unit.name)]
    form = ClassForm(formdata=formdata, units=units, teachers=teachers)
    if formdata is None and item is not None:
        form.name.data = item.name
        form.unit_id.data = item.unit_id
        form.level.data = item.level.value if item.level else ""
        form.weekdays.data = [d.value for d in item.weekday_list]
        form.lesson_minutes.data = item.lesson_minutes
        form.lessons_per_day.data = item.lessons_per_day
        form.starts_on.data = item.starts_on
        form.ends_on.data = item.ends_on
        form.room.data = item.room or ""
        form.teacher_ids.data = sorted(item.teacher_ids)
        form.version.data = str(item.version)
    elif formdata is None:
        form.lesson_minutes.data = 45
        form.lessons_per_day.data = 4
        user_id = user.id
        if any(t[0] == user_id for t in teachers):
            form.teacher_ids.data = [user_id]
    return form


@bp.route("/classes/new", methods=["GET", "POST"])
@requires(Action.CLASS_MANAGE)
def class_new() -> FormResult:
    """A leader or teacher of an adult learning centre creates a class."""
    database = db()
    if not ops.managed_units(database, acting_user()):
        abort(403)
    form = _class_form(None, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = save(form, lambda: ops.create_class(database, acting_actor(), form.to_input()))
            if saved.ok:
                assert saved.result is not None
                flash(gettext("The class is created."), "success")
                return redirect(url_for("language.class_page", number=saved.result.id))
            status = saved.status
        else:
            status = 400
    return render_template("language/class_form.html", form=form, item=None), status


@bp.route("/classes/<int:number>/edit", methods=["GET", "POST"])
@requires(Action.CLASS_MANAGE)
def class_edit(number: int) -> FormResult:
    """A leader or teacher of the class's centre changes the class."""
    database = db()
    item, _grant = _class(number)
    form = _class_form(item, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = save(
                form,
                lambda: ops.update_class(
                    database, acting_actor(), item, parse_version(form.version), form.to_input()
                ),
            )
            if saved.ok:
                flash(gettext("The class is saved."), "success")
                return redirect(url_for("language.class_page", number=item.id))
            status = saved.status
        else:
            status = 400
    return render_template("language/class_form.html", form=form, item=item), status


# -- the class page: roster and enrolment ------------------------------------------


def _render_class(
    item: ops.LanguageClass, grant: Grant, enrol_form: EnrolForm, status: int = 200
) -> tuple[str, int]:
    database = db()
    user = acting_user()
    today = local_today()
    enrolments = ops.roster(database, item, today)
    window = ops.absence_window(rule_set_for(Country.NORWAY, today), today)
    summaries = ops.absence_summaries(database, [e.participant_id for e in enrolments], *window)
    _audit_read("class.read", "class", item.ref, grant, "name", "language")
    upcoming = [today + timedelta(days=d) for d in range(-7, 1)]
    return render_template(
        "language/class.html",
        item=item,
        enrolments=enrolments,
        summaries=summaries,
        window=window,
        enrol_form=enrol_form,
        button_form=enrol_form,
        register_days=[d for d in reversed(upcoming) if item.meets_on(d)],
        can_register=can(user, Action.LANGUAGE_RECORD, item),
        can_read_participant=_readable(user, item, enrolments),
        today=today,
        **_labels(),
    ), status


def _readable(
    user: User, item: ops.LanguageClass, enrolments: list[ops.Enrolment]
) -> dict[int, bool]:
    """Whose language page the user may open, without a query per row: the class's
    teacher reads every enrolled participant (but a restricted record), a leader those
    of their own units; the page itself asks the policy again."""
    teaches = user.id in item.teacher_ids and user.has_role(Role.TEACHER, item.unit_id)
    return {
        e.participant_id: not e.participant.is_restricted
        and (teaches or user.has_role(Role.LEADER, e.participant.unit_id))
        for e in enrolments
    }


@bp.route("/classes/<int:number>")
@requires(Action.CLASS_MANAGE)
def class_page(number: int) -> FormResult:
    """The class with its roster (names and the language section only)."""
    item, grant = _class(number)
    form = EnrolForm()
    form.starts_on.data = max(local_today(), item.starts_on)
    return _render_class(item, grant, form)


@bp.route("/classes/<int:number>/enrol", methods=["POST"])
@requires(Action.CLASS_MANAGE)
def enrol(number: int) -> FormResult:
    """Enrol a participant found by national ID or DUF number (the centre's leader or a
    teacher). The number is POSTed, never put in a URL."""
    database = db()
    item, grant = _class(number)
    form = EnrolForm()
    if not form.validate_on_submit():
        return _render_class(item, grant, form, 400)
    country = Country.NORWAY
    found = find_by_identifier(database, form.identifier.data or "", country)
    if not found:
        found = find_by_identifier(database, form.identifier.data or "", Country.SWEDEN)

    def enrol_found() -> None:
        if len(found) != 1:
            raise ValidationFailed(N_NOT_FOUND, "identifier")
        ops.enrol(database, acting_actor(), item, found[0], form.starts_on.data, local_today())

    saved = save(form, enrol_found)
    if not saved.ok:
        return _render_class(item, grant, form, saved.status)
    flash(gettext("The participant is enrolled."), "success")
    return redirect(url_for("language.class_page", number=item.id))


def _class_choices(item: ops.LanguageClass) -> list[tuple[int, str]]:
    today = local_today()
    return [
        (c.id, c.name)
        for c in ops.classes_for(db(), acting_user())
        if c.id != item.id and c.ends_on >= today
    ]


@bp.route("/classes/<int:number>/enrolments/<item_ref>", methods=["GET", "POST"])
@requires(Action.CLASS_MANAGE)
def enrolment(number: int, item_ref: str) -> FormResult:
    """End an enrolment or move the participant to another class (history is kept)."""
    database = db()
    item, grant = _class(number)
    found = ops.enrolment_by_ref(database, item, item_ref)
    form = EndEnrolmentForm(classes=_class_choices(item))
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            target = (
                database.get(ops.LanguageClass, form.move_to.data) if form.move_to.data else None
            )
            saved = save(
                form,
                lambda: ops.end_enrolment(
                    database,
                    acting_actor(),
                    found,
                    parse_version(form.version),
                    ends_on=form.ends_on.data,
                    reason=form.to_reason(),
                    move_to=target,
                    today=local_today(),
                ),
            )
            if saved.ok:
                flash(gettext("The enrolment is changed."), "success")
                return redirect(url_for("language.class_page", number=item.id))
            status = saved.status
        else:
            status = 400
    else:
        form.version.data = str(found.version)
        form.ends_on.data = local_today()
    _audit_read("enrolment.read", "participant", found.participant.ref, grant, "name", "language")
    return render_template(
        "language/enrolment.html", item=item, enrolment=found, form=form, **_labels()
    ), status


# -- the attendance register ------------------------------------------------------------


def _register_day() -> date | None:
    raw = request.args.get("on", "")
    if not raw:
        return local_today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _fill_register(form: RegisterForm, register: ops.Register) -> None:
    """Everyone present for the whole session, unless saved already: then what was saved."""
    form.version.data = str(register.version)
    while form.entries.entries:
        form.entries.pop_entry()
    for enrolment in register.enrolments:
        saved = register.attendance.get(enrolment.participant_id)
        form.entries.append_entry(
            {
                "item": enrolment.ref,
                "status": saved.status.value if saved else ops.AttendanceStatus.PRESENT.value,
                "reason": saved.reason.value if saved and saved.reason else "",
                "minutes": saved.attended_minutes if saved else register.item.session_minutes,
            }
        )


@bp.route("/classes/<int:number>/attendance", methods=["GET", "POST"])
@requires(Action.CLASS_MANAGE)
def attendance(number: int) -> FormResult:
    """The register for one day: every enrolled participant, saved in one POST."""
    database = db()
    user = acting_user()
    item, grant = _class(number)
    can_register = can(user, Action.LANGUAGE_RECORD, item)
    on = _register_day()
    if on is None:
        abort(404)
    form = RegisterForm()
    status = 200
    if request.method == "POST":
        if not can_register:
            abort(403)
        if form.validate_on_submit():
            saved = save(
                form,
                lambda: ops.save_register(
                    database,
                    acting_actor(),
                    item,
                    on,
                    parse_version(form.version),
                    form.to_inputs(),
                    today=local_today(),
                    lesson_programme_minutes=_lesson_override(),
                ),
            )
            if saved.ok:
                flash(gettext("The attendance is saved."), "success")
                alerted = saved.result
                if alerted:
                    flash(
                        gettext(
                            "Unexcused absence passed the threshold for %(count)d participants: "
                            "their advisors have a task.",
                            count=len(alerted),
                        ),
                        "info",
                    )
                return redirect(url_for("language.attendance", number=item.id, on=on.isoformat()))
            status = saved.status
        else:
            status = 400
    register = ops.register_of(database, item, on)
    if request.method == "GET":
        _fill_register(form, register)
    names = {e.ref: e.participant.display_name for e in register.enrolments}
    _audit_read("attendance.read", "class", item.ref, grant, "name", "attendance")
    return render_template(
        "language/attendance.html",
        item=item,
        on=on,
        form=form,
        names=names,
        register=register,
        meets=item.meets_on(on),
        can_register=can_register and item.meets_on(on) and on <= local_today(),
        previous_day=on - timedelta(days=1),
        next_day=on + timedelta(days=1),
        today=local_today(),
        **_labels(),
    ), status


# -- the centre leader's figures ----------------------------------------------------------


@bp.route("/classes/report")
@requires(Action.CLASS_REPORT)
def report() -> str:
    """Attendance per class and week, and participants behind their expected progression
    (leaders of the centre)."""
    user = acting_user()
    database = db()
    today = local_today()
    found = [c for c in ops.classes_for(database, user) if user.has_role(Role.LEADER, c.unit_id)]
    running = [c for c in found if c.ends_on >= today - timedelta(weeks=REPORT_WEEKS)][:100]
    monday = today - timedelta(days=today.weekday())
    first_week = monday - timedelta(weeks=REPORT_WEEKS - 1)
    rates = ops.class_week_rates(database, [c.id for c in running], first_week, REPORT_WEEKS)
    behind = ops.behind_expected(database, [c for c in running if c.ends_on >= today], today)
    record_event(
        "language.report",
        object_type="unit",
        field_categories=("name", "language") if behind else ("attendance",),
    )
    database.commit()
    return render_template(
        "language/report.html",
        classes=running,
        rates=rates,
        weeks=[first_week + timedelta(weeks=w) for w in range(REPORT_WEEKS)],
        behind=behind,
        today=today,
        **_labels(),
    )


# -- the participant's language page --------------------------------------------------


def _read(ref: str) -> tuple[Participant, Grant, View]:
    participant = get_by_ref(db(), ref)
    grant = require(acting_user(), Action.PARTICIPANT_READ, participant)
    g.grant = grant
    view = view_of(db(), acting_user(), participant, grant)
    if not view.shows(Section.LANGUAGE):
        abort(404)
    return participant, grant, view


def _test_kinds(participant: Participant) -> tuple[ops.TestKind, ...]:
    return ops.NORWEGIAN_KINDS if participant.country is Country.NORWAY else ops.SWEDISH_KINDS


@dataclass
class Forms:
    estimate: EstimateForm
    test: TestResultForm
    leave: LeaveForm


def _forms(participant: Participant) -> Forms:
    today = local_today()
    forms = Forms(
        EstimateForm(prefix="e"),
        TestResultForm(prefix="t", kinds=_test_kinds(participant)),
        LeaveForm(prefix="l"),
    )
    if request.method == "GET":
        forms.estimate.assessed_on.data = today
        forms.test.taken_on.data = today
    return forms


def _render_participant(
    participant: Participant, grant: Grant, view: View, forms: Forms | None, status: int = 200
) -> tuple[str, int]:
    database = db()
    today = local_today()
    panel = overview_panel(participant, view, today, full=True)
    _audit_read(
        "language.read", "participant", participant.ref, grant, "language", "attendance", "comment"
    )
    return render_template(
        "language/participant.html",
        participant=participant,
        panel=panel,
        forms=forms,
        history=ops.enrolment_history(database, participant),
        leaves=ops.leaves_of(database, participant),
        today=today,
        **_labels(),
    ), status


@bp.route("/participants/<ref>/language")
@requires(Action.PARTICIPANT_READ)
def participant_page(ref: str) -> FormResult:
    """Progress, test results, leave and attendance of one participant."""
    participant, grant, view = _read(ref)
    forms = _forms(participant) if can(acting_user(), Action.LANGUAGE_RECORD, participant) else None
    return _render_participant(participant, grant, view, forms)


def _write(ref: str) -> tuple[Participant, Grant, View, Forms]:
    participant, grant, view = _read(ref)
    require(acting_user(), Action.LANGUAGE_RECORD, participant)
    return participant, grant, view, _forms(participant)


def _done(participant: Participant, message: str) -> BaseResponse:
    flash(message, "success")
    return redirect(url_for("language.participant_page", ref=participant.ref))


@bp.route("/participants/<ref>/language/estimates", methods=["POST"])
@requires(Action.LANGUAGE_RECORD)
def estimate_add(ref: str) -> FormResult:
    """A teacher of the participant records a CEFR estimate."""
    database = db()
    participant, grant, view, forms = _write(ref)
    form = forms.estimate
    status = 400
    if form.validate_on_submit():
        skill, level = form.codes()
        saved = save(
            form,
            lambda: ops.add_estimate(
                database,
                acting_actor(),
                participant,
                skill=skill,
                level=level,
                assessed_on=form.assessed_on.data,
                comment=form.comment.data or "",
                today=local_today(),
            ),
        )
        if saved.ok:
            return _done(participant, gettext("The estimate is recorded."))
        status = saved.status
    return _render_participant(participant, grant, view, forms, status)


@bp.route("/participants/<ref>/language/tests", methods=["POST"])
@requires(Action.LANGUAGE_RECORD)
def test_add(ref: str) -> FormResult:
    """A teacher of the participant records a test or course result."""
    database = db()
    participant, grant, view, forms = _write(ref)
    form = forms.test
    status = 400
    if form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.add_test_result(
                database, acting_actor(), participant, form.to_input(), today=local_today()
            ),
        )
        if saved.ok:
            return _done(participant, gettext("The result is recorded."))
        status = saved.status
    return _render_participant(participant, grant, view, forms, status)


@bp.route("/participants/<ref>/language/leave", methods=["POST"])
@requires(Action.LANGUAGE_RECORD)
def leave_add(ref: str) -> FormResult:
    """A teacher of the participant records approved leave (the deadline moves)."""
    database = db()
    participant, grant, view, forms = _write(ref)
    form = forms.leave
    status = 400
    if form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.add_leave(
                database,
                acting_actor(),
                participant,
                leave_type=form.to_type(),
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                today=local_today(),
            ),
        )
        if saved.ok:
            return _done(participant, gettext("The leave is recorded."))
        status = saved.status
    return _render_participant(participant, grant, view, forms, status)


# -- the overview's language section and the chart ----------------------------------------


@dataclass(frozen=True)
class SkillChart:
    skill: Skill
    points: list[tuple[date, CefrLevel]]
    polyline: str
    dots: list[tuple[int, int, date, CefrLevel]]


def _chart(estimates: list[ops.ProgressEstimate]) -> list[SkillChart]:
    """Coordinates for one SVG per skill: dates spread over the x axis, levels on y."""
    if not estimates:
        return []
    first = min(e.assessed_on for e in estimates)
    last = max(e.assessed_on for e in estimates)
    span = max(1, (last - first).days)
    width = CHART_WIDTH - CHART_LEFT - 10
    top_index = len(ops.CEFR_ORDER) - 1
    charts = []
    for skill in Skill:
        points = [(e.assessed_on, e.level) for e in estimates if e.skill is skill]
        if not points:
            continue
        dots = [
            (
                CHART_LEFT + ((on - first).days * width) // span,
                CHART_TOP + (top_index - ops.level_index(level)) * CHART_STEP,
                on,
                level,
            )
            for on, level in points
        ]
        charts.append(SkillChart(skill, points, " ".join(f"{x},{y}" for x, y, *_ in dots), dots))
    return charts


def overview_panel(
    participant: Participant, view: View, today: date, *, full: bool = False
) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section):
    goals from the plan against the latest estimate and test per skill, hours attended
    against planned, the absence rate and the progress chart."""
    database = db()
    # The plan's language goals belong to the language section (teachers see them too).
    plan = plan_of(database, participant)
    goals = plan.goals_by_skill if plan is not None else {}
    estimates = ops.estimates_of(database, participant)
    tests = ops.tests_of(database, participant)
    latest = ops.latest_by_skill(estimates)
    latest_tests = ops.latest_tests_by_skill(tests)
    rs = rule_set_for(participant.country, today)
    window = ops.absence_window(rs, today)
    recent = ops.absence_summaries(database, [participant.id], *window).get(
        participant.id, ops.AbsenceSummary()
    )
    total = ops.absence_summaries(database, [participant.id], date(1900, 1, 1), today).get(
        participant.id, ops.AbsenceSummary()
    )
    deadline = ops.training_deadline(database, participant)
    active = [e for e in ops.enrolment_history(database, participant) if e.is_active(today)]
    rows = [
        {
            "skill": skill,
            "goal": goals.get(skill),
            "estimate": latest.get(skill),
            "test": latest_tests.get(skill),
        }
        for skill in Skill
    ]
    return {
        "rows": rows,
        "has_any": bool(estimates or tests or active or total.planned_minutes or deadline),
        "charts": _chart(estimates),
        "cefr_order": ops.CEFR_ORDER,
        "chart": {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "left": CHART_LEFT,
            "top": CHART_TOP,
            "step": CHART_STEP,
        },
        "recent": recent,
        "total": total,
        "planned_minutes": ops.planned_language_minutes(database, participant, today),
        "window": window,
        "threshold": rs.absence_threshold_percent,
        "deadline": deadline,
        "active": active,
        "tests": tests[:20] if full else tests[:5],
        "estimates": estimates[::-1] if full else [],
        "skill_labels": SKILL_LABELS,
        "cefr_labels": CEFR_LABELS,
        "test_labels": ops.TEST_KIND_LABELS,
        "TestKind": ops.TestKind,
        "today": today,
    }
