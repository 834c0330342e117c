"""Access-matrix rows for views/exports.py.

Exports are for leaders only (everyone else: 403). The `ref` in the URL names no
export job, so the leader meets 404; an empty POST is redisplayed with errors (400).
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

EXPORT_RULES: Rules = {
    "exports.index": ("GET", record({"leader": 200})),
    "exports.request_export": ("POST", record({"leader": 400})),
    "exports.status": ("GET", record({"leader": 404})),
    "exports.download": ("GET", record({"leader": 404})),
}
