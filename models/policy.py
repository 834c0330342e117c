"""The one permission policy: who may do what, to which object.

* `require(user, action, obj)` answers for one object: it returns the grant
  (role and unit) the action is done under, raises `Forbidden` when no role of
  the user allows the action at all, and `NotFound` when the object lies
  outside the user's scope — so a record the user may not see does not
  confirm that it exists.
* `scoped(stmt, user, action)` narrows a SELECT to what the user may see; every
  list of protected objects starts from it.

Later modules register the scope rules of their own objects with
`register_scope()`, so the whole policy stays in this one mechanism.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false
from sqlalchemy.orm import Session

from models import audit
from models.accounts import Role, User
from models.errors import Forbidden, NotFound


class Action(enum.StrEnum):
    USE_APP = "use_app"
    ADMINISTER_USERS = "administer_users"
    ADMINISTER_UNITS = "administer_units"
    VERIFY_AUDIT = "verify_audit"
    MANAGE_KEYS = "manage_keys"
    PARTICIPANT_LIST = "participant_list"
    PARTICIPANT_READ = "participant_read"
    PARTICIPANT_CREATE = "participant_create"
    PARTICIPANT_EDIT = "participant_edit"
    PARTICIPANT_REASSIGN = "participant_reassign"
    PARTICIPANT_EXPORT = "participant_export"
    PARTICIPANT_RESTRICT = "participant_restrict"
    ACCESS_LOG_READ = "access_log_read"
    CONSENT_MANAGE = "consent_manage"
    BREAK_GLASS = "break_glass"
    BREAK_GLASS_REVIEW = "break_glass_review"
    # The advisor's daily work; reading it is PARTICIPANT_READ plus the record's section.
    PLAN_EDIT = "plan_edit"
    FOLLOW_UP_WRITE = "follow_up_write"
    DECISION_WRITE = "decision_write"
    PROGRAMME_END = "programme_end"
    # Holding, creating and completing tasks about a participant.
    TASK_WORK = "task_work"
    # Language training: classes and enrolment (the centre's leader and its teachers);
    # attendance, progress and test results (the class's teachers).
    CLASS_MANAGE = "class_manage"
    LANGUAGE_RECORD = "language_record"
    CLASS_REPORT = "class_report"  # the centre leader's attendance and progression figures
    # Housing and work placements of a participant (the assigned advisor).
    HOUSING_WRITE = "housing_write"
    PLACEMENT_WRITE = "placement_write"
    # The employer register shared by a unit.
    EMPLOYER_READ = "employer_read"
    EMPLOYER_MANAGE = "employer_manage"
    # The unit's outcome figures and their exports (no personal data).
    OUTCOMES_READ = "outcomes_read"
    # The unit's exports with personal data (participant list, national-register report)
    # and marking national-register events as reported.
    UNIT_EXPORT = "unit_export"


# Which roles may perform an action at all (before any object scope applies).
ROLE_ACTIONS: dict[Action, frozenset[Role]] = {
    Action.USE_APP: frozenset(Role),
    Action.ADMINISTER_USERS: frozenset({Role.ADMIN}),
    Action.ADMINISTER_UNITS: frozenset({Role.ADMIN}),
    Action.VERIFY_AUDIT: frozenset({Role.ADMIN}),
    Action.MANAGE_KEYS: frozenset({Role.ADMIN}),
    Action.PARTICIPANT_LIST: frozenset({Role.ADVISOR, Role.LEADER, Role.PARTNER}),
    # Teachers pass the role check and meet the object scope, so an overview answers
    # 404 for them (their classes' participants come with the language module).
    Action.PARTICIPANT_READ: frozenset({Role.ADVISOR, Role.LEADER, Role.PARTNER, Role.TEACHER}),
    Action.PARTICIPANT_CREATE: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.PARTICIPANT_EDIT: frozenset({Role.ADVISOR}),
    Action.PARTICIPANT_REASSIGN: frozenset({Role.LEADER}),
    Action.PARTICIPANT_EXPORT: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.PARTICIPANT_RESTRICT: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.ACCESS_LOG_READ: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.CONSENT_MANAGE: frozenset({Role.ADVISOR}),
    Action.BREAK_GLASS: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.BREAK_GLASS_REVIEW: frozenset({Role.LEADER}),
    Action.PLAN_EDIT: frozenset({Role.ADVISOR}),
    Action.FOLLOW_UP_WRITE: frozenset({Role.ADVISOR}),
    Action.DECISION_WRITE: frozenset({Role.ADVISOR}),
    Action.PROGRAMME_END: frozenset({Role.ADVISOR}),
    Action.TASK_WORK: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.CLASS_MANAGE: frozenset({Role.LEADER, Role.TEACHER}),
    Action.LANGUAGE_RECORD: frozenset({Role.TEACHER}),
    Action.CLASS_REPORT: frozenset({Role.LEADER}),
    Action.HOUSING_WRITE: frozenset({Role.ADVISOR}),
    Action.PLACEMENT_WRITE: frozenset({Role.ADVISOR}),
    Action.EMPLOYER_READ: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.EMPLOYER_MANAGE: frozenset({Role.ADVISOR, Role.LEADER}),
    Action.OUTCOMES_READ: frozenset({Role.LEADER}),
    Action.UNIT_EXPORT: frozenset({Role.LEADER}),
}


@dataclass(frozen=True)
class Grant:
    """The role and unit under which an action is allowed; it goes into the audit event."""

    role: Role
    unit_id: int | None
    via: str | None = None  # "break_glass" or "consent" when not an ordinary assignment


@dataclass(frozen=True)
class Actor:
    """Who performs an operation: a logged-in user, or the system (the operator's CLI)."""

    user: User | None
    request_id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None)

    def authorise(self, action: Action, obj: Any = None) -> Grant | None:
        """The policy's grant for a user; the CLI operator (shell access) needs none."""
        return None if self.user is None else require(self.user, action, obj)

    def record(
        self,
        session: Session,
        action: str,
        grant: Grant | None,
        *,
        object_type: str | None = None,
        object_ref: str | None = None,
        field_categories: tuple[str, ...] = (),
        outcome: audit.Outcome = audit.Outcome.SUCCESS,
    ) -> None:
        audit.record(
            session,
            action,
            actor_user_id=self.user.id if self.user is not None else None,
            actor_role=grant.role.value if grant else ("system" if self.user is None else None),
            unit_id=grant.unit_id if grant else None,
            object_type=object_type,
            object_ref=object_ref,
            field_categories=field_categories,
            outcome=outcome,
            request_id=self.request_id,
            flags=grant.via if grant else None,
        )


