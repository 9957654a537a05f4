"""Errors that are the user's to fix, reported as one line each (never a traceback)."""

from __future__ import annotations

# Exit codes of every command (documented in README "Exit codes").
EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class CaseError(Exception):
    """A problem in a case file, located as ``FILE:LINE: field: message``."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""
