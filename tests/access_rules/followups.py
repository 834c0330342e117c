"""Access-matrix rows for views/followups.py and views/tasks.py.

The participant belongs to another advisor of the user's unit: a same-unit advisor
gets 404, the unit's leader reads the follow-ups (section shown) but may not log one;
teachers and partners without consent meet the participant scope (404) where the
role passes, and the role check (403) where it does not; admins get 403.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

FOLLOW_UP_RULES: Rules = {
    "followups.followups": (
        "GET",
        record({"advisor": 404, "leader": 200, "teacher": 404, "partner": 404}),
    ),
    # `item_ref` points at nothing: 404 once the participant check passes.
    "followups.follow_up": (
        "GET",
        record({"advisor": 404, "leader": 404, "teacher": 404, "partner": 404}),
    ),
    # Setting a task is TASK_WORK (advisors and leaders); an empty form is redisplayed.
    "followups.add_task": ("POST", record({"advisor": 404, "leader": 400})),
    "tasks.my_tasks": ("GET", record({"advisor": 200, "leader": 200})),
    "tasks.done": ("POST", record({"advisor": 404, "leader": 404})),
    "tasks.reopen": ("POST", record({"advisor": 404, "leader": 404})),
}
