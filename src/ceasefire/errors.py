"""Errors that stop a run: the input or the output location cannot be used, or our code broke.

Each maps to one exit code of the command line (flows/cli.py): 2 for :class:`RawInputError` and
:class:`OutputLocationError`, 3 for :class:`PublishLockTimeout`, 70 (EX_SOFTWARE) for
:class:`InternalError`. Their message is one line that names the path.
"""

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

    def __reduce__(self):
        # Prefect persists task results and Dask ships them between processes: pickle by fields.
        return _rebuild_raw_input_error, (self.file, self.reason, self.line, self.column)


def _rebuild_raw_input_error(file: str, message: str, line: int | None, column: int | None) -> RawInputError:
    return RawInputError(file, message, line=line, column=column)


class OutputLocationError(Exception):
    """``dist/`` or the reports folder cannot be written: not a folder, read-only, disk full (exit code 2)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")

    def __reduce__(self):
        return OutputLocationError, (self.path, self.reason)


class InternalError(Exception):
    """An unexpected exception: a bug in our code (exit code 70). The traceback is saved to a file."""

    def __init__(self, summary: str, traceback_file: str | None):
        self.summary = summary
        self.traceback_file = traceback_file
        where = f"; traceback saved to {traceback_file}" if traceback_file else ""
        super().__init__(f"internal error (a bug, please report it): {summary}{where}")

    def __reduce__(self):
        return InternalError, (self.summary, self.traceback_file)


class PublishLockTimeout(Exception):
    """Another run holds the publish lock for longer than we are willing to wait."""
