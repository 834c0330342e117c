"""Employers and work placements with evaluations."""

from __future__ import annotations
