"""Conversations: Claude Code sessions from the transcripts on this machine and from the proxy's record."""
import functools
import logging
import os
from collections import OrderedDict

import peewee

from models import record_sessions
from models.transcripts.cache import TranscriptCache
from models.recorded_totals import RecordedTotals
from models.transcripts.session import Conversation, SessionSummary
from models.transcripts.lines import add_usage
from models.cache_report import cache_breaks
from models.conversation_costs import message_cost
from models.pricing import Cost, Pricing
from models.queries import filtered_requests
from models.request_log import RequestLog
from models.transcripts.thread import Thread, attach_subagents, read_thread
from models.transcripts.tree import (SessionFiles, TranscriptTree, UnsafeName, check_project, check_session_id,
                                folder_names, prefetch)

MAX_PROJECT = 1024
log = logging.getLogger(__name__)


class ConversationStore:
    """Sessions under one CLAUDE_PROJECTS_DIR, parsed lazily and cached until their files change."""

    def __init__(self, projects_dir: str, cache: TranscriptCache | None = None, pricing: Pricing | None = None):
        self.tree = TranscriptTree(projects_dir)
        self.cache = cache or TranscriptCache()
        self.pricing = pricing  # list rows show a cost when given
        self._price = functools.partial(message_cost, pricing) if pricing is not None else None
        self.record_prompts: OrderedDict = OrderedDict()  # see record_sessions.add_first_prompts
        self.record_totals = RecordedTotals()
        self._rows: dict[tuple, tuple] = {}  # (project, session id) -> (files' signature, SessionSummary)

    def transcript_sessions(self, project: str | None = None) -> list[SessionSummary]:
        """Summaries of every session with messages (of one project folder, when given)."""
        found = self.tree.sessions(project)
        rows = {(files.project, files.session_id): self._rows.get((files.project, files.session_id))
                for files in found}
        stale = [files for files in found
                 if (rows[(files.project, files.session_id)] or (None,))[0] != files.signature]
        for index, files in enumerate(stale):
            if index + 1 < len(stale):
                prefetch(stale[index + 1].main)  # its bytes come off the disk while this one is parsed
            rows[(files.project, files.session_id)] = (files.signature, self._summary(files))
        # Forget sessions (and files) that are gone, so memory follows the tree.
        self._rows = rows if project is None else {
            **{key: row for key, row in self._rows.items() if key[0] != project}, **rows}
        present = {files.main.path for files in found} | {sub.path for files in found
                                                           for sub in files.subagents.values()}
        root = self.tree.root
        self.cache.forget_missing(present, under=os.path.join(root, project) if root and project else None)
        return [row[1] for row in rows.values() if row[1] is not None]

    def _summary(self, files: SessionFiles) -> SessionSummary | None:
        main = self.cache.summary(files.main, main_thread=True, price=self._price)
        if not main.has_messages:
            return None  # empty, or only summaries and snapshots: nothing to show
        subs = [self.cache.summary(sub, main_thread=False, price=self._price) for sub in files.subagents.values()]
        parts = [main] + subs
        firsts = [part.first_ms for part in parts if part.first_ms is not None]
        lasts = [part.last_ms for part in parts if part.last_ms is not None]
        fallback = files.main.mtime_ns // 1_000_000  # a transcript without timestamps: its file time
        models = tuple(dict.fromkeys(name for part in parts for name in part.models))
        return SessionSummary(
            id=files.session_id, project=files.project,
            project_path=main.cwd or next((sub.cwd for sub in subs if sub.cwd), None),
            start_ms=min(firsts, default=fallback), last_ms=max(lasts, default=fallback),
            request_count=sum(part.request_count for part in parts),
            model=main.main_model or next((sub.main_model for sub in subs if sub.main_model), None),
            models=models, first_message=main.first_prompt, title=main.title,
            subagent_count=len(subs), skipped_lines=sum(part.skipped for part in parts),
            cost=sum((part.cost for part in parts if part.cost is not None), Cost())
            if self.pricing is not None else None)

    def project_folder(self, project: str) -> str | None:
        """The folder a `project` names (a folder name or a working directory path); None if absent.
        Raises UnsafeName for anything else."""
        if not isinstance(project, str) or not project or len(project) > MAX_PROJECT or "\x00" in project:
            raise UnsafeName("project is a folder name under CLAUDE_PROJECTS_DIR or a working directory path")
        if project.startswith("/") or project[1:3] in (":\\", ":/"):
            return next((name for name in folder_names(project) if self.tree.has_project(name)), None)
        return check_project(project) if self.tree.has_project(project) else None

    def conversation(self, project: str, session_id: str) -> Conversation | None:
        """The whole session `session_id` of `project`, from its transcript or else from the record."""
        folder = self.project_folder(project)
        check_session_id(session_id)
        files = self.tree.session(folder, session_id) if folder else None
        if files is None:  # a session the proxy saw whose transcript is on another machine
            return record_sessions.recorded_conversation(session_id, self.record_prompts)
        summary = self._summary(files) or SessionSummary(session_id, files.project, None, None, None, 0, None)
        size = files.main.size + sum(sub.size for sub in files.subagents.values())
        thread, unmatched = self.cache.thread((files.project, session_id), files.signature, size,
                                              lambda: _read_session(files))
        usage = add_usage(dict(thread.usage), None)
        for sub in _all_subagents(thread, unmatched):
            add_usage(usage, sub.usage)
        records = _from_record(lambda: record_sessions.session_records(session_id), [])
        return Conversation(summary, thread, unmatched, usage, records)


