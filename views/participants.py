"""The participant record: caseload, registration, overview, corrections, consent,
break-the-glass, the access log and the GDPR access export.

Every page that shows personal data writes exactly one audit event and commits
it before rendering: if the event cannot be written, no data is shown.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.i18n import translate_error
from app.security import acting_user, record_event, requires
from models import access
from models import participants as ops
from models.accounts import Role, Unit, User
from models.audit import OUTCOME_LABELS, AuditEvent
from models.base import local_today, utcnow
from models.codes import (
    PARTICIPANT_STATUS_LABELS,
    PERMIT_CATEGORY_LABELS,
    SECTION_LABELS,
    SEX_LABELS,
    Country,
    ParticipantStatus,
    Section,
)
from models.deadlines import DUE_STATUS_LABELS, DueStatus, deadlines_for
from models.errors import DomainError, StaleEdit
from models.participants import DuplicateParticipant, Participant
from models.policy import Action, can, require
from models.rules import DEADLINE_KIND_LABELS
from models.tasks import next_open_tasks
from views import decisions as decision_views
from views import followups as followup_views
from views import housing as housing_views
from views import language as language_views
from views import placements as placement_views
from views import plans as plan_views
from views.common import (
    Page,
    acting_actor,
    attach_error,
    load_participant,
    paginate,
    requested_page,
)
from views.forms import EmptyForm, parse_version
from views.participant_forms import (
    BreakGlassForm,
    CaseloadFilterForm,
    ConsentForm,
    EditForm,
    OverrideForm,
    ParticipantForm,
    ReassignForm,
    RegisterForm,
    language_name,
)

bp = Blueprint("participants", __name__, url_prefix="/participants")

FormResult = str | BaseResponse | tuple[str, int]
IDENTIFIER_MIN_DIGITS = 10


def _allow_synthetic() -> bool:
    return bool(current_app.config.get("ALLOW_SYNTHETIC_IDS"))


def _advisors_of(unit_ids: set[int]) -> list[User]:
    from models.accounts import Membership

    if not unit_ids:
        return []
    return list(
        db().scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.unit_id.in_(unit_ids),
                Membership.role == Role.ADVISOR,
                User.is_active.is_(True),
            )
            .distinct()
            .order_by(User.display_name)
        )
    )


def _labels() -> dict[str, Any]:
    return {
        "status_labels": PARTICIPANT_STATUS_LABELS,
        "permit_labels": PERMIT_CATEGORY_LABELS,
        "sex_labels": SEX_LABELS,
        "section_labels": SECTION_LABELS,
        "language_name": language_name,
        "deadline_labels": DEADLINE_LABELS,
    }


# Keyed by the plain value too, as the caseload stores the kind as text.
DEADLINE_LABELS = {kind.value: label for kind, label in DEADLINE_KIND_LABELS.items()}


# -- caseload -------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_LIST)
def caseload() -> str:
    """The caseload. A search is POSTed: a name or an identity number must never stand in a
    URL, where browser history, proxies and access logs would keep it. Filters that hold no
    personal data (status, advisor, page) may travel in the query string."""
    user = acting_user()
    database = db()
    leader_units = user.unit_ids(Role.LEADER)
    advisors = _advisors_of(leader_units)
    searching = request.method == "POST"
    form = CaseloadFilterForm(
        request.form if searching else request.args,
        advisor_choices=[(a.id, a.display_name) for a in advisors],
    )
    form.validate()
    if not searching:
        form.q.data = ""  # a q= left in an old link is ignored, never searched
    status = (
        ParticipantStatus(form.status.data)
        if form.status.data in PARTICIPANT_STATUS_LABELS
        else None
    )
    advisor_id = int(form.advisor.data) if (form.advisor.data or "").isdigit() else None
    mine_only = request.args.get("mine") == "1" or (
        not leader_units and bool(user.unit_ids(Role.ADVISOR))
    )
    stmt = ops.caseload_query(
        user,
        advisor_id=advisor_id,
        status=status,
        mine_only=mine_only and bool(user.unit_ids(Role.ADVISOR)),
    )
    query = (form.q.data or "").strip() if not form.q.errors else ""
    elsewhere: list[dict[str, Any]] = []
    search_kind = None
    if query and sum(ch.isdigit() for ch in query) >= IDENTIFIER_MIN_DIGITS:
        search_kind = "identifier"
        found = ops.find_by_identifier(database, query, _country_hint(user))
        visible_ids = set(
            database.scalars(
                stmt.with_only_columns(Participant.id).where(
                    Participant.id.in_([p.id for p in found])
                )
            )
        )
        for participant in found:
            if participant.id in visible_ids:
                continue
            elsewhere.append(
                {
                    "unit": participant.unit.name,
                    "break_glass_ref": participant.ref
                    if can(user, Action.BREAK_GLASS, participant)
                    else None,
                }
            )
        page = paginate(database, stmt.where(Participant.id.in_(visible_ids)))
    elif query:
        search_kind = "name"
        matches = ops.search_by_name(database, stmt, query)
        page = paginate(database, stmt.where(Participant.id.in_(matches)))
    else:
        page = paginate(database, stmt)
    record_event(
        "participant.search" if search_kind else "participant.list",
        object_type="participant",
        field_categories=("identity", f"search:{search_kind}") if search_kind else ("identity",),
        grant=require(user, Action.PARTICIPANT_LIST),
    )
    database.commit()
    return render_template(
        "participants/caseload.html",
        page=page,
        form=form,
        query=query,
        search_kind=search_kind,
        elsewhere=elsewhere,
        is_leader=bool(leader_units),
        # Each listed participant's next open task, in one query for the page.
        next_tasks=next_open_tasks(database, [p.id for p in page.items])
        if can(user, Action.TASK_WORK)
        else None,
        mine_only=mine_only,
        can_register=bool(user.unit_ids(Role.ADVISOR) | leader_units),
        today=local_today(),
        filters={
            name: value
            for name, value in (("status", form.status.data), ("advisor", form.advisor.data))
            if value
        },
        **_labels(),
    )


def _country_hint(user: User) -> Country:
    return Country.NORWAY


# -- registration ---------------------------------------------------------------


def _registration_units(user: User) -> list[Unit]:
    unit_ids = user.unit_ids(Role.ADVISOR) | user.unit_ids(Role.LEADER)
    if not unit_ids:
        return []
    return list(db().scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.name)))


@bp.route("/new", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_CREATE)
def register() -> FormResult:
    user = acting_user()
    units = _registration_units(user)
    form = RegisterForm()
    form.unit.choices = [(u.id, u.name) for u in units]
    advisors = _advisors_of({u.id for u in units})
    form.primary_advisor.choices = [(0, gettext("— me / not yet —"))] + [
        (a.id, a.display_name) for a in advisors
    ]
    duplicate: DuplicateParticipant | None = None
    status = 200
    if form.validate_on_submit():
        database = db()
        unit = next((u for u in units if u.id == form.unit.data), None)
        advisor = (
            database.get(User, form.primary_advisor.data) if form.primary_advisor.data else None
        )
        try:
            if unit is None:
                raise DomainError(gettext("Choose one of your units."))
            participant = ops.register(
                database,
                acting_actor(),
                form.to_input(),
                unit=unit,
                primary_advisor=advisor,
                today=local_today(),
                allow_synthetic_ids=_allow_synthetic(),
            )
        except DuplicateParticipant as exc:
            database.rollback()
            duplicate = exc
            attach_error(form, exc)
            status = 409
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            flash(gettext("The participant is registered."), "success")
            return redirect(url_for("participants.overview", ref=participant.ref))
    elif request.method == "POST":
        status = 400
    return render_template(
        "participants/form.html", form=form, participant=None, duplicate=duplicate, **_labels()
    ), status


# -- overview --------------------------------------------------------------------


@bp.get("/<ref>")
@requires(Action.PARTICIPANT_READ)
def overview(ref: str) -> str:
    user = acting_user()
    database = db()
    participant, grant = load_participant(ref, Action.PARTICIPANT_READ)
    view = access.view_of(database, user, participant, grant)
    record_event(
        "participant.read",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=tuple(s.value for s in view.sections),
        grant=grant,
    )
    database.commit()  # fail closed: no event, no data
    today = local_today()
    rules = _rule_results(participant, today) if view.shows(Section.RESIDENCE) else None
    consents = access.active_consents(database, participant, today)
    reassign_form = None
    if can(user, Action.PARTICIPANT_REASSIGN, participant):
        reassign_form = _reassign_form(participant)
    grant_record = (
        access.active_grant(database, user, participant) if grant.via == "break_glass" else None
    )
    panels = {
        name: module.overview_panel(participant, view, today) if view.shows(section) else {}
        for name, module, section in (
            ("plan", plan_views, Section.PLAN),
            ("language", language_views, Section.LANGUAGE),
            ("housing", housing_views, Section.HOUSING),
            ("placements", placement_views, Section.PLACEMENTS),
            ("followups", followup_views, Section.FOLLOW_UPS),
            ("decisions", decision_views, Section.DECISIONS),
        )
    }
    return render_template(
        "participants/overview.html",
        participant=participant,
        view=view,
        panels=panels,
        DueStatus=DueStatus,
        due_status_labels=DUE_STATUS_LABELS,
        Section=Section,
        rules=rules,
        consents=consents,
        reassign_form=reassign_form,
        button_form=EmptyForm(),
        grant_record=grant_record,
        can_edit=can(user, Action.PARTICIPANT_EDIT, participant),
        can_consent=can(user, Action.CONSENT_MANAGE, participant),
        can_see_log=can(user, Action.ACCESS_LOG_READ, participant),
        can_export=can(user, Action.PARTICIPANT_EXPORT, participant),
        can_restrict=can(user, Action.PARTICIPANT_RESTRICT, participant),
        today=today,
        **_labels(),
    )


def _rule_results(participant: Participant, today: date) -> dict[str, Any]:
    from models import rules

    facts = ops.facts_of(participant)
    return {
        "programme": rules.programme_entitlement(facts, today),
        "language": rules.language_training_entitlement(facts, today),
        "municipality": rules.within_municipality_limit(facts, today),
        "deadlines": deadlines_for(db(), participant, today),
        "overrides": ops.active_overrides(db(), participant),
    }


def _reassign_form(participant: Participant, formdata: Any = None) -> ReassignForm:
    form = ReassignForm(formdata=formdata, prefix="r")
    choices = [(0, gettext("— nobody —"))] + [
        (a.id, a.display_name) for a in _advisors_of({participant.unit_id})
    ]
    form.primary_advisor.choices = choices
    form.secondary_advisor.choices = choices
    if formdata is None:
        form.primary_advisor.data = participant.primary_advisor_id or 0
        form.secondary_advisor.data = participant.secondary_advisor_id or 0
    return form


@bp.post("/<ref>/reassign")
@requires(Action.PARTICIPANT_REASSIGN)
def reassign(ref: str) -> BaseResponse:
    participant, _grant = load_participant(ref, Action.PARTICIPANT_REASSIGN)
    form = _reassign_form(participant, formdata=request.form)
    database = db()
    if form.validate_on_submit():
        primary = (
            database.get(User, form.primary_advisor.data) if form.primary_advisor.data else None
        )
        secondary = (
            database.get(User, form.secondary_advisor.data) if form.secondary_advisor.data else None
        )
        try:
            ops.reassign(database, acting_actor(), participant, primary, secondary)
        except DomainError as exc:
            database.rollback()
            flash(translate_error(exc), "error")
        else:
            database.commit()
            flash(gettext("The advisors are changed."), "success")
    else:
        flash(gettext("Choose advisors from the lists."), "error")
    return redirect(url_for("participants.overview", ref=ref))


# -- correction -------------------------------------------------------------------


def _fill(form: ParticipantForm, participant: Participant) -> None:
    form.country.data = participant.country.value
    for name in (
        "given_name",
        "family_name",
        "preferred_name",
        "national_id",
        "duf_number",
        "phone",
        "email",
        "address",
        "settlement_municipality",
        "notes",
    ):
        getattr(form, name).data = getattr(participant, name) or ""
    form.birth_date.data = participant.birth_date
    form.sex.data = participant.sex.value
    form.is_protected_address.data = participant.is_protected_address
    form.languages.data = participant.language_codes
    form.interpreter_needed.data = participant.interpreter_needed
    form.interpreter_language.data = participant.interpreter_language or ""
    form.permit_category.data = (
        participant.permit_category.value if participant.permit_category else ""
    )
    form.permit_granted_on.data = participant.permit_granted_on
    form.arrival_on.data = participant.arrival_on
    form.settlement_on.data = participant.settlement_on


@bp.route("/<ref>/edit", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_EDIT)
def edit(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PARTICIPANT_EDIT)
    database = db()
    form = EditForm()
    status = 200
    duplicate = None
    if request.method == "GET":
        _fill(form, participant)
        form.version.data = str(participant.version)
        record_event(
            "participant.read",
            object_type="participant",
            object_ref=participant.ref,
            field_categories=("identity", "contact", "residence", "notes"),
            grant=grant,
        )
        database.commit()
    elif form.validate_on_submit():
        try:
            changed = ops.update(
                database,
                acting_actor(),
                participant,
                parse_version(form.version),
                form.to_input(),
                reason=form.reason.data or "",
                today=local_today(),
                allow_synthetic_ids=_allow_synthetic(),
            )
            database.commit()
        except DuplicateParticipant as exc:
            database.rollback()
            duplicate = exc
            attach_error(form, exc)
            status = 409
        except (StaleEdit, StaleDataError):
            database.rollback()
            attach_error(form, StaleEdit())
            status = 409
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = exc.status_code
        else:
            flash(
                gettext("The changes are saved.") if changed else gettext("Nothing was changed."),
                "success",
            )
            return redirect(url_for("participants.overview", ref=ref))
    else:
        status = 400
    return render_template(
        "participants/form.html",
        form=form,
        participant=participant,
        duplicate=duplicate,
        **_labels(),
    ), status


# -- overriding a rule result ------------------------------------------------------


@bp.route("/<ref>/overrides", methods=["GET", "POST"])
@requires(Action.PARTICIPANT_EDIT)
def overrides(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.PARTICIPANT_EDIT)
    database = db()
    form = OverrideForm()
    status = 200
    if form.validate_on_submit():
        try:
            ops.override_rule(
                database,
                acting_actor(),
                participant,
                subject=form.subject.data or "",
                value=form.value.data or "",
                reason=form.reason.data or "",
                today=local_today(),
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            flash(gettext("The override is saved and logged."), "success")
            return redirect(url_for("participants.overview", ref=ref))
    elif request.method == "POST":
        status = 400
    if status == 200:
        record_event(
            "rule.override_list",
            object_type="participant",
            object_ref=participant.ref,
            field_categories=("rules",),
            grant=grant,
        )
        database.commit()
    rows = list(
        database.scalars(
            select(ops.RuleOverride)
            .where(ops.RuleOverride.participant_id == participant.id)
            .order_by(ops.RuleOverride.created_at.desc())
        )
    )
    return render_template(
        "participants/overrides.html",
        participant=participant,
        form=form,
        overrides=rows,
        subjects=ops.OVERRIDE_SUBJECTS,
        button_form=EmptyForm(),
    ), status


@bp.post("/<ref>/overrides/<override_ref>/revoke")
@requires(Action.PARTICIPANT_EDIT)
def override_revoke(ref: str, override_ref: str) -> BaseResponse:
    participant, _grant = load_participant(ref, Action.PARTICIPANT_EDIT)
    if EmptyForm().validate_on_submit():
        ops.revoke_override(db(), acting_actor(), participant, override_ref, local_today())
        db().commit()
        flash(gettext("The override is withdrawn; the computed result applies again."), "success")
    return redirect(url_for("participants.overrides", ref=ref))


# -- break-the-glass --------------------------------------------------------------


@bp.route("/<ref>/break-glass", methods=["GET", "POST"])
@requires(Action.BREAK_GLASS)
def break_glass(ref: str) -> FormResult:
    participant = ops.get_by_ref(db(), ref)
    user = acting_user()
    if can(user, Action.PARTICIPANT_READ, participant) and not (
        can(user, Action.PARTICIPANT_REASSIGN, participant)
    ):
        return redirect(url_for("participants.overview", ref=ref))
    require(user, Action.BREAK_GLASS, participant)
    form = BreakGlassForm()
    status = 200
    if form.validate_on_submit():
        database = db()
        try:
            access.break_glass(
                database,
                acting_actor(),
                participant,
                form.reason.data or "",
                hours=int(current_app.config.get("BREAK_GLASS_HOURS", 2)),
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            flash(
                gettext(
                    "Access granted for a limited time. Your reason is logged and will be "
                    "reviewed by the unit leader."
                ),
                "warning",
            )
            return redirect(url_for("participants.overview", ref=ref))
    elif request.method == "POST":
        status = 400
    return render_template(
        "participants/break_glass.html", form=form, participant_ref=ref, unit=participant.unit
    ), status


# -- consent ----------------------------------------------------------------------


@bp.route("/<ref>/consents", methods=["GET", "POST"])
@requires(Action.CONSENT_MANAGE)
def consents(ref: str) -> FormResult:
    participant, grant = load_participant(ref, Action.CONSENT_MANAGE)
    database = db()
    form = ConsentForm()
    partners = access.partner_units(database)
    form.partner_unit.choices = [(u.id, u.name) for u in partners if u.id != participant.unit_id]
    if request.method == "GET" and form.valid_from.data is None:
        form.valid_from.data = local_today()
    status = 200
    if form.validate_on_submit():
        try:
            unit = next(u for u in partners if u.id == form.partner_unit.data)
            access.add_consent(
                database,
                acting_actor(),
                participant,
                partner_unit=unit,
                sections=[Section(s) for s in form.sections.data or []],
                purpose=form.purpose.data or "",
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = 400
        else:
            database.commit()
            flash(gettext("The consent is recorded."), "success")
            return redirect(url_for("participants.consents", ref=ref))
    elif request.method == "POST":
        status = 400
    if status == 200:
        record_event(
            "consent.list",
            object_type="participant",
            object_ref=participant.ref,
            field_categories=("consent",),
            grant=grant,
        )
        database.commit()
    rows = list(
        database.scalars(
            select(access.Consent)
            .where(access.Consent.participant_id == participant.id)
            .order_by(access.Consent.valid_from.desc(), access.Consent.id.desc())
        )
    )
    return render_template(
        "participants/consents.html",
        participant=participant,
        form=form,
        consents=rows,
        today=local_today(),
        button_form=EmptyForm(),
        **_labels(),
    ), status


@bp.post("/<ref>/consents/<int:consent_id>/withdraw")
@requires(Action.CONSENT_MANAGE)
def consent_withdraw(ref: str, consent_id: int) -> BaseResponse:
    participant, _grant = load_participant(ref, Action.CONSENT_MANAGE)
    if EmptyForm().validate_on_submit():
        access.withdraw_consent(db(), acting_actor(), participant, consent_id)
        db().commit()
        flash(gettext("The consent is withdrawn. Sharing stopped at once."), "success")
    return redirect(url_for("participants.consents", ref=ref))


# -- access log, export, restriction -----------------------------------------------


@bp.get("/<ref>/access-log")
@requires(Action.ACCESS_LOG_READ)
def access_log(ref: str) -> str:
    participant, grant = load_participant(ref, Action.ACCESS_LOG_READ)
    database = db()
    page = _access_page(participant)
    record_event(
        "participant.access_log", object_type="participant", object_ref=participant.ref, grant=grant
    )
    database.commit()
    return render_template(
        "participants/access_log.html",
        participant=participant,
        page=page,
        actors=_actors(page.items),
        outcome_labels=OUTCOME_LABELS,
    )


def _access_page(participant: Participant) -> Page[Any]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.object_type == "participant", AuditEvent.object_ref == participant.ref)
        .order_by(AuditEvent.seq.desc())
    )
    return paginate(db(), stmt, requested_page())


def _actors(events: list[AuditEvent]) -> dict[int, User]:
    ids = {e.actor_user_id for e in events if e.actor_user_id}
    if not ids:
        return {}
    return {u.id: u for u in db().scalars(select(User).where(User.id.in_(ids)))}


def _export_data(participant: Participant) -> dict[str, Any]:
    database = db()
    events = list(
        database.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "participant", AuditEvent.object_ref == participant.ref
            )
            .order_by(AuditEvent.seq)
        )
    )
    actors = _actors(events)
    consents = list(
        database.scalars(
            select(access.Consent).where(access.Consent.participant_id == participant.id)
        )
    )
    changes = list(
        database.scalars(
            select(ops.ParticipantChange).where(
                ops.ParticipantChange.participant_id == participant.id
            )
        )
    )

    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {
        "reference": participant.ref,
        "exported_at": utcnow().isoformat(),
        "record": {
            "given_name": participant.given_name,
            "family_name": participant.family_name,
            "preferred_name": participant.preferred_name,
            "national_id": participant.national_id,
            "duf_number": participant.duf_number,
            "birth_date": iso(participant.birth_date),
            "sex": participant.sex.value,
            "phone": participant.phone,
            "email": participant.email,
            "address": participant.address,
            "protected_address": participant.is_protected_address,
            "languages": participant.language_codes,
            "interpreter_needed": participant.interpreter_needed,
            "interpreter_language": participant.interpreter_language,
            "country": participant.country.value,
            "unit": participant.unit.name,
            "status": participant.status.value,
            "permit_category": participant.permit_category.value
            if participant.permit_category
            else None,
            "permit_granted_on": iso(participant.permit_granted_on),
            "arrival_on": iso(participant.arrival_on),
            "settlement_municipality": participant.settlement_municipality,
            "settlement_on": iso(participant.settlement_on),
            "competence_mapping_on": iso(participant.competence_mapping_on),
            "programme_decision_on": iso(participant.programme_decision_on),
            "programme_start_on": iso(participant.programme_start_on),
            "programme_end_on": iso(participant.programme_end_on),
            "notes": participant.notes,
            "restricted": participant.is_restricted,
        },
        "consents": [
            {
                "shared_with": c.partner_unit.name,
                "sections": sorted(s.value for s in c.section_set),
                "purpose": c.purpose,
                "valid_from": iso(c.valid_from),
                "valid_to": iso(c.valid_to),
                "withdrawn_at": iso(c.withdrawn_at),
            }
            for c in consents
        ],
        "corrections": [
            {"at": iso(c.changed_at), "fields": c.fields.split(","), "reason": c.reason}
            for c in changes
        ],
        "accesses": [
            {
                "at": iso(e.occurred_at),
                "by": actors[e.actor_user_id].display_name if e.actor_user_id in actors else None,
                "role": e.actor_role,
                "action": e.action,
                "outcome": e.outcome,
                "sections": e.field_categories.split(",") if e.field_categories else [],
                "break_the_glass": e.flags == "break_glass",
            }
            for e in events
        ],
    }


@bp.get("/<ref>/export")
@requires(Action.PARTICIPANT_EXPORT)
def export(ref: str) -> str:
    participant, grant = load_participant(ref, Action.PARTICIPANT_EXPORT)
    data = _export_data(participant)
    record_event(
        "participant.export",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("all",),
        grant=grant,
    )
    db().commit()
    return render_template("participants/export.html", participant=participant, data=data)


@bp.get("/<ref>/export.json")
@requires(Action.PARTICIPANT_EXPORT)
def export_json(ref: str) -> Response:
    participant, grant = load_participant(ref, Action.PARTICIPANT_EXPORT)
    data = _export_data(participant)
    record_event(
        "participant.export",
        object_type="participant",
        object_ref=participant.ref,
        field_categories=("all", "format:json"),
        grant=grant,
    )
    db().commit()
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="veiviser-{participant.ref}.json"'
    )
    return response


@bp.post("/<ref>/restriction")
@requires(Action.PARTICIPANT_RESTRICT)
def restriction(ref: str) -> BaseResponse:
    participant, _grant = load_participant(ref, Action.PARTICIPANT_RESTRICT)
    if EmptyForm().validate_on_submit():
        restricted = not participant.is_restricted
        access.set_restriction(db(), acting_actor(), participant, restricted)
        db().commit()
        flash(
            gettext("Processing is restricted: only the primary advisor can open the record.")
            if restricted
            else gettext("The restriction is lifted."),
            "success",
        )
    if can(acting_user(), Action.PARTICIPANT_READ, participant):
        return redirect(url_for("participants.overview", ref=ref))
    return redirect(url_for("participants.caseload"))
