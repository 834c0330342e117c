"""Access-matrix rows for views/decisions.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

DECISION_RULES: Rules = {}