ObjectRule = Callable[[User, Action, Any], Grant | None]
ScopeRule = Callable[[Select[Any], User, Action], Select[Any]]

_object_rules: dict[type[Any], ObjectRule] = {}
_scope_rules: dict[type[Any], ScopeRule] = {}

T = TypeVar("T")


def register_scope(model: type[Any], object_rule: ObjectRule, scope_rule: ScopeRule) -> None:
    """Declare how `model` objects are scoped; called once by the module that owns the model."""
    _object_rules[model] = object_rule
    _scope_rules[model] = scope_rule


def roles_for(user: User, action: Action) -> set[Role]:
    if not user.is_active:
        return set()
    return user.roles() & ROLE_ACTIONS[action]


def first_grant(user: User, roles: set[Role]) -> Grant | None:
    for membership in sorted(user.memberships, key=lambda m: (m.role.value, m.unit_id)):
        if membership.role in roles and membership.unit.is_active:
            return Grant(membership.role, membership.unit_id)
    return None


def can(user: User, action: Action, obj: Any = None) -> bool:
    try:
        require(user, action, obj)
    except (Forbidden, NotFound):
        return False
    return True


def require(user: User, action: Action, obj: Any = None) -> Grant:
    """Return the grant for `action` on `obj`, or raise Forbidden / NotFound."""
    allowed = roles_for(user, action)
    if not allowed:
        raise Forbidden()
    if obj is None:
        grant = first_grant(user, allowed)
        if grant is None:
            raise Forbidden()
        return grant
    rule = _object_rules.get(type(obj))
    if rule is None:
        # An object type nobody declared a scope for is out of everyone's scope.
        raise NotFound()
    grant = rule(user, action, obj)
    if grant is None:
        raise NotFound()
    return grant


def scoped(stmt: Select[Any], user: User, action: Action, model: type[Any]) -> Select[Any]:
    """Narrow `stmt` (selecting `model`) to the rows `user` may see for `action`."""
    if not roles_for(user, action):
        return stmt.where(false())
    rule = _scope_rules.get(model)
    if rule is None:
        return stmt.where(false())
    return rule(stmt, user, action)


# -- administration objects: an administrator manages every user and unit -----


def _admin_object_rule(user: User, action: Action, obj: Any) -> Grant | None:
    return first_grant(user, roles_for(user, action))


def _admin_scope_rule(stmt: Select[Any], user: User, action: Action) -> Select[Any]:
    return stmt


def _register_admin_objects() -> None:
    from models.accounts import Unit

    register_scope(User, _admin_object_rule, _admin_scope_rule)
    register_scope(Unit, _admin_object_rule, _admin_scope_rule)


_register_admin_objects()
