"""Errors that are the user's to fix, reported as one line each (never a traceback)."""

from __future__ import annotations

from .escape import visible

# Exit codes of every command (documented in README "Exit codes").
EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


# Longest file, field and message shown in one case-error line (the full strings stay on the
# exception): a 1,000-key mapping or a megabyte-long scalar still gives one short line.
FILE_CHARS = 160
FIELD_CHARS = 80
MESSAGE_CHARS = 240


class CaseError(Exception):
    """A problem in a case file, located as ``FILE:LINE: field: message``.

    ``str()`` is the one place that formats it: one line, bounded in length, control characters
    shown as escapes (file names, keys and values come from the untrusted file)."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = visible(self.file, FILE_CHARS)
        if self.line:
            where += f":{self.line}"
        message = visible(self.message, MESSAGE_CHARS)
        if self.field:
            return f"{where}: {visible(self.field, FIELD_CHARS)}: {message}"
        return f"{where}: {message}"


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""
