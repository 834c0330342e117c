"""Access-matrix rows for views/language.py.

The class pages take `number` = 1, a class that does not exist: 404 for the roles that
may manage classes (leaders and teachers), 403 for everyone else. The class list and
the new-class form need a leader or teacher role; the new-class form also needs a unit
to create in (the matrix user holds the role in a unit: 200). The report is the
leader's. The participant page: the leader reads; the same-unit advisor (not
assigned), a teacher without a class of the participant and a partner whose consent
covers only the plan get 404. Writing needs LANGUAGE_RECORD: only teachers pass the
role check, and meet 404 for a participant not in their class.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

CLASS_MISSING = record({"leader": 404, "teacher": 404})
READ = record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404})
WRITE = record({"teacher": 404})

LANGUAGE_RULES: Rules = {
    "language.classes": ("GET", record({"leader": 200, "teacher": 200})),
    "language.class_new": ("GET", record({"leader": 200, "teacher": 200})),
    "language.report": ("GET", record({"leader": 200, "teacher": 403})),
    "language.class_page": ("GET", CLASS_MISSING),
    "language.class_edit": ("GET", CLASS_MISSING),
    "language.enrol": ("POST", CLASS_MISSING),
    "language.enrolment": ("GET", CLASS_MISSING),
    "language.attendance": ("GET", CLASS_MISSING),
    "language.participant_page": ("GET", READ),
    "language.estimate_add": ("POST", WRITE),
    "language.test_add": ("POST", WRITE),
    "language.leave_add": ("POST", WRITE),
}
