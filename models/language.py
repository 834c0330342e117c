"""Language training: classes, enrolments, attendance, absence, leave, progress and tests."""

from __future__ import annotations
