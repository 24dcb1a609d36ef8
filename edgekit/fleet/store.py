"""The local result store: one JSON line per finished job, appended as each job finishes.

Append-only and crash-safe: a line is written with one ``write`` on a file opened with O_APPEND and
fsync'ed before the job counts as done, so a killed driver leaves every finished job stored and at
worst a torn last line, which reading skips (that job simply runs again). Only measured records are
stored: a job that was not measured is tried again on the next run.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .config import FleetError


class ResultStore:
    def __init__(self, path):
        self.path = Path(path).expanduser()
        self._fd = None

    def __enter__(self) -> "ResultStore":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # two drivers on one store would measure the same jobs twice
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise FleetError(f"the result store {self.path} is in use by another fleet run", "it is locked",
                             "wait for that run, or pass --store OTHER_FILE") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None

    def load(self) -> dict[str, dict]:
        """job key -> stored record dict (the last one wins); torn or foreign lines are skipped."""
        out = {}
        if not self.path.is_file():
            return out
        with open(self.path, "rb") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue  # a line cut by a crash: its job runs again
                if isinstance(entry, dict) and isinstance(entry.get("job"), str) and isinstance(entry.get("record"), dict):
                    out[entry["job"]] = entry["record"]
        return out

    def append(self, job: str, record: dict) -> None:
        line = (json.dumps({"job": job, "record": record}, separators=(",", ":")) + "\n").encode()
        if self._fd is None:
            raise RuntimeError("ResultStore.append outside `with`")
        with open(self.path, "rb") as fh:  # after a torn line, start on a fresh line so ours stays readable
            size = fh.seek(0, os.SEEK_END)
            torn = size and (fh.seek(size - 1) or fh.read(1) != b"\n")
        os.write(self._fd, (b"\n" if torn else b"") + line)
        os.fsync(self._fd)


def default_store() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekit" / "fleet-results.jsonl"
