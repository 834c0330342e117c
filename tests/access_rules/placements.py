"""Access-matrix rows for views/placements.py and views/employers.py.

The role under test is not the participant's own advisor (see test_access_matrix):
placement pages are 404 for that advisor, teachers and partners without consent to the
placements section; the leader reads. Items are placements that do not exist. The
employer register belongs to the unit: its advisors and leaders use it (an employer
that does not exist is 404); every other role is refused outright.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

READ = record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404})
NOT_THERE = record({"advisor": 404, "leader": 404, "teacher": 404, "partner": 404})
WRITE_ONLY = record({"advisor": 404})
REGISTER = record({"advisor": 200, "leader": 200})
REGISTER_ITEM = record({"advisor": 404, "leader": 404})

PLACEMENT_RULES: Rules = {
    "placements.placements": ("GET", READ),
    "placements.placement": ("GET", NOT_THERE),
    "placements.evaluation_new": ("GET", WRITE_ONLY),
    "placements.add_to_plan": ("POST", WRITE_ONLY),
    "employers.employers": ("GET", REGISTER),
    "employers.employer_new": ("GET", REGISTER),
    "employers.employer": ("GET", REGISTER_ITEM),
    "employers.contact_new": ("GET", REGISTER_ITEM),
    "employers.contact": ("GET", REGISTER_ITEM),
    "employers.agreement_new": ("GET", REGISTER_ITEM),
    "employers.agreement": ("GET", REGISTER_ITEM),
}
