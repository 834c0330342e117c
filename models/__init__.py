"""Veiviser's domain: models, rules, the permission policy and the operations on them.

Importing this package registers every model on `Base.metadata` (Alembic and
the tests rely on that) and every object's access rules with the policy.
No Flask imports anywhere below this package.
"""

from models import (
    access,
    accounts,
    admin,
    audit,
    codes,
    crypto,
    deadlines,
    decisions,
    exports,
    followups,
    housing,
    keys,
    language,
    nir,
    participants,
    placements,
    plans,
    policy,
    profile,
    retention,
    rules,
    sessions,
    tasks,
)
from models.base import Base

__all__ = [
    "Base",
    "access",
    "accounts",
    "admin",
    "audit",
    "codes",
    "crypto",
    "deadlines",
    "decisions",
    "exports",
    "followups",
    "housing",
    "keys",
    "language",
    "nir",
    "participants",
    "placements",
    "plans",
    "policy",
    "profile",
    "retention",
    "rules",
    "sessions",
    "tasks",
]
