"""Errors that stop a run before validation: the input cannot be used at all."""

from __future__ import annotations


class RawInputError(Exception):
    """A raw input that cannot be read or has no usable content (exit code 2).

    The message names the file and, where it applies, the line and column.
    """

    def __init__(self, file: str, message: str, *, line: int | None = None, column: int | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.reason = message
        where = file
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class PublishLockTimeout(Exception):
    """Another run holds the publish lock for longer than we are willing to wait."""
