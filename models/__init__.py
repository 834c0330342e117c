"""Veiviser's domain: models, rules, the permission policy and the operations on them.

Importing this package registers every model on `Base.metadata` (Alembic and
the tests rely on that). No Flask imports anywhere below this package.
"""

from models import accounts, audit, crypto, policy, sessions
from models.base import Base

__all__ = ["Base", "accounts", "audit", "crypto", "policy", "sessions"]
