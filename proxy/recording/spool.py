"""The recorder's spool: records the database did not take, kept on local disk until it does.

Each process appends to its own segment files (`<instance>-<n>.spool`, one line per batch: the
time it was kept, a space, its JSON; fsynced once per batch) and replays them oldest first. It
holds an flock on `<instance>.lock` while it lives: a lock file nobody holds belongs to a process
that is gone (even one killed with SIGKILL), and a live process adopts its segments.
Under gevent this runs on the writer's native thread: plain os calls, no logging, no locks.
"""
import base64
import fcntl
import json
import os

MIB = 1024 * 1024
SEGMENT_BYTES = 8 * MIB  # a segment is deleted once replayed: a crash replays at most one again
_BYTES = "$bytes"  # a body kept as the bytes relayed is written as {"$bytes": base64} (rows are flat)


class SpoolFull(Exception):
    """The spool has no room for a batch (SPOOL_MAX_BYTES)."""


class Spool:
    """The segments this process replays (its own, then those it adopted) and the one it appends to."""

    def __init__(self, folder: str, instance_id: str, max_bytes: int):
        self.folder = folder
        self.instance_id = instance_id
        self.max_bytes = max_bytes
        self.bytes = 0  # written and not yet replayed, adopted segments included
        self.oldest_ms: int | None = None  # when the oldest batch not yet replayed was kept
        self._segments: list[str] = []  # replay order; the last may be the one appended to
        self._owner: dict[str, str] = {}  # segment -> instance id
        self._offset = 0  # read position in the first segment
        self._append: tuple[str, int] | None = None  # (path, fd) of the segment appended to
        self._sequence = 0
        self._locks: dict[str, int] = {}  # instance id -> fd holding its lock (own and adopted)

    @property
    def pending(self) -> bool:
        """Whether anything waits to be replayed."""
        return bool(self._segments)

    def open(self) -> None:
        """Create the folder and take this process's lock."""
        os.makedirs(self.folder, exist_ok=True)
        self._locks[self.instance_id] = _locked(self._lock_path(self.instance_id))

    def close(self) -> None:
        """Let go of every lock; what is left unreplayed stays for the next process to adopt."""
        self._close_append()
        if not self._segments:
            _unlink(self._lock_path(self.instance_id))
        for fd in self._locks.values():
            os.close(fd)
        self._locks.clear()

    def append(self, logs: list[dict], bodies: list[dict], kept_ms: int) -> int:
        """Write one batch durably (SpoolFull when it does not fit); returns its size in bytes."""
        line = b"%d %s\n" % (kept_ms, json.dumps({"logs": logs, "bodies": bodies}, default=_bytes_json).encode())
        if self.bytes + len(line) > self.max_bytes:
            raise SpoolFull(f"the spool holds {self.bytes} bytes of {self.max_bytes} (SPOOL_MAX_BYTES)")
        if self._append is None or os.fstat(self._append[1]).st_size >= SEGMENT_BYTES:
            self._next_segment()
        fd = self._append[1]
        before = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:  # a disk full mid-line: no half batch for the next one to be glued to
            os.ftruncate(fd, before)
            raise
        self.bytes += len(line)
        if self.oldest_ms is None:
            self.oldest_ms = kept_ms
        return len(line)

    def read(self, max_bytes: int) -> tuple[list[dict], list[dict], int] | None:
        """The next batches from the oldest segment, about `max_bytes` of them (at least one), and
        where they end, for `advance`; None when nothing is pending."""
        while self._segments:
            path = self._segments[0]
            with open(path, "rb") as file:
                file.seek(self._offset)
                data = file.read(max_bytes)
                if data and not data.endswith(b"\n"):  # one batch larger than max_bytes
                    data += file.readline()
            end = data.rfind(b"\n") + 1
            if end == 0 and self._append is not None and self._append[0] == path:
                return None  # the segment being appended to, read to its end
            if end == 0:  # nothing more, or a line cut short by a crash: this segment is done
                self._finish_segment(os.path.getsize(path) - self._offset)
                continue
            logs, bodies = [], []
            for line in data[:end].splitlines():
                batch = _parsed(line)
                if batch is not None:
                    logs.extend(batch["logs"])
                    bodies.extend(batch["bodies"])
            return logs, bodies, self._offset + end
        return None

    def advance(self, end: int) -> None:
        """Forget the batches `read` returned (they are written), up to `end` of the oldest segment."""
        self.bytes -= end - self._offset
        self._offset = end
        path = self._segments[0]
        if self._append is not None and self._append[0] == path:
            if end >= os.fstat(self._append[1]).st_size:
                self._close_append()
                self._finish_segment(0)
        elif end >= os.path.getsize(path):
            self._finish_segment(0)
        self.oldest_ms = self._head_time()

    def adopt_orphans(self) -> list[str]:
        """Take over the spool of every process that is gone (its lock free); returns their instance ids."""
        adopted = []
        for name in sorted(os.listdir(self.folder)):
            instance_id = name.removesuffix(".lock")
            if not name.endswith(".lock") or instance_id in self._locks:
                continue
            try:
                fd = _locked(os.path.join(self.folder, name), create=False)
            except (BlockingIOError, FileNotFoundError):  # alive, or adopted by another process meanwhile
                continue
            self._locks[instance_id] = fd
            segments = sorted(os.path.join(self.folder, segment) for segment in os.listdir(self.folder)
                              if segment.startswith(instance_id + "-") and segment.endswith(".spool"))
            at = 1 if self._offset else 0  # never in front of a segment being read
            self._segments[at:at] = segments
            self._owner.update((segment, instance_id) for segment in segments)
            self.bytes += sum(os.path.getsize(segment) for segment in segments)
            adopted.append(instance_id)
        self.oldest_ms = self._head_time()
        return adopted

    def replayed(self, instance_id: str) -> bool:
        """Whether every segment of `instance_id` has been replayed."""
        return instance_id not in self._owner.values()

    def release(self, instance_id: str) -> None:
        """Delete an adopted process's lock file, all its segments replayed and its rows marked."""
        _unlink(self._lock_path(instance_id))
        os.close(self._locks.pop(instance_id))

    def _lock_path(self, instance_id: str) -> str:
        return os.path.join(self.folder, instance_id + ".lock")

    def _next_segment(self) -> None:
        self._close_append()
        self._sequence += 1
        path = os.path.join(self.folder, f"{self.instance_id}-{self._sequence:08d}.spool")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._append = (path, fd)
        self._segments.append(path)
        self._owner[path] = self.instance_id
        _fsync_folder(self.folder)  # the new file's name must survive a crash too

    def _close_append(self) -> None:
        if self._append is not None:
            os.close(self._append[1])
            self._append = None

    def _finish_segment(self, unread: int) -> None:
        path, rest = self._segments[0], self._segments[1:]
        self.oldest_ms = _time_at(rest[0], 0) if rest else None  # before `pending` can say False
        self._segments, self._offset = rest, 0
        self._owner.pop(path, None)
        self.bytes -= unread
        _unlink(path)

    def _head_time(self) -> int | None:
        for path in self._segments[:2]:  # the head segment may have been read to its end already
            kept = _time_at(path, self._offset if path == self._segments[0] else 0)
            if kept is not None:
                return kept
        return None


def _time_at(path: str, offset: int) -> int | None:
    """When the batch at `offset` of a segment was kept (epoch ms); None past its end."""
    with open(path, "rb") as file:
        file.seek(offset)
        head = file.read(20).split(b" ", 1)[0]
    return int(head) if head.isdigit() else None


def _bytes_json(value) -> dict:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(value).decode()}
    raise TypeError(f"{type(value).__name__} is not JSON")


def _with_bytes(row: dict):
    return base64.b64decode(row[_BYTES]) if len(row) == 1 and _BYTES in row else row


def _parsed(line: bytes) -> dict | None:
    try:
        return json.loads(line.split(b" ", 1)[1], object_hook=_with_bytes)
    except (IndexError, ValueError):  # a line a crash cut short: never acknowledged, so never relied on
        return None


def _locked(path: str, create: bool = True) -> int:
    fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    return fd


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
