"""Follow-ups: logged meetings, calls and visits, with next actions that become tasks."""

from __future__ import annotations
