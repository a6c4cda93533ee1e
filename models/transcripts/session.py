"""What a conversation is, whichever source it came from: a list row and the whole session."""
import os
from dataclasses import dataclass, field

from models.pricing import Cost
from models.transcripts.thread import Thread

RECORD_PROJECT = "unknown"  # the `project` of a recorded session whose working directory is unknown


@dataclass
class SessionSummary:
    """One row of the conversation list."""

    id: str
    project: str  # the folder under CLAUDE_PROJECTS_DIR (what `project=` takes)
    project_path: str | None  # the real working directory
    start_ms: int | None
    last_ms: int | None
    request_count: int
    model: str | None
    models: tuple[str, ...] = ()
    first_message: str | None = None
    title: str | None = None
    subagent_count: int = 0
    skipped_lines: int = 0
    source: str = "transcript"  # or "record": seen by the proxy, no transcript here
    cost: Cost | None = None  # of its API messages (main thread and subagents); None: not priced

    @property
    def project_name(self) -> str:
        """The last part of the working directory (the folder name when that is unknown)."""
        path = (self.project_path or "").rstrip("/\\")
        return os.path.basename(path.replace("\\", "/")) if path else self.project

    @property
    def duration_ms(self) -> int:
        """Milliseconds from the first line to the last."""
        return (self.last_ms - self.start_ms) if self.start_ms is not None and self.last_ms is not None else 0

    def uses_model(self, model: str | None) -> bool:
        """True when any model of the session contains `model` (case-insensitive; None matches all)."""
        return model is None or any(model.lower() in name.lower() for name in self.models)


@dataclass
class Conversation:
    """One session in full: its summary, thread, subagents not matched to a call, and its records."""

    summary: SessionSummary
    thread: Thread
    subagents: list[Thread]
    usage: dict
    records: list = field(default_factory=list)  # record_sessions.RecordRef, oldest first

    @property
    def record_by_upstream_id(self) -> dict[str, str]:
        """Anthropic request id -> the proxy's record id, to link each API message to its record."""
        return {ref.upstream_request_id: ref.id for ref in self.records if ref.upstream_request_id}
