"""Competence mapping, career guidance, the individual plan and its print/PDF.

Reading any page here is `PARTICIPANT_READ` plus the record's plan section (404 when the
section is not shown); writing is `PLAN_EDIT` (the participant's advisors). Every page
writes one audit event and commits it before rendering; every write is one operation in
`models.plans`, which audits itself.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, requires
from models import plans as ops
from models.access import View
from models.accounts import Unit, User
from models.base import local_today
from models.codes import (
    CEFR_LABELS,
    ELEMENT_STATUS_LABELS,
    END_GOAL_LABELS,
    PLAN_ELEMENT_TYPE_LABELS,
    SKILL_LABELS,
    ElementStatus,
    PlanElementType,
    Section,
    Skill,
)
from models.errors import N_, NotFound
from models.participants import Participant
from models.policy import Action, can
from views.common import (
    Saved,
    acting_actor,
    audit_read,
    load_participant,
    paginate,
    read_section,
    save,
)
from views.forms import parse_version
from views.participant_forms import language_name
from views.plan_forms import (
    AgreeForm,
    ElementForm,
    GuidanceForm,
    MappingForm,
    PlanForm,
    RemoveElementForm,
    ReviewForm,
)

bp = Blueprint("plans", __name__, url_prefix="/participants")

FormResult = str | BaseResponse | tuple[str, int]
PRINT_LANGUAGES = ("nb", "sv", "en")

# The same msgids as the form labels.
FIELD_LABELS = {
    "end_goal": N_("End goal"),
    "long_term_goal": N_("Long-term goal"),
    "programme_start_on": N_("Programme start"),
    "planned_end_on": N_("Planned end"),
    "hours_per_week_norm": N_("Full-time norm (hours per week)"),
    "has_children_under_18": N_("The participant has children under 18"),
    "contract_text": N_("Integration contract: mutual obligations"),
    "element_type": N_("Kind of element"),
    "provider_unit_id": N_("Provider"),
    "start_on": N_("Start"),
    "end_on": N_("End"),
    "hours_per_week": N_("Hours per week"),
    "status": N_("Status"),
    "note": N_("Note"),
}


# -- helpers ---------------------------------------------------------------------------


def _review_months() -> int | None:
    value = current_app.config.get("PLAN_REVIEW_MONTHS")
    return int(value) if value else None


def _plan_or_404(participant: Participant) -> ops.Plan:
    plan = ops.plan_of(db(), participant)
    if plan is None:
        abort(404)
    return plan


def _provider_units() -> list[tuple[int, str]]:
    return [
        (u.id, u.name)
        for u in db().scalars(select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.name))
    ]


def _labels() -> dict[str, Any]:
    return {
        "end_goal_labels": END_GOAL_LABELS,
        "element_labels": PLAN_ELEMENT_TYPE_LABELS,
        "status_labels": ELEMENT_STATUS_LABELS,
        "skill_labels": SKILL_LABELS,
        "cefr_labels": CEFR_LABELS,
        "field_labels": FIELD_LABELS,
        "education_labels": ops.EDUCATION_LEVEL_LABELS,
        "literacy_labels": ops.LITERACY_LABELS,
        "digital_labels": ops.DIGITAL_SKILLS_LABELS,
        "guidance_labels": ops.GUIDANCE_DIRECTION_LABELS,
        "language_name": language_name,
        "Skill": Skill,
        "ElementStatus": ElementStatus,
    }


def _refused(saved: Saved[Any]) -> int:
    """The status to answer a refused save with; a NotFound (the only 404 error) answers
    with the error page, not the form."""
    if saved.status == 404:
        abort(404)
    return saved.status


def _summary(participant: Participant, plan: ops.Plan, today: date) -> dict[str, Any]:
    """What the plan page and the overview panel show of the current plan."""
    warnings = ops.warnings_for(db(), participant, plan, today)
    facts = ops.facts_of_plan(plan, participant, None)
    on = ops.reference_day(facts, today)
    return {
        "plan": plan,
        "warnings": warnings,
        "week_of": on,
        "week_hours": ops.weekly_hours(facts, on),
        "agreed": ops.latest_agreed(db(), plan),
    }


# -- overview panel ----------------------------------------------------------------------


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section)."""
    database = db()
    plan = ops.plan_of(database, participant)
    mapping = ops.current_mapping(database, participant)
    panel: dict[str, Any] = {
        "participant_ref": participant.ref,
        "mapping": mapping,
        "can_edit": can(acting_user(), Action.PLAN_EDIT, participant),
        "plan": None,
        "end_goal_labels": END_GOAL_LABELS,
        "element_labels": PLAN_ELEMENT_TYPE_LABELS,
    }
    if plan is None:
        return panel
    summary = _summary(participant, plan, today)
    counts: dict[PlanElementType, int] = {}
    for element in plan.elements:
        if element.status in (ElementStatus.PLANNED, ElementStatus.ONGOING):
            counts[element.element_type] = counts.get(element.element_type, 0) + 1
    panel.update(summary)
    panel["element_counts"] = counts
    panel["review_overdue"] = bool(plan.review_due_on and plan.review_due_on < today)
    return panel


