"""The project's exceptions: raised only for what cannot go on; everything else is a Finding."""


class CchcError(Exception):
    """Base of every error this package raises on purpose; its message is Vietnamese, for users."""


class RubricError(CchcError):
    """A rubric file cannot be loaded; `findings` lists every problem found."""

    def __init__(self, message: str, findings: tuple = ()):
        super().__init__(message)
        self.findings = tuple(findings)


class UnitsError(CchcError):
    """The list of units (communes) cannot be used."""


class PeriodError(CchcError):
    """A period is neither a year nor a half year."""


class OutputError(CchcError):
    """An output could not be written."""
