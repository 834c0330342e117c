"""Helpers for the access-matrix rows."""

from __future__ import annotations

from models.accounts import Role


def everyone(status: int, anonymous: int = 302) -> dict[str, int]:
    return {"anonymous": anonymous, **{r.value: status for r in Role}}


def record(allowed: dict[str, int]) -> dict[str, int]:
    """Anonymous is sent to log in; a role not named is refused outright (403)."""
    return {"anonymous": 302, **{r.value: 403 for r in Role}, **allowed}


Rules = dict[str, tuple[str, dict[str, int]]]