# -- the plan page ----------------------------------------------------------------------------


@bp.get("/<ref>/plan")
@requires(Action.PARTICIPANT_READ)
def plan(ref: str) -> str:
    """The plan as it stands now, with the rule-set warnings."""
    participant, grant, _view = read_section(ref, Section.PLAN)
    audit_read("plan.read", participant, grant, "plan")
    database = db()
    today = local_today()
    current = ops.plan_of(database, participant)
    context: dict[str, Any] = {"plan": None}
    if current is not None:
        context = _summary(participant, current, today)
        context["reviews"] = ops.reviews_of(database, current, limit=5)
    return render_template(
        "plans/plan.html",
        participant=participant,
        mapping=ops.current_mapping(database, participant),
        can_edit=can(acting_user(), Action.PLAN_EDIT, participant),
        today=today,
        **context,
        **_labels(),
    )


def _preview_warnings(participant: Participant, form: PlanForm) -> list[ops.PlanWarning]:
    """The checks applied to what is in the form (before or after a failed save)."""
    checked = (
        form.end_goal,
        form.programme_start_on,
        form.planned_end_on,
        form.hours_per_week_norm,
    )
    if any(f.errors for f in (*checked, *form.skill_fields())):
        return []
    try:
        data = form.to_input()
    except ValueError:
        return []
    if not (data.end_goal and data.programme_start_on and data.planned_end_on):
        return []
    if data.planned_end_on <= data.programme_start_on or data.hours_per_week_norm is None:
        return []
    database = db()
    current = ops.plan_of(database, participant)
    mapping = ops.current_mapping(database, participant)
    facts = ops.PlanFacts(
        end_goal=data.end_goal,
        programme_start_on=data.programme_start_on,
        planned_end_on=data.planned_end_on,
        hours_per_week_norm=data.hours_per_week_norm,
        has_children_under_18=data.has_children_under_18,
        elements=ops.facts_of_plan(current, participant, mapping).elements if current else (),
        birth_date=participant.birth_date,
        has_upper_secondary=mapping.has_upper_secondary if mapping else None,
    )
    try:
        rs = ops.rule_set_of(participant, data.programme_start_on, local_today())
    except LookupError:
        return []
    return ops.check_plan(rs, facts, local_today())


