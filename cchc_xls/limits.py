"""The harvest's budgets, declared in one place and enforced before the work they bound.

Each input file, each archive and each run has limits; an input over a limit is refused with a
finding before it is read, extracted or copied, and the rest of the batch goes on. The defaults
fit a province's returns (168 communes, each a workbook under 1 MB plus scanned PDFs or photos
of several MB) many times over; they exist so that a hostile or broken file costs seconds and
megabytes, not the whole run. The README ("What cchc-xls does with bad files") lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
GIB = 1024 * MIB

MAX_SPREADSHEET_BYTES = 50 * MIB  # one workbook on disk (a return is well under 1 MB)
MAX_FILE_BYTES = 200 * MIB  # any other single file or zip member kept (a scan, a photo)
MAX_ARCHIVE_MEMBERS = 10_000  # entries in one zip, counted from its directory before it is opened
MAX_ARCHIVE_BYTES = 4 * GIB  # all members of one zip, inflated, from the declared sizes
MAX_MEMBER_RATIO = 100  # inflated / compressed size (documents: 1 to 20), judged for...
RATIO_FROM_BYTES = MIB  # ...a member from this inflated size
ARCHIVE_RATIO_FROM_BYTES = 64 * MIB  # ...and a whole archive from this one (many members of zeros)
MAX_ZIP_DEPTH = 3  # zips inside zips
MAX_RUN_FILES = 20_000  # inputs listed in one run (files and zip members)
MAX_RUN_BYTES = 8 * GIB  # bytes copied or extracted into the staging folder in one run
FILE_SECONDS = 120  # reading and checking one file in a worker process
WORKER_MEMORY_BYTES = 2 * GIB  # address space a worker may add while reading one file


@dataclass(frozen=True)
class Limits:
    """The budgets of one harvest (the defaults above; tests pass smaller ones)."""

    spreadsheet_bytes: int = MAX_SPREADSHEET_BYTES
    file_bytes: int = MAX_FILE_BYTES
    archive_members: int = MAX_ARCHIVE_MEMBERS
    archive_bytes: int = MAX_ARCHIVE_BYTES
    member_ratio: int = MAX_MEMBER_RATIO
    zip_depth: int = MAX_ZIP_DEPTH
    run_files: int = MAX_RUN_FILES
    run_bytes: int = MAX_RUN_BYTES
    file_seconds: float = FILE_SECONDS
    worker_memory: int = WORKER_MEMORY_BYTES


DEFAULT_LIMITS = Limits()


def megabytes(size: int) -> str:
    """A byte count as the findings show it: "3.072 MB"."""
    return f"{size / MIB:,.0f}".replace(",", ".")
