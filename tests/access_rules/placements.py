"""Access-matrix rows for views/placements.py and views/employers.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

PLACEMENT_RULES: Rules = {}
