"""Administration: users, memberships, units, audit verification and key status.

Administrators manage accounts and the system; these pages hold no participant data.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from app.database import db
from app.security import acting_user, record_event, requires
from models import admin as ops
from models import audit
from models.accounts import (
    ROLE_LABELS,
    UNIT_KIND_LABELS,
    Role,
    Unit,
    UnitKind,
    User,
    get_unit,
    get_user_by_ref,
)
from models.crypto import KEY_PURPOSE_LABELS, KEY_STATUS_LABELS, DataKey
from models.errors import DomainError, StaleEdit
from models.policy import Action, require, scoped
from views.common import acting_actor, attach_error, paginate
from views.forms import (
    EmptyForm,
    NewUserForm,
    SetPasswordForm,
    UnitForm,
    UnitRoleForm,
    UserForm,
    parse_version,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")

FormResult = str | BaseResponse | tuple[str, int]


def _unit_choices(active_only: bool = True) -> list[tuple[int, str]]:
    stmt = select(Unit).order_by(Unit.name)
    if active_only:
        stmt = stmt.where(Unit.is_active.is_(True))
    return [(unit.id, unit.name) for unit in db().scalars(stmt)]


def _commit_or_conflict(form: FlaskForm) -> bool:
    """Commit; on a concurrent save (the version moved under us) roll back and report it."""
    try:
        db().commit()
    except StaleDataError:
        db().rollback()
        attach_error(form, StaleEdit())
        return False
    return True


# -- users -------------------------------------------------------------------


@bp.get("/")
@requires(Action.ADMINISTER_USERS)
def index() -> BaseResponse:
    return redirect(url_for("admin.users"))


@bp.get("/users")
@requires(Action.ADMINISTER_USERS)
def users() -> str:
    user = acting_user()
    stmt = (
        scoped(select(User), user, Action.ADMINISTER_USERS, User)
        .options(selectinload(User.memberships))
        .order_by(User.display_name, User.id)
    )
    page = paginate(db(), stmt)
    record_event("user.list", object_type="user")
    db().commit()
    return render_template("admin/users.html", page=page, role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Action.ADMINISTER_USERS)
def user_new() -> FormResult:
    form = NewUserForm(unit_choices=_unit_choices())
    if not form.unit.choices:
        flash(gettext("Create a unit first: every user belongs to a unit."), "warning")
        return redirect(url_for("admin.unit_new"))
    if form.validate_on_submit():
        try:
            created = ops.create_user(
                db(),
                acting_actor(),
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
                unit=get_unit(db(), form.unit.data),
                role=Role(form.role.data),
            )
            if form.locale.data:
                created.locale = form.locale.data
        except DomainError as exc:
            db().rollback()
            attach_error(form, exc)
        else:
            db().commit()
            flash(gettext("The user is created."), "success")
            return redirect(url_for("admin.user_edit", ref=created.ref))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_new.html", form=form), status


@bp.route("/users/<ref>", methods=["GET", "POST"])
@requires(Action.ADMINISTER_USERS)
def user_edit(ref: str) -> FormResult:
    database = db()
    user = get_user_by_ref(database, ref)
    require(acting_user(), Action.ADMINISTER_USERS, user)
    form = UserForm(obj=user if request.method == "GET" else None)
    status = 200
    if request.method == "GET":
        form.version.data = str(user.version)
        form.locale.data = user.locale or ""
    elif form.validate_on_submit():
        try:
            ops.update_user(
                database,
                acting_actor(),
                user,
                parse_version(form.version),
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                locale=form.locale.data or None,
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = exc.status_code
        else:
            if _commit_or_conflict(form):
                flash(gettext("The changes are saved."), "success")
                return redirect(url_for("admin.user_edit", ref=ref))
            status = 409
    else:
        status = 400
    return _render_user(user, form, status)


def _render_user(
    user: User,
    form: UserForm,
    status: int = 200,
    *,
    membership_form: UnitRoleForm | None = None,
    password_form: SetPasswordForm | None = None,
) -> tuple[str, int]:
    memberships = sorted(user.memberships, key=lambda m: (m.unit.name, m.role.value))
    return (
        render_template(
            "admin/user_edit.html",
            user=user,
            form=form,
            memberships=memberships,
            membership_form=membership_form
            or UnitRoleForm(unit_choices=_unit_choices(), prefix="m", formdata=None),
            password_form=password_form or SetPasswordForm(prefix="p", formdata=None),
            button_form=EmptyForm(formdata=None),
            role_labels=ROLE_LABELS,
        ),
        status,
    )


def _user_action(ref: str, action: str, membership_id: int | None = None) -> FormResult:
    """The POST buttons on a user's page: each is one operation, then back to the page."""
    database = db()
    user = get_user_by_ref(database, ref)
    require(acting_user(), Action.ADMINISTER_USERS, user)
    actor = acting_actor()
    user_form = UserForm(obj=user, formdata=None)
    user_form.version.data = str(user.version)
    membership_form = UnitRoleForm(unit_choices=_unit_choices(), prefix="m")
    password_form = SetPasswordForm(prefix="p")
    submitted: FlaskForm = {
        "add_membership": membership_form,
        "set_password": password_form,
    }.get(action) or EmptyForm()
    failed_form = submitted if submitted in (membership_form, password_form) else user_form

    def render_failure(status: int) -> tuple[str, int]:
        return _render_user(
            user,
            user_form,
            status,
            membership_form=membership_form if action == "add_membership" else None,
            password_form=password_form if action == "set_password" else None,
        )

    if not submitted.validate_on_submit():
        return render_failure(400)
    try:
        if action == "add_membership":
            ops.add_membership(
                database,
                actor,
                user,
                get_unit(database, membership_form.unit.data),
                Role(membership_form.role.data),
            )
            message = gettext("The role is added. The user's open sessions have ended.")
        elif action == "set_password":
            ops.set_password(database, actor, user, password_form.password.data or "")
            message = gettext("The password is set. The user's open sessions have ended.")
        elif action == "disable":
            ops.set_user_active(database, actor, user, False)
            message = gettext("The user is disabled and logged out everywhere.")
        elif action == "enable":
            ops.set_user_active(database, actor, user, True)
            message = gettext("The user is enabled.")
        elif action == "reset_mfa":
            ops.reset_mfa(database, actor, user)
            message = gettext(
                "Two-step login is reset. The user sets it up again at the next login."
            )
        else:
            ops.remove_membership(database, actor, user, membership_id or 0)
            message = gettext("The role is removed. The user's open sessions have ended.")
    except DomainError as exc:
        database.rollback()
        attach_error(failed_form, exc)
        return render_failure(exc.status_code)
    database.commit()
    flash(message, "success")
    return redirect(url_for("admin.user_edit", ref=ref))


