"""Work placements at employers, with evaluations and outcome."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint

from models.access import View
from models.participants import Participant

bp = Blueprint("placements", __name__, url_prefix="/participants")


def overview_panel(participant: Participant, view: View, today: date) -> dict[str, Any]:
    """What the participant overview shows of this module (the caller checked the section)."""
    return {}
