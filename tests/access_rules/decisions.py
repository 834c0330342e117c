"""Access-matrix rows for views/decisions.py.

The role under test is not the participant's own advisor (see test_access_matrix):
reading pages are 404 for that advisor, teachers and partners without consent to the
decisions section; the leader reads. The matrix participant has not ended the
programme, so the certificate is 404 for everyone who may read (it exists only after
the end), and the item is a decision that does not exist.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

READ = record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404})
NOT_THERE = record({"advisor": 404, "leader": 404, "teacher": 404, "partner": 404})
WRITE_ONLY = record({"advisor": 404})

DECISION_RULES: Rules = {
    "decisions.decisions": ("GET", READ),
    "decisions.decision": ("GET", NOT_THERE),
    "decisions.programme_end": ("GET", READ),
    "decisions.programme_end_correct": ("GET", WRITE_ONLY),
    "decisions.programme_end_status": ("GET", WRITE_ONLY),
    "decisions.certificate": ("GET", NOT_THERE),
    "decisions.certificate_pdf": ("GET", NOT_THERE),
}
