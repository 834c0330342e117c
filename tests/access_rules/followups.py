"""Access-matrix rows for views/followups.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

FOLLOW_UP_RULES: Rules = {}
