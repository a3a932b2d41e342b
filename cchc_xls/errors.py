"""The project's exceptions: raised only for what cannot go on; everything else is a Finding."""

from __future__ import annotations

from cchc_xls.findings import message


class CchcError(Exception):
    """Base of every error this package raises on purpose; its message is Vietnamese, for users.

    `code` names the message in the catalogue (findings.CATALOGUE) when it comes from there;
    `findings` are the problems behind it, each located, when there are several."""

    code: str | None = None
    findings: tuple = ()

    @classmethod
    def of(cls, code: str, /, findings: tuple = (), **params) -> "CchcError":
        """The error whose message is the catalogue's `code`, filled with `params`."""
        error = cls(message(code, **params))
        error.code = code
        error.findings = tuple(findings)
        return error


class RubricError(CchcError):
    """A rubric file cannot be loaded; `findings` lists every problem found."""

    def __init__(self, message: str, findings: tuple = ()):
        super().__init__(message)
        self.findings = tuple(findings)

    @classmethod
    def of(cls, code: str, /, findings: tuple = (), **params) -> "RubricError":
        """The error whose message is the catalogue's `code`, filled with `params`."""
        error = cls(message(code, **params), findings)
        error.code = code
        return error


class UnitsError(CchcError):
    """The list of units (communes) cannot be used."""


class PeriodError(CchcError):
    """A period is neither a year nor a half year."""


class DeadlineError(CchcError):
    """A deadline that is not a date."""


class OutputError(CchcError):
    """An output could not be written."""


def output_error(exc: OSError, path, what: str = "") -> OutputError:
    """The OutputError for an OSError while writing: `what` (“kết quả”, “báo cáo”…) into the folder
    `path`; without `what`, the file `path` itself. One message for every writer."""
    reason = exc.strerror or exc
    if what:
        return OutputError.of("output.write_failed", what=what, path=path, reason=reason)
    return OutputError.of("output.file_failed", path=path, reason=reason)


def folder_error(exc: OSError, path, what: str = "") -> OutputError:
    """The OutputError for a folder that could not be created (`what`: “kết quả ” or empty)."""
    return OutputError.of("output.folder_failed", what=what, path=path, reason=exc.strerror or exc)
