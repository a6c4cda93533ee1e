"""Claude Code's transcript tree: project folders, session files, subagent files, and paths kept inside it.

Layout: <root>/<project>/<session-id>.jsonl, where <project> is the working directory with every
character other than a letter or digit replaced by "-" (older versions replaced only "/"), and
<root>/<project>/<session-id>/subagents/agent-<id>.jsonl for the subagents of that session.
"""
import os
import re
import stat
import time
from dataclasses import dataclass, field

SUFFIX = ".jsonl"
AGENT_PREFIX = "agent-"
# One folder name: no separators or control characters (older Claude Code versions kept spaces,
# brackets and the like from the working directory); the real check is that it resolves inside the root.
_PROJECT = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,255}$")
_FILE_ID = re.compile(r"^[\w-][\w.-]{0,127}$")  # what may name a transcript file


class UnsafeName(ValueError):
    """A project or session name that could point outside the transcript tree."""


@dataclass(frozen=True)
class TranscriptFile:
    path: str  # real path, inside the root
    size: int
    mtime_ns: int
    inode: int
    signature: tuple  # what changes when the file does: (size, mtime_ns, inode)

    @classmethod
    def of(cls, path: str, info: os.stat_result) -> "TranscriptFile":
        """The file at `path` as `info` describes it."""
        return cls(path, info.st_size, info.st_mtime_ns, info.st_ino, (info.st_size, info.st_mtime_ns, info.st_ino))


@dataclass(frozen=True)
class SessionFiles:
    project: str
    session_id: str
    main: TranscriptFile
    subagents: dict[str, TranscriptFile] = field(default_factory=dict)  # agent id -> file

    @property
    def signature(self) -> tuple:
        """What changes when any file of the session does."""
        return (self.main.signature,) + tuple(sorted((agent, sub.signature) for agent, sub in self.subagents.items()))


def check_project(project: str) -> str:
    """`project` if it can only name a folder directly inside the root, else UnsafeName."""
    if not isinstance(project, str) or not _PROJECT.match(project) or project in (".", ".."):
        raise UnsafeName("a project is a folder name under CLAUDE_PROJECTS_DIR (or the working directory path)")
    return project


def check_session_id(session_id: str) -> str:
    """`session_id` if it is a plain name (letters, digits, `-`, `_`, `.`, not leading), else UnsafeName."""
    if not isinstance(session_id, str) or not _FILE_ID.match(session_id):
        raise UnsafeName("a session id is letters, digits, '-', '_' and '.' (at most 128, no leading '.')")
    return session_id


def folder_names(project_path: str) -> list[str]:
    """The folder names Claude Code may have given the working directory `project_path`."""
    return list(dict.fromkeys([re.sub(r"[^A-Za-z0-9]", "-", project_path), project_path.replace("/", "-")]))


