"""Access-matrix rows for views/plans.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

PLAN_RULES: Rules = {}
