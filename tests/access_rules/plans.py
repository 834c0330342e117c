"""Access-matrix rows for views/plans.py.

The participant has no plan and no mapping. Read pages: the unit's leader reads (pages
that need a plan or a version answer 404 when there is none); a same-unit advisor who is
not assigned, a teacher and a partner without consent get 404; an admin 403. Write pages
need PLAN_EDIT: only advisors pass the role check (403 for everyone else), and an
advisor who is not assigned gets 404.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

READ = record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404})
READ_NEEDS_PLAN = record({"advisor": 404, "leader": 404, "teacher": 404, "partner": 404})
WRITE = record({"advisor": 404})

PLAN_RULES: Rules = {
    "plans.plan": ("GET", READ),
    "plans.history": ("GET", READ),
    "plans.diff": ("GET", READ),
    "plans.version": ("GET", READ_NEEDS_PLAN),
    "plans.print_plan": ("GET", READ_NEEDS_PLAN),
    "plans.pdf": ("GET", READ_NEEDS_PLAN),
    "plans.mapping": ("GET", READ),
    "plans.plan_edit": ("GET", WRITE),
    "plans.element_new": ("GET", WRITE),
    "plans.element_edit": ("GET", WRITE),
    "plans.element_remove": ("POST", WRITE),
    "plans.agree": ("GET", WRITE),
    "plans.review": ("GET", WRITE),
    "plans.mapping_edit": ("GET", WRITE),
    "plans.guidance_new": ("GET", WRITE),
}
