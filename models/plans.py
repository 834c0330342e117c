"""Competence mapping, career guidance and the individual plan (integreringsplan)."""

from __future__ import annotations
