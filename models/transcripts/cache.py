"""Parsed transcripts kept in memory, keyed by path and checked against size, mtime and inode.

File summaries (what the list shows) are small and kept for every file that still exists; whole
threads (what one conversation shows) are large and kept for a few sessions only (LRU, bounded by
the bytes of the files they came from: parsed JSON weighs one to two times its text)."""
import threading
import time
from collections import OrderedDict

from models.transcripts.summary import FileSummary, Price, summarize
from models.transcripts.tree import TranscriptFile

MIB = 1024 * 1024


class TranscriptCache:
    """Summaries of every transcript file and a few whole threads, rebuilt only when a file changes."""

    def __init__(self, max_threads: int = 8, max_thread_bytes: int = 64 * MIB):
        self._summaries: dict[str, tuple[tuple, FileSummary, FileSummary]] = {}
        self._threads: OrderedDict = OrderedDict()
        self.max_threads, self.max_thread_bytes = max_threads, max_thread_bytes
        # One reader at a time: a second caller waits, then finds the work done (under gevent this
        # is a cooperative lock; parsing yields between files and every megabyte).
        self.lock = threading.RLock()
        self.parsed_bytes = 0  # bytes read since start, for the benchmark and tests

    def summary(self, transcript: TranscriptFile, main_thread: bool, price: Price | None = None) -> FileSummary:
        """The file's summary, reading only what changed since it was last read (`price`: see summarize)."""
        cached = self._summaries.get(transcript.path)
        if cached is not None and cached[0] == transcript.signature:
            return cached[1]
        with self.lock:
            cached = self._summaries.get(transcript.path)
            if cached is not None and cached[0] == transcript.signature:
                return cached[1]
            base = cached[2] if cached is not None else None
            start = base.offset if base is not None and base.inode == transcript.inode else 0
            shown, base = summarize(transcript, base, main_thread, price)
            self.parsed_bytes += max(transcript.size - start, 0)
            self._summaries[transcript.path] = (transcript.signature, shown, base)
        time.sleep(0)  # let the worker's streams run between files
        return shown

    def forget_missing(self, present: set[str], under: str | None = None) -> None:
        """Drop summaries of files no longer in the tree (of those below `under`, when given)."""
        for path in [path for path in self._summaries
                     if path not in present and (under is None or path.startswith(under))]:
            del self._summaries[path]

    def thread(self, key, signature: tuple, size: int, build):
        """The cached result of `build()` for `key` while `signature` holds; rebuilt otherwise."""
        cached = self._threads.get(key)
        if cached is not None and cached[0] == signature:
            self._threads.move_to_end(key)
            return cached[2]
        with self.lock:
            value = build()
            self._threads[key] = (signature, size, value)
            self._threads.move_to_end(key)
            while len(self._threads) > self.max_threads or (
                    len(self._threads) > 1 and sum(item[1] for item in self._threads.values()) > self.max_thread_bytes):
                self._threads.popitem(last=False)
            if size > self.max_thread_bytes:
                self._threads.pop(key, None)  # too big to keep: served, not cached
        return value