@bp.post("/users/<ref>/disable")
@requires(Action.ADMINISTER_USERS)
def user_disable(ref: str) -> FormResult:
    return _user_action(ref, "disable")


@bp.post("/users/<ref>/enable")
@requires(Action.ADMINISTER_USERS)
def user_enable(ref: str) -> FormResult:
    return _user_action(ref, "enable")


@bp.post("/users/<ref>/reset-mfa")
@requires(Action.ADMINISTER_USERS)
def user_reset_mfa(ref: str) -> FormResult:
    return _user_action(ref, "reset_mfa")


@bp.post("/users/<ref>/password")
@requires(Action.ADMINISTER_USERS)
def user_set_password(ref: str) -> FormResult:
    return _user_action(ref, "set_password")


@bp.post("/users/<ref>/memberships")
@requires(Action.ADMINISTER_USERS)
def membership_add(ref: str) -> FormResult:
    return _user_action(ref, "add_membership")


@bp.post("/users/<ref>/memberships/<int:membership_id>/remove")
@requires(Action.ADMINISTER_USERS)
def membership_remove(ref: str, membership_id: int) -> FormResult:
    return _user_action(ref, "remove_membership", membership_id)


# -- units -------------------------------------------------------------------


@bp.get("/units")
@requires(Action.ADMINISTER_UNITS)
def units() -> str:
    stmt = scoped(select(Unit), acting_user(), Action.ADMINISTER_UNITS, Unit).order_by(Unit.name)
    page = paginate(db(), stmt)
    return render_template("admin/units.html", page=page, kind_labels=UNIT_KIND_LABELS)


@bp.route("/units/new", methods=["GET", "POST"])
@requires(Action.ADMINISTER_UNITS)
def unit_new() -> FormResult:
    form = UnitForm()
    if form.validate_on_submit():
        try:
            ops.create_unit(db(), acting_actor(), form.name.data or "", UnitKind(form.kind.data))
        except DomainError as exc:
            db().rollback()
            attach_error(form, exc)
        else:
            db().commit()
            flash(gettext("The unit is created."), "success")
            return redirect(url_for("admin.units"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/unit_form.html", form=form, unit=None), status


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@requires(Action.ADMINISTER_UNITS)
def unit_edit(unit_id: int) -> FormResult:
    database = db()
    unit = get_unit(database, unit_id)
    require(acting_user(), Action.ADMINISTER_UNITS, unit)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    status = 200
    if request.method == "GET":
        form.version.data = str(unit.version)
        form.kind.data = unit.kind.value
    elif form.validate_on_submit():
        try:
            ops.update_unit(
                database,
                acting_actor(),
                unit,
                parse_version(form.version),
                form.name.data or "",
                UnitKind(form.kind.data),
                bool(form.is_active.data),
            )
        except DomainError as exc:
            database.rollback()
            attach_error(form, exc)
            status = exc.status_code
        else:
            if _commit_or_conflict(form):
                flash(gettext("The changes are saved."), "success")
                return redirect(url_for("admin.units"))
            status = 409
    else:
        status = 400
    return render_template("admin/unit_form.html", form=form, unit=unit), status


# -- audit and keys ----------------------------------------------------------


@bp.route("/audit", methods=["GET", "POST"])
@requires(Action.VERIFY_AUDIT)
def audit_log() -> FormResult:
    database = db()
    form = EmptyForm()
    result = None
    if form.validate_on_submit():
        result = audit.verify(database)
        record_event(
            "audit.verify",
            outcome=audit.Outcome.SUCCESS if result.ok else audit.Outcome.FAILED,
        )
        database.commit()
    stmt = select(audit.AuditEvent).order_by(audit.AuditEvent.seq.desc())
    page = paginate(database, stmt)
    actors = {
        u.id: u
        for u in database.scalars(
            select(User).where(
                User.id.in_({e.actor_user_id for e in page.items if e.actor_user_id})
            )
        )
    }
    return render_template("admin/audit.html", form=form, result=result, page=page, actors=actors)


@bp.get("/keys")
@requires(Action.MANAGE_KEYS)
def keys() -> str:
    data_keys = list(db().scalars(select(DataKey).order_by(DataKey.purpose, DataKey.id)))
    return render_template(
        "admin/keys.html",
        data_keys=data_keys,
        purpose_labels=KEY_PURPOSE_LABELS,
        status_labels=KEY_STATUS_LABELS,
    )
