"""Access-matrix rows of the modules, one file each, merged by tests/test_access_matrix.py.

Each row: endpoint -> (method, expected status per role), built with `record()`.
The participant in the URL belongs to another advisor of the same unit than the
user under test; the leader of that unit sees it; `item_ref` and `number` in a URL
point at nothing (answer 404 where the participant check passes).
"""

from tests.access_rules.decisions import DECISION_RULES
from tests.access_rules.exports import EXPORT_RULES
from tests.access_rules.followups import FOLLOW_UP_RULES
from tests.access_rules.housing import HOUSING_RULES
from tests.access_rules.language import LANGUAGE_RULES
from tests.access_rules.placements import PLACEMENT_RULES
from tests.access_rules.plans import PLAN_RULES

__all__ = [
    "DECISION_RULES",
    "EXPORT_RULES",
    "FOLLOW_UP_RULES",
    "HOUSING_RULES",
    "LANGUAGE_RULES",
    "PLACEMENT_RULES",
    "PLAN_RULES",
]
