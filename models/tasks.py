"""Tasks: something someone must do by a date, about one participant."""

from __future__ import annotations
