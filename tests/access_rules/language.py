"""Access-matrix rows for views/language.py."""

from __future__ import annotations

from tests.access_rules.common import Rules

LANGUAGE_RULES: Rules = {}
