"""Errors a user can cause. Each carries an untranslated message (an English
msgid marked with `N_`) and its parameters; the web layer translates it into
the user's language, the CLI prints it in English.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a string for extraction into the message catalogs without translating it here."""
    return message


class DomainError(Exception):
    """Base of every error a user action can cause; maps to a 4xx, never a 500."""

    status_code = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


class ValidationFailed(DomainError):
    """Input that breaks a domain rule; `field` names the form field to attach it to."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field


class NotFound(DomainError):
    """The object does not exist or the user may not know that it exists."""

    status_code = 404

    def __init__(self) -> None:
        super().__init__(N_("Not found."))


class Forbidden(DomainError):
    """The user is known but their role does not allow the action at all."""

    status_code = 403

    def __init__(self) -> None:
        super().__init__(N_("You do not have access to this page."))


class StaleEdit(DomainError):
    """Somebody saved the record after this form was opened."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Someone else saved this record after you opened it. Your changes have not "
                "been saved; they are still in the form. Open the record again to see the "
                "latest version, then re-apply your changes."
            )
        )


class Throttled(DomainError):
    """Too many failed attempts for this account; try again later."""

    status_code = 429

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            N_("Too many failed attempts. Wait %(seconds)d s and try again."),
            seconds=retry_after_seconds,
        )
        self.retry_after_seconds = retry_after_seconds
