"""Housing: addresses, contracts and housing follow-up (boveiledning)."""

from __future__ import annotations
