"""Reading and checking one file: Item -> FileResult, each file in isolation.

`process_file` is the guard: whatever happens while one file is read and checked (any exception,
including the BaseException a native reader's panic raises) ends as a finding on that file.
`process_items` runs the files; the risky ones (.xls and .xlsb go through calamine, native code)
and, for big batches, all of them run in worker processes with a memory limit and a time limit,
so an abort, a crash or an endless loop costs that one file: the worker is replaced and the batch
goes on.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import wait

from cchc_xls.appraise import read_appraisal
from cchc_xls.check import Checked, check_return
from cchc_xls.findings import Finding, make
from cchc_xls.inputs import Item
from cchc_xls.explanation_read import read_later_round
from cchc_xls.layout import (
    KIND_APPRAISAL_AREA, KIND_APPRAISAL_ROUND2, KIND_APPRAISAL_UNIT, KIND_EXPLANATION, KIND_SELF, KIND_SURVEY,
)
from cchc_xls.limits import DEFAULT_LIMITS, Limits, megabytes
from cchc_xls.read import read_return
from cchc_xls.rubric import Rubric

ROUND1_KINDS = (KIND_APPRAISAL_UNIT, KIND_APPRAISAL_AREA, KIND_SURVEY)
LATER_KINDS = (KIND_EXPLANATION, KIND_APPRAISAL_ROUND2)  # the explanation round (explanation_*.py)
APPRAISAL_KINDS = ROUND1_KINDS + LATER_KINDS  # identified against the harvest like an appraisal
REJECTING_SKIPS = {"file.zip_bomb", "file.archive_damaged", "file.xml_entities", "file.too_large", "file.not_spreadsheet",
                   "file.vanished", "file.changed", "file.run_budget", "file.member_encrypted",
                   "file.member_unsupported", "file.member_damaged", "file.unreadable",
                   "mail.not_message", "mail.not_mailbox", "mail.too_large", "mail.damaged"}
PARALLEL_FROM = 24  # fewer files are read in this process (starting workers costs more), risky ones excepted
RISKY_SUFFIXES = {".xls", ".xlsb"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# TEST ONLY: "abort:NAME", "loop:NAME", "exit:NAME" or "memory:NAME" (several separated by ",")
# makes a worker process abort, loop forever, exit or allocate without end when it reads the file
# NAME, so that the isolation can be tested without a crafted file that crashes calamine. Read
# only inside worker processes; never set it outside the tests.
TEST_FAULT_ENV = "CCHC_TEST_WORKER_FAULT"
_FAULT = ""  # set from TEST_FAULT_ENV in worker processes only


@dataclass
class FileResult:
    path: str
    name: str
    sha256: str = ""
    status: str = "rejected"  # accepted | superseded | rejected | skipped | attachment
    unit_code: str | None = None
    identity: dict = field(default_factory=dict)
    modified: datetime | None = None
    mtime: float = 0.0
    received: str | None = None
    checked: Checked | None = None
    kind: str = KIND_SELF
    appraisal_entries: list = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    received_at: datetime | None = None  # the e-mail's date, else the file time (Item.received_at)
    sender: str = ""
    group: str = ""  # the message, zip or folder it came in (assign.py matches attachments by it)


def process_file(args, limits: Limits = DEFAULT_LIMITS) -> FileResult:
    """Read and check one item (args is (item, rubric, unit kinds by code)); never raises for a file."""
    item, rubric, kinds = args
    try:
        return _process(item, rubric, kinds)
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError:
        return failed(item, make("file.too_costly", file=item.display, limit=megabytes(limits.worker_memory)))
    except BaseException as exc:  # noqa: B036 - a native reader's panic is a BaseException
        return failed(item, make("file.unreadable", file=item.display, detail=_describe(exc)))


def failed(item: Item, finding: Finding) -> FileResult:
    """The result of a file that could not be processed at all: rejected, with one finding."""
    result = new_result(item)
    result.findings = [*item.notes, finding]
    return result


def new_result(item: Item) -> FileResult:
    """A file's result before it is read: where, what and when it came."""
    return FileResult(path=item.display, name=item.name, mtime=item.mtime, sha256=item.sha256,
                      received_at=item.received_at, sender=item.sender, group=item.group)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:100]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _process(item: Item, rubric: Rubric, kinds: dict) -> FileResult:
    if _FAULT:
        _test_fault(_FAULT, item)
    result = new_result(item)
    result.findings.extend(item.notes)
    if item.skip is not None:
        result.status = "rejected" if item.skip.code in REJECTING_SKIPS else "skipped"
        result.findings.append(item.skip)
        return result
    if item.attachment:  # kept and listed, never read: assign.py gives it to its commune
        result.status = "attachment"
        return result
    try:
        data = item.source.read_bytes()
    except OSError as exc:
        result.findings.append(make("file.damaged", file=item.display, reason=exc.strerror or str(exc)))
        return result
    if not result.sha256:  # an item that was not staged (a caller's own Item)
        result.sha256 = hashlib.sha256(data).hexdigest()
    located = read_return(item.source, data, item.display)
    if isinstance(located, Finding):
        result.findings.append(located)
        return result
    result.identity = dict(located.identity)
    result.unit_code = located.identity.get("unit_code") or None
    result.modified = located.modified
    result.kind = located.kind
    result.findings.extend(located.findings)
    if located.has_macros:
        result.findings.append(make("file.macros", file=item.display))
    if located.kind in APPRAISAL_KINDS:
        if located.kind in LATER_KINDS:
            entries, findings = read_later_round(located.book, located.identity, rubric, item.display)
        else:
            entries, findings, _ = read_appraisal(located.book, located.identity, rubric, item.display)
        result.appraisal_entries = entries
        result.findings.extend(findings)
        result.status = "accepted"
        return result
    if located.kind != KIND_SELF:
        result.findings.append(make("identity.not_self", file=item.display, what=located.kind))
        return result
    other = located.identity.get("rubric_id")
    if other and other != rubric.id:  # checking it against this rubric would only say noise
        result.findings.insert(0, make("identity.other_rubric", file=item.display, found=other, expected=rubric.id))
        return result
    if located.rows:
        kind = kinds.get(result.unit_code)
        checked = check_return(located, rubric, kind)
        result.checked = checked
        if checked.entered == 0:  # a template sent back unfilled: one finding, not one per criterion
            result.findings.append(make("file.empty", file=item.display, sheet=located.sheet_name))
            result.findings.extend(f for f in checked.findings if f.code != "score.missing")
        else:
            result.findings.extend(checked.findings)
        checked.findings = []  # kept once, on the file
        checked.pack_texts()
    result.status = "accepted" if located.rows and not _fatal(result.findings) else "rejected"
    return result


