"""Decisions (vedtak) and the end of the programme."""

from __future__ import annotations
