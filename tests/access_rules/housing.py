"""Access-matrix rows for views/housing.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

HOUSING_RULES: Rules = {}
