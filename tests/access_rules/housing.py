"""Access-matrix rows for views/housing.py.

The participant belongs to another advisor of the user's unit: a same-unit advisor
gets 404, the unit's leader reads the housing section but may not write; teachers and
partners without consent to housing meet the participant scope (404) where the role
passes, the role check (403) where it does not; admins get 403. The leader's housing
overview is for leaders only.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

READ = record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404})
# `item_ref` points at nothing: 404 once the participant check passes.
NOT_THERE = record({"advisor": 404, "leader": 404, "teacher": 404, "partner": 404})

HOUSING_RULES: Rules = {
    "housing.housing": ("GET", READ),
    "housing.housing_item": ("GET", NOT_THERE),
    "housing.note": ("GET", NOT_THERE),
    # HOUSING_WRITE: only advisors pass the role check, and this one is not assigned.
    "housing.add_note": ("POST", record({"advisor": 404})),
    "housing_overview.index": ("GET", record({"leader": 200})),
}
