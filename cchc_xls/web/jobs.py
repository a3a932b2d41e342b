"""Long work (a harvest) in a background thread of the server: it goes on when the browser tab
is closed, reports its progress for the page to poll, and never runs twice for one round."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Job:
    """One background job: its progress (the harvest calls start and itself) and its outcome."""

    kind: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def start(self, total: int) -> None:
        """Called by the harvest with the number of files it will read (again for a second pass)."""
        self.total = total
        self.done = 0

    def __call__(self, step: int) -> None:
        self.done += step

    def as_json(self) -> dict:
        """The state the page polls: counts, percent, message."""
        data = asdict(self)
        data["percent"] = 100 if self.state != "running" else (int(self.done * 100 / self.total) if self.total else 0)
        return data


class Jobs:
    """At most one running job per key (a round's folder); the last job's outcome is kept."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def get(self, key: str) -> Job | None:
        """The running or last job of this key."""
        with self._lock:
            return self._jobs.get(key)

    def start(self, key: str, kind: str, work) -> Job | None:
        """Run work(job) in a thread; None if a job of this key is still running."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.state == "running":
                return None
            job = self._jobs[key] = Job(kind)
        thread = threading.Thread(target=self._run, args=(job, work), name=f"cchc-{kind}", daemon=True)
        thread.start()
        return job

    @staticmethod
    def _run(job: Job, work) -> None:
        try:
            job.message = work(job) or ""
            job.state = "done"
        except Exception as exc:  # noqa: BLE001 - shown to the officer; the server goes on
            from cchc_xls.errors import CchcError

            job.message = str(exc) if isinstance(exc, CchcError) else f"Lỗi không lường trước: {exc!r}"
            job.state = "failed"
        finally:
            job.finished = time.time()