class TranscriptTree:
    """Read-only view of CLAUDE_PROJECTS_DIR that never leaves it (symlinks pointing out are ignored)."""

    def __init__(self, root: str):
        self.configured_root = root

    @property
    def root(self) -> str | None:
        """The real path of the root folder, or None when it does not exist."""
        real = os.path.realpath(os.path.expanduser(self.configured_root))
        return real if os.path.isdir(real) else None

    def sessions(self, project: str | None = None) -> list[SessionFiles]:
        """Every session of every project (or of one project folder), with its subagent files."""
        root = self.root
        if root is None:
            return []
        projects = [project] if project is not None else [
            name for name in self._children(root, directories=True) if _PROJECT.match(name)]
        found = []
        for name in projects:
            folder = self._inside(root, os.path.join(root, name))
            if folder and os.path.isdir(folder):
                found.extend(self._project_sessions(root, name, folder))
            time.sleep(0)  # thousands of stat calls: let the worker's streams run between folders
        return found

    def session(self, project: str, session_id: str) -> SessionFiles | None:
        """One session's files, or None when it is not in the tree."""
        check_project(project)
        check_session_id(session_id)
        root = self.root
        folder = root and self._inside(root, os.path.join(root, project))
        main = folder and self._file(root, os.path.join(folder, session_id + SUFFIX))
        if not main:
            return None
        return SessionFiles(project, session_id, main, self._subagents(root, os.path.join(folder, session_id)))

    def has_project(self, project: str) -> bool:
        """True when `project` is a folder of the tree."""
        root = self.root
        folder = root and self._inside(root, os.path.join(root, check_project(project)))
        return bool(folder and os.path.isdir(folder))

    def _project_sessions(self, root: str, project: str, folder: str) -> list[SessionFiles]:
        entries = self._entries(folder)
        session_dirs = {entry.name for entry in entries if entry.is_dir()}
        sessions = []
        for entry in entries:
            session_id = entry.name[:-len(SUFFIX)]
            if not entry.name.endswith(SUFFIX) or not _FILE_ID.match(session_id):
                continue
            main = self._entry_file(root, entry)
            if main:
                subagents = (self._subagents(root, os.path.join(folder, session_id))
                             if session_id in session_dirs else {})
                sessions.append(SessionFiles(project, session_id, main, subagents))
        return sessions

    def _subagents(self, root: str, session_folder: str) -> dict[str, TranscriptFile]:
        folder = self._inside(root, os.path.join(session_folder, "subagents"))
        agents = {}
        for entry in self._entries(folder) if folder else []:
            agent_id = entry.name[len(AGENT_PREFIX):-len(SUFFIX)]
            if entry.name.startswith(AGENT_PREFIX) and entry.name.endswith(SUFFIX) and _FILE_ID.match(agent_id):
                found = self._entry_file(root, entry)
                if found:
                    agents[agent_id] = found
        return agents

    @staticmethod
    def _entries(folder: str) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as entries:
                return sorted((entry for entry in entries if not entry.name.startswith(".")),
                              key=lambda entry: entry.name)
        except OSError:
            return []

    def _children(self, folder: str, directories: bool) -> list[str]:
        return [entry.name for entry in self._entries(folder) if entry.is_dir() == directories]

    def _entry_file(self, root: str, entry: os.DirEntry) -> TranscriptFile | None:
        """A listed file of a folder already known to be inside the root: only a symlink needs resolving
        (realpath for every file was most of a warm listing)."""
        if entry.is_symlink():
            return self._file(root, entry.path)
        try:
            info = entry.stat()
        except OSError:
            return None
        return TranscriptFile.of(entry.path, info) if stat.S_ISREG(info.st_mode) else None

    @staticmethod
    def _inside(root: str, path: str) -> str | None:
        """The real path of `path` if it lies strictly inside `root` (symlinks resolved)."""
        real = os.path.realpath(path)
        return real if real != root and real.startswith(root + os.sep) else None

    def _file(self, root: str, path: str) -> TranscriptFile | None:
        real = self._inside(root, path)
        try:
            info = os.stat(real) if real else None
        except OSError:
            return None
        # Only regular files: opening a FIFO named *.jsonl would block the worker forever.
        if info is None or not stat.S_ISREG(info.st_mode):
            return None
        return TranscriptFile.of(real, info)


def _open(transcript: TranscriptFile) -> int:
    descriptor = os.open(transcript.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError(f"{transcript.path} is not a regular file")
    return descriptor


def open_transcript(transcript: TranscriptFile):
    """The file opened for binary reading, refusing anything that is no longer a regular file."""
    descriptor = _open(transcript)
    if hasattr(os, "posix_fadvise"):  # read on ahead of the parser
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return os.fdopen(descriptor, "rb")


def prefetch(transcript: TranscriptFile) -> None:
    """Ask the kernel to start reading the file now, so its bytes arrive while another file is parsed
    (reading a file blocks the whole gevent worker; the parser then waits on the disk alone)."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        descriptor = _open(transcript)
    except OSError:
        return
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(descriptor)
