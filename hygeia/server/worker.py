"""The background worker of `hygeia serve`: runs queued jobs in threads and keeps their heartbeats."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from hygeia.governance.jobs import JobQueue

log = logging.getLogger("hygeia.worker")


class JobRunner:
    """``workers`` threads claiming jobs from the store, plus one heartbeat thread.

    A job interrupted by a crash is picked up again by :meth:`JobQueue.recover` once its heartbeat is stale,
    in this process or the next one.
    """

    def __init__(self, queue: JobQueue, *, workers: int = 1, poll: float = 0.5, beat_every: float = 2.0) -> None:
        self.queue = queue
        self.workers = workers
        self.poll = poll
        self.beat_every = beat_every
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.workers):
            self._threads.append(threading.Thread(target=self._work, name=f"hygeia-job-{i}", daemon=True))
        self._threads.append(threading.Thread(target=self._beat, name="hygeia-heartbeat", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; a job still running is left to be recovered by the next start."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                self.queue.recover()
                job = self.queue.claim(self.id)
            except Exception:  # noqa: BLE001 - the store may be briefly unavailable; try again
                log.exception("job queue unavailable")
                job = None
            if job is None:
                self._wake.wait(self.poll)
                self._wake.clear()
                continue
            with self._lock:
                self._running.add(job.id)
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running.discard(job.id)

    def _run(self, job) -> None:
        from hygeia.generators.training import progress_hook

        last = [0.0]

        def on_epoch(label: str, epoch: int, epochs: int, loss: float, seconds: float) -> None:
            if time.monotonic() - last[0] >= 1.0:  # one write a second at most
                last[0] = time.monotonic()
                self.queue.beat(job.id, self.id, f"fitting {label}: epoch {epoch}/{epochs} · {seconds:.0f} s")

        token = progress_hook.set(on_epoch)
        try:
            log.info("job %s (%s) started", job.id, job.kind)
            self.queue.run(job, self.id)
            log.info("job %s finished", job.id)
        finally:
            progress_hook.reset(token)

    def _beat(self) -> None:
        while not self._stop.wait(self.beat_every):
            with self._lock:
                running = list(self._running)
            for job_id in running:
                try:
                    self.queue.beat(job_id, self.id)
                except Exception:  # noqa: BLE001
                    log.exception("heartbeat failed for %s", job_id)