def _fatal(findings) -> bool:
    return any(f.code in ("sheet.missing", "file.empty") for f in findings)


# ---------------------------------------------------------------------------------------------
# Running the files: in this process, or in worker processes that may die without harm


def process_items(items: list[Item], rubric: Rubric, kinds: dict, *, workers: int = 1,
                  limits: Limits = DEFAULT_LIMITS, progress=None) -> list[FileResult]:
    """Every item's result, in the items' order.

    Big batches (with more than one worker) run wholly in worker processes; otherwise only the
    risky files do (native readers), one worker at a time, and the others run here."""
    results: list[FileResult | None] = [None] * len(items)
    parallel = workers > 1 and len(items) >= PARALLEL_FROM
    isolated = [(index, item) for index, item in enumerate(items) if parallel or needs_isolation(item)]
    chosen = {index for index, _ in isolated}
    for index, item in enumerate(items):
        if index not in chosen:
            results[index] = process_file((item, rubric, kinds), limits)
            if progress:
                progress(1)
    if isolated:
        for index, result in run_in_workers(isolated, rubric, kinds, workers if parallel else 1, limits):
            results[index] = result
            if progress:
                progress(1)
    return results


def needs_isolation(item: Item) -> bool:
    """Files read by native code (calamine: .xls, .xlsb, any OLE file) run in a worker process."""
    if item.skip is not None or item.attachment:  # an old .doc is OLE too, and never read
        return False
    if item.name.lower().endswith(tuple(RISKY_SUFFIXES)):
        return True
    try:
        with open(item.source, "rb") as handle:
            return handle.read(8) == OLE_MAGIC
    except OSError:
        return False