def _read_session(files: SessionFiles) -> tuple[Thread, list[Thread]]:
    main = read_thread(files.main)
    subs = [read_thread(sub, agent_id) for agent_id, sub in sorted(files.subagents.items())]
    return main, attach_subagents(main, subs)


def _all_subagents(thread: Thread, unmatched: list[Thread]) -> list[Thread]:
    return [sub for entry in thread.entries for sub in entry.subagents] + list(unmatched)


def list_conversations(store: ConversationStore, model: str | None, page: int, limit: int
                       ) -> tuple[list[SessionSummary], int]:
    """One page of every session (transcripts, then recorded sessions without one), newest activity first."""
    sessions = store.transcript_sessions()
    known = {summary.id for summary in sessions}
    sessions += _from_record(lambda: record_sessions.recorded_sessions(store.record_totals, exclude=known), [])
    matching = sorted((s for s in sessions if s.uses_model(model)),
                      key=lambda s: (s.last_ms or 0, s.id), reverse=True)
    shown = matching[(page - 1) * limit:page * limit]
    recorded = [s for s in shown if s.source == "record"]
    _from_record(lambda: record_sessions.add_first_prompts(recorded, store.record_prompts), None)
    if store.pricing is not None:
        _from_record(lambda: record_sessions.add_costs(recorded, store.pricing), None)
    return shown, len(matching)


def session_cache_breaks(session_id: str, pricing) -> list:
    """The cache breaks of a session in the proxy's record, newest first (none when the database fails)."""
    return _from_record(lambda: [found for _, found in cache_breaks(
        filtered_requests().where(RequestLog.session_id == session_id), pricing)[0]], [])


def _from_record(read, default):
    """A read of the proxy's record; a database that fails leaves the transcripts served on their own."""
    try:
        return read()
    except peewee.PeeweeException as exc:
        log.warning("conversations shown without the proxy's record: %s", exc)
        return default


def project_conversations(store: ConversationStore, project: str, model: str | None = None
                          ) -> tuple[str, list[SessionSummary]] | None:
    """(folder, its sessions newest activity first), or None when the project is not there."""
    folder = store.project_folder(project)
    if folder is None:
        return None
    sessions = [s for s in store.transcript_sessions(folder) if s.uses_model(model)]
    return folder, sorted(sessions, key=lambda s: (s.last_ms or 0, s.id), reverse=True)