@bp.route("/<ref>/plan/edit", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def plan_edit(ref: str) -> FormResult:
    """Write the plan or change it; every save is a new version with a reason."""
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    today = local_today()
    current = ops.plan_of(database, participant)
    start = current.programme_start_on if current else participant.programme_start_on
    try:
        rs = ops.rule_set_of(participant, start, today)
    except LookupError:  # a start before the first rule set: offer today's norms
        rs = ops.rule_set_of(participant, None, today)
    form = PlanForm(norms=rs.hours_per_week_norms)
    status = 200
    if request.method == "GET":
        if current is not None:
            form.fill(current)
        else:
            form.programme_start_on.data = participant.programme_start_on
            form.hours_per_week_norm.data = f"{rs.hours_per_week_norms[0]:g}"
            form.reason.data = gettext("First plan")
        form.version.data = str(current.version if current else 0)
        audit_read("plan.read", participant, grant, "plan")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.save_plan(
                database,
                acting_actor(),
                participant,
                parse_version(form.version),
                form.to_input(),
                reason=form.reason.data or "",
                today=today,
                review_months=_review_months(),
            ),
        )
        if saved.ok:
            assert saved.result is not None
            flash(
                gettext("Version %(number)d of the plan is saved.", number=saved.result.number),
                "success",
            )
            return redirect(url_for("plans.plan", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/plan_form.html",
        participant=participant,
        form=form,
        is_new=current is None,
        warnings=_preview_warnings(participant, form),
        **_labels(),
    ), status


# -- elements -------------------------------------------------------------------------------


@bp.route("/<ref>/plan/elements/new", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def element_new(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    current = _plan_or_404(participant)
    form = ElementForm(units=_provider_units())
    status = 200
    if request.method == "GET":
        form.version.data = str(current.version)
        form.start_on.data = current.programme_start_on
        form.end_on.data = current.planned_end_on
        audit_read("plan.read", participant, grant, "plan")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.add_element(
                database,
                acting_actor(),
                participant,
                parse_version(form.version),
                form.to_input(),
                reason=form.reason.data or "",
                today=local_today(),
            ),
        )
        if saved.ok:
            flash(gettext("The element is added; a new version of the plan is saved."), "success")
            return redirect(url_for("plans.plan", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/element_form.html",
        participant=participant,
        form=form,
        element=None,
        remove_form=None,
        **_labels(),
    ), status


@bp.route("/<ref>/plan/elements/<item_ref>", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def element_edit(ref: str, item_ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    try:
        element = ops.element_by_ref(database, participant, item_ref)
    except NotFound:
        abort(404)
    form = ElementForm(units=_provider_units())
    remove_form = RemoveElementForm(prefix="remove")
    status = 200
    if request.method == "GET":
        form.version.data = str(element.version)
        form.element_type.data = element.element_type.value
        form.provider_unit.data = str(element.provider_unit_id or "")
        form.start_on.data = element.start_on
        form.end_on.data = element.end_on
        form.hours_per_week.data = float(element.hours_per_week)
        form.status.data = element.status.value
        form.note.data = element.note or ""
        remove_form.version.data = str(element.version)
        audit_read("plan.read", participant, grant, "plan")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.update_element(
                database,
                acting_actor(),
                participant,
                item_ref,
                parse_version(form.version),
                form.to_input(),
                reason=form.reason.data or "",
                today=local_today(),
            ),
        )
        if saved.ok:
            flash(
                gettext("The element is changed; a new version of the plan is saved.")
                if saved.result
                else gettext("Nothing was changed."),
                "success",
            )
            return redirect(url_for("plans.plan", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    if request.method == "POST":
        remove_form.version.data = str(element.version)
    return render_template(
        "plans/element_form.html",
        participant=participant,
        form=form,
        element=element,
        remove_form=remove_form,
        **_labels(),
    ), status


@bp.post("/<ref>/plan/elements/<item_ref>/remove")
@requires(Action.PLAN_EDIT)
def element_remove(ref: str, item_ref: str) -> FormResult:
    participant, _grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    try:
        element = ops.element_by_ref(database, participant, item_ref)
    except NotFound:
        abort(404)
    remove_form = RemoveElementForm(prefix="remove")
    status = 400
    if remove_form.validate_on_submit():
        saved = save(
            remove_form,
            lambda: ops.remove_element(
                database,
                acting_actor(),
                participant,
                item_ref,
                parse_version(remove_form.version),
                reason=remove_form.reason.data or "",
                today=local_today(),
            ),
        )
        if saved.ok:
            flash(gettext("The element is removed; a new version of the plan is saved."), "success")
            return redirect(url_for("plans.plan", ref=ref))
        status = _refused(saved)
        element = ops.element_by_ref(database, participant, item_ref)
    form = ElementForm(formdata=None, units=_provider_units())
    form.version.data = str(element.version)
    form.element_type.data = element.element_type.value
    form.provider_unit.data = str(element.provider_unit_id or "")
    form.start_on.data = element.start_on
    form.end_on.data = element.end_on
    form.hours_per_week.data = float(element.hours_per_week)
    form.status.data = element.status.value
    form.note.data = element.note or ""
    return render_template(
        "plans/element_form.html",
        participant=participant,
        form=form,
        element=element,
        remove_form=remove_form,
        **_labels(),
    ), status


# -- history, versions, diff, agreement ---------------------------------------------------------


@bp.get("/<ref>/plan/history")
@requires(Action.PARTICIPANT_READ)
def history(ref: str) -> str:
    participant, grant, _view = read_section(ref, Section.PLAN)
    audit_read("plan.history", participant, grant, "plan_history")
    database = db()
    current = ops.plan_of(database, participant)
    page = None
    if current is not None:
        page = paginate(
            database,
            select(ops.PlanVersion)
            .where(ops.PlanVersion.plan_id == current.id)
            .order_by(ops.PlanVersion.number.desc()),
        )
    return render_template(
        "plans/history.html",
        participant=participant,
        plan=current,
        page=page,
        can_edit=can(acting_user(), Action.PLAN_EDIT, participant),
        **_labels(),
    )


def _number(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


@bp.get("/<ref>/plan/diff")
@requires(Action.PARTICIPANT_READ)
def diff(ref: str) -> str:
    """The difference between two versions (by default the last two)."""
    participant, grant, _view = read_section(ref, Section.PLAN)
    database = db()
    current = ops.plan_of(database, participant)
    newest = current.current_version if current else 0
    new_number = _number("b", newest)
    old_number = _number("a", new_number - 1)
    old = new = None
    if current is not None and 1 <= old_number <= newest and 1 <= new_number <= newest:
        old = ops.version_by_number(database, current, old_number)
        new = ops.version_by_number(database, current, new_number)
    audit_read("plan.diff", participant, grant, "plan_history")
    changes = ops.diff(old.snapshot, new.snapshot) if old and new else None
    return render_template(
        "plans/diff.html",
        participant=participant,
        plan=current,
        old=old,
        new=new,
        changes=changes,
        numbers=list(range(newest, 0, -1)),
        old_number=old_number,
        new_number=new_number,
        **_labels(),
    )


@bp.get("/<ref>/plan/versions/<int:number>")
@requires(Action.PARTICIPANT_READ)
def version(ref: str, number: int) -> str:
    participant, grant, _view = read_section(ref, Section.PLAN)
    database = db()
    current = _plan_or_404(participant)
    try:
        found = ops.version_by_number(database, current, number)
    except NotFound:
        abort(404)
    audit_read("plan.version_read", participant, grant, "plan")
    return render_template(
        "plans/version.html",
        participant=participant,
        plan=current,
        version=found,
        snapshot=found.snapshot,
        can_edit=can(acting_user(), Action.PLAN_EDIT, participant),
        agreed_by=database.get(User, found.agreed_by_id) if found.agreed_by_id else None,
        **_labels(),
    )


@bp.route("/<ref>/plan/versions/<int:number>/agree", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def agree(ref: str, number: int) -> FormResult:
    """Mark a version as agreed with the participant."""
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    current = _plan_or_404(participant)
    try:
        found = ops.version_by_number(database, current, number)
    except NotFound:
        abort(404)
    form = AgreeForm()
    status = 200
    if request.method == "GET":
        form.agreed_on.data = local_today()
        form.interpreter_used.data = participant.interpreter_needed
        form.language.data = participant.interpreter_language or ""
        audit_read("plan.version_read", participant, grant, "plan")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.mark_agreed(
                database,
                acting_actor(),
                participant,
                number,
                agreed_on=form.agreed_on.data,
                interpreter_used=bool(form.interpreter_used.data),
                language=form.language.data or "",
                today=local_today(),
                review_months=_review_months(),
            ),
        )
        if saved.ok:
            flash(gettext("The version is marked as agreed with the participant."), "success")
            return redirect(url_for("plans.version", ref=ref, number=number))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/agree.html", participant=participant, form=form, version=found, **_labels()
    ), status


# -- review ------------------------------------------------------------------------------------


@bp.route("/<ref>/plan/review", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def review(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    current = _plan_or_404(participant)
    form = ReviewForm()
    status = 200
    if request.method == "GET":
        form.version.data = str(current.version)
        form.reviewed_on.data = local_today()
        audit_read("plan.read", participant, grant, "plan")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.record_review(
                database,
                acting_actor(),
                participant,
                parse_version(form.version),
                reviewed_on=form.reviewed_on.data,
                note=form.note.data or "",
                today=local_today(),
                review_months=_review_months(),
            ),
        )
        if saved.ok:
            flash(gettext("The review is recorded."), "success")
            return redirect(url_for("plans.plan", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/review.html", participant=participant, form=form, plan=current, **_labels()
    ), status


# -- print and PDF -------------------------------------------------------------------------------


def _print_language() -> str:
    lang = request.args.get("lang", "")
    return lang if lang in PRINT_LANGUAGES else "nb"


def _advisors(participant: Participant) -> list[User]:
    return [u for u in (participant.primary_advisor, participant.secondary_advisor) if u]


def _printable(ref: str) -> tuple[Participant, ops.Plan, dict[str, Any]]:
    participant, grant, _view = read_section(ref, Section.PLAN)
    current = _plan_or_404(participant)
    audit_read("plan.print", participant, grant, "identity", "plan")
    rs = ops.rule_set_of(participant, current.programme_start_on, local_today())
    elements = [e for e in current.elements if e.status is not ElementStatus.CANCELLED]
    return (
        participant,
        current,
        {
            "elements": elements,
            "advisors": _advisors(participant),
            "appeal_weeks": rs.appeal_weeks,
            "agreed": ops.latest_agreed(db(), current),
        },
    )


@bp.get("/<ref>/plan/print")
@requires(Action.PARTICIPANT_READ)
def print_plan(ref: str) -> str:
    """The plan for the participant, laid out for printing, in the chosen language."""
    participant, current, context = _printable(ref)
    lang = _print_language()
    with force_locale(lang):
        return render_template(
            "plans/print.html",
            participant=participant,
            plan=current,
            lang=lang,
            languages=PRINT_LANGUAGES,
            **context,
            **_labels(),
        )


def _cell_date(value: date | None) -> str:
    return value.isoformat() if value else "–"


@bp.get("/<ref>/plan.pdf")
@requires(Action.PARTICIPANT_READ)
def pdf(ref: str) -> Response:
    """The plan as a PDF, labels in the chosen language, free text as written."""
    from views.pdf import PdfSection, render_pdf

    participant, current, context = _printable(ref)
    lang = _print_language()
    with force_locale(lang):
        goals = current.goals_by_skill
        sections = [
            PdfSection(
                heading=gettext("Goals"),
                rows=[
                    (gettext("End goal"), gettext(END_GOAL_LABELS[current.end_goal])),
                    (gettext("Long-term goal"), current.long_term_goal or "–"),
                    *(
                        (
                            gettext("Language goal: %(skill)s", skill=gettext(SKILL_LABELS[s])),
                            gettext(CEFR_LABELS[goals[s]]),
                        )
                        for s in Skill
                        if s in goals
                    ),
                ],
            ),
            PdfSection(
                heading=gettext("Programme period"),
                rows=[
                    (gettext("Programme start"), _cell_date(current.programme_start_on)),
                    (gettext("Planned end"), _cell_date(current.planned_end_on)),
                    (
                        gettext("Full-time norm (hours per week)"),
                        f"{float(current.hours_per_week_norm):g}",
                    ),
                ],
            ),
            PdfSection(
                heading=gettext("What the plan contains"),
                table=(
                    [
                        gettext("Element"),
                        gettext("Provider"),
                        gettext("From"),
                        gettext("To"),
                        gettext("Hours per week"),
                        gettext("Status"),
                    ],
                    [
                        [
                            gettext(PLAN_ELEMENT_TYPE_LABELS[e.element_type]),
                            e.provider_unit.name if e.provider_unit else "–",
                            _cell_date(e.start_on),
                            _cell_date(e.end_on),
                            f"{float(e.hours_per_week):g}",
                            gettext(ELEMENT_STATUS_LABELS[e.status]),
                        ]
                        for e in context["elements"]
                    ],
                ),
            ),
            PdfSection(
                heading=gettext("Integration contract"),
                paragraphs=[current.contract_text or gettext("No contract text written yet.")],
            ),
            PdfSection(
                heading=gettext("Your contacts"),
                rows=[
                    (gettext("Advisor"), f"{u.display_name} <{u.email}>")
                    for u in context["advisors"]
                ],
            ),
            PdfSection(
                heading=gettext("If you disagree"),
                paragraphs=[_appeal_text(context["appeal_weeks"])],
            ),
        ]
        data = render_pdf(
            gettext("Individual plan"),
            participant.display_name,
            sections,
            gettext("Version %(number)d of the plan", number=current.current_version),
        )
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "attachment; filename=plan.pdf"
    return response


def _appeal_text(weeks: int) -> str:
    return str(
        gettext(
            "The plan is a decision. If you disagree with it, you can complain (appeal). Tell "
            "your advisor, or write to the municipality, within %(weeks)d weeks after you were "
            "told about the decision. Say what you disagree with and why. You may ask for help.",
            weeks=weeks,
        )
    )


# -- competence mapping and career guidance ------------------------------------------------


@bp.get("/<ref>/mapping")
@requires(Action.PARTICIPANT_READ)
def mapping(ref: str) -> str:
    participant, grant, _view = read_section(ref, Section.PLAN)
    audit_read(
        "competence_mapping.read", participant, grant, "competence_mapping", "career_guidance"
    )
    database = db()
    revisions = ops.mapping_revisions(database, participant)
    return render_template(
        "plans/mapping.html",
        participant=participant,
        mapping=revisions[0] if revisions else None,
        revisions=revisions,
        guidances=ops.guidances(database, participant),
        can_edit=can(acting_user(), Action.PLAN_EDIT, participant),
        **_labels(),
    )


@bp.route("/<ref>/mapping/edit", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def mapping_edit(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    current = ops.current_mapping(database, participant)
    form = MappingForm()
    status = 200
    if request.method == "GET":
        form.revision.data = str(current.revision if current else 0)
        if current is None:
            form.mapped_on.data = local_today()
            form.education_level.data = ops.EducationLevel.UNKNOWN.value
            form.literacy.data = ops.Literacy.UNKNOWN.value
            form.digital_skills.data = ops.DigitalSkills.BASIC.value
        else:
            form.mapped_on.data = current.mapped_on
            form.education_level.data = current.education_level.value
            form.education_years.data = current.education_years
            form.education_country.data = current.education_country or ""
            form.education_field.data = current.education_field or ""
            form.occupation.data = current.occupation or ""
            form.work_years.data = current.work_years
            form.literacy.data = current.literacy.value
            form.digital_skills.data = current.digital_skills.value
            form.other_competence.data = current.other_competence or ""
            for (language, level), (code, cefr) in zip(
                form.language_rows(), current.languages, strict=False
            ):
                language.data = code
                level.data = cefr.value
        audit_read("competence_mapping.read", participant, grant, "competence_mapping")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.save_mapping(
                database,
                acting_actor(),
                participant,
                parse_version(form.revision),
                form.to_input(),
                today=local_today(),
            ),
        )
        if saved.ok:
            flash(gettext("The competence mapping is saved."), "success")
            return redirect(url_for("plans.mapping", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/mapping_form.html",
        participant=participant,
        form=form,
        is_new=current is None,
        **_labels(),
    ), status


@bp.route("/<ref>/guidance/new", methods=["GET", "POST"])
@requires(Action.PLAN_EDIT)
def guidance_new(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PLAN_EDIT)
    database = db()
    form = GuidanceForm()
    status = 200
    if request.method == "GET":
        form.given_on.data = local_today()
        audit_read("participant.read", participant, grant, "identity")
    elif form.validate_on_submit():
        saved = save(
            form,
            lambda: ops.add_guidance(
                database, acting_actor(), participant, form.to_input(), today=local_today()
            ),
        )
        if saved.ok:
            flash(gettext("The career guidance is saved."), "success")
            return redirect(url_for("plans.mapping", ref=ref))
        status = _refused(saved)
    else:
        status = 400
    return render_template(
        "plans/guidance_form.html", participant=participant, form=form, **_labels()
    ), status
