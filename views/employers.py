"""The employer register a unit shares: organisations that host work placements."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("employers", __name__, url_prefix="/employers")