class _Worker:
    """One worker process and the task it is working on."""

    def __init__(self, context, rubric: Rubric, kinds: dict, limits: Limits):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, rubric, kinds, limits), daemon=True)
        self.process.start()
        child.close()
        self.task: tuple[int, Item] | None = None
        self.deadline = 0.0

    def give(self, task: tuple[int, Item], seconds: float) -> bool:
        try:
            self.conn.send(task)
        except (OSError, EOFError, ValueError):
            return False
        self.task, self.deadline = task, time.monotonic() + seconds
        return True

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (OSError, EOFError, ValueError):
                kill = True
        if not kill:
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def run_in_workers(tasks: list[tuple[int, Item]], rubric: Rubric, kinds: dict, workers: int,
                   limits: Limits = DEFAULT_LIMITS):
    """Yield (index, FileResult) for every task, whatever the workers do.

    Each worker takes one file at a time, so when one dies (abort, panic that kills it, out of
    memory) or runs past the time limit, the file it held is known exactly: that file gets its
    finding, the worker is replaced, and the other files go on."""
    context = _context()
    queue = deque(tasks)
    pool = [_Worker(context, rubric, kinds, limits) for _ in range(max(1, min(workers, len(tasks))))]
    failed_starts = 0
    try:
        while queue or any(w.task for w in pool):
            for position, worker in enumerate(pool):
                while worker.task is None and queue:
                    if worker.give(queue[0], limits.file_seconds):
                        queue.popleft()
                        failed_starts = 0
                        continue
                    worker.stop(kill=True)  # died before it took the file: the file is not to blame...
                    worker = pool[position] = _Worker(context, rubric, kinds, limits)
                    failed_starts += 1
                    if failed_starts > 3:  # ...unless no worker can start at all: say so per file
                        index, item = queue.popleft()
                        yield index, failed(item, make("file.reader_crashed", file=item.display,
                                                       detail="không khởi động được tiến trình đọc"))
            busy = [w for w in pool if w.task]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
            for position, worker in enumerate(pool):
                if worker.task is None:
                    continue
                index, item = worker.task
                outcome = _collect(worker, item, limits)
                if outcome is None:
                    continue
                yield index, outcome
                worker.task = None
                if not worker.process.is_alive() or outcome.findings and outcome.findings[-1].code in (
                        "file.reader_crashed", "file.timeout"):
                    worker.stop(kill=True)
                    pool[position] = _Worker(context, rubric, kinds, limits)
    finally:
        for worker in pool:
            worker.stop(kill=any(w.task for w in pool))


def _context():
    """How workers start: the platform's default, except that a process with other threads (the
    web page's server) is never forked, since a fork copies locks other threads may hold."""
    if threading.active_count() > 1 and multiprocessing.get_start_method(allow_none=True) in (None, "fork"):
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return multiprocessing.get_context()


def _collect(worker: _Worker, item: Item, limits: Limits) -> FileResult | None:
    """The worker's result if it has one, a finding if it died or ran out of time, else None."""
    try:
        if worker.conn.poll():
            _, result = worker.conn.recv()
            return result
    except (EOFError, OSError):
        pass
    except BaseException as exc:  # a result that cannot be unpickled is still that file's problem
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return failed(item, make("file.unreadable", file=item.display, detail=_describe(exc)))
    if not worker.process.is_alive():
        worker.process.join(1)
        return failed(item, make("file.reader_crashed", file=item.display, detail=_exit_detail(worker.process.exitcode)))
    if time.monotonic() >= worker.deadline:
        worker.process.kill()
        return failed(item, make("file.timeout", file=item.display, seconds=f"{limits.file_seconds:g}"))
    return None


def _exit_detail(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"tiến trình đọc bị dừng bởi tín hiệu {signal.Signals(-code).name}"
        except ValueError:
            return f"tiến trình đọc bị dừng bởi tín hiệu {-code}"
    return f"tiến trình đọc kết thúc với mã {code}"


def _worker_main(conn, rubric: Rubric, kinds: dict, limits: Limits) -> None:
    """A worker process: limit its memory, then read and check one file per message until None."""
    if hasattr(signal, "SIGINT"):  # Ctrl+C is the parent's to handle; it then stops the workers
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_memory(limits.worker_memory)
    global _FAULT
    _FAULT = os.environ.get(TEST_FAULT_ENV, "")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, item = task
        conn.send((index, process_file((item, rubric, kinds), limits)))


def limit_memory(extra: int) -> None:
    """Cap this process's address space at its present size plus `extra` bytes (RLIMIT_AS).

    Where the platform has no such limit (Windows; macOS does not enforce it) nothing is done:
    the time limit and the reader's own budgets still hold."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as handle:
            current = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = current + extra
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft == resource.RLIM_INFINITY or soft > wanted:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ImportError, OSError, ValueError, AttributeError):
        pass


def _test_fault(fault: str, item: Item) -> None:
    """TEST ONLY (see TEST_FAULT_ENV): misbehave as a broken native reader would, for one file."""
    actions = dict(reversed(part.split(":", 1)) for part in fault.split(",") if ":" in part)
    action = actions.get(item.name)
    if action == "abort":
        os.abort()
    elif action == "exit":
        os._exit(70)
    elif action == "loop":
        while True:
            time.sleep(0.05)
    elif action == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024 * 1024))
