"""A transcript file as a thread: lines in uuid/parentUuid order, one entry per API message, usage per id."""
from dataclasses import dataclass, field

from models.transcripts.lines import (add_usage, api_message, content_blocks, message_of, read_lines,
                                     spawned_agent, timestamp_ms, usage_detail_of, usage_of)
from models.transcripts.tree import TranscriptFile, open_transcript

MESSAGE_TYPES = ("user", "assistant")


@dataclass
class Entry:
    """One message of the thread (an assistant API message split over several lines is one entry)."""

    type: str
    uuid: str | None
    parent_uuid: str | None
    timestamp_ms: int | None
    line: int  # index of its first line in the file
    uuids: list[str] = field(default_factory=list)
    role: str | None = None
    content: list = field(default_factory=list)
    model: str | None = None
    message_id: str | None = None
    upstream_request_id: str | None = None  # the `requestId` of the API call (Anthropic's request-id)
    stop_reason: str | None = None
    usage: dict | None = None
    usage_detail: dict | None = None  # what pricing reads beyond the four counts (see lines.usage_detail_of)
    is_meta: bool = False
    is_sidechain: bool = False
    data: dict | None = None  # the whole line, for line types this reader does not know
    spawned_agent: str | None = None  # the subagent a tool result of this entry names
    subagents: list = field(default_factory=list)  # Threads spawned by a tool call of this entry


@dataclass
class Thread:
    """The entries of one transcript file in conversation order, with what was skipped."""

    entries: list[Entry]
    events: list[dict]  # lines outside the uuid chain (summaries, snapshots, unknown kinds without uuid)
    usage: dict  # summed once per API message id
    request_count: int
    skipped: int
    partial_tail: bool
    agent_id: str | None = None
    spawned_by: str | None = None  # the tool_use id of the Task/Agent call that started this subagent


def read_thread(transcript: TranscriptFile, agent_id: str | None = None) -> Thread:
    """Parse a whole transcript file into its thread; bad lines are counted, never raised."""
    entries, events, skipped, partial = [], [], 0, False
    try:
        with open_transcript(transcript) as file:
            for index, (_, line, complete) in enumerate(read_lines(file, 0, transcript.size)):
                if line is None:
                    partial = partial or not complete
                    skipped += complete
                elif line.get("uuid") is None or not isinstance(line.get("uuid"), str):
                    events.append(line)
                else:
                    entries.append(_entry(line, index))
    except OSError:
        skipped += 1
    ordered = _merge_api_messages(conversation_order(entries))
    usage, ids = {}, {}
    for entry in ordered:
        if entry.message_id:
            ids[entry.message_id] = entry.usage
    for message_usage in ids.values():
        add_usage(usage, message_usage)
    return Thread(ordered, events, add_usage(usage, None), len(ids), skipped, partial, agent_id)


def _entry(line: dict, index: int) -> Entry:
    kind = line.get("type") if isinstance(line.get("type"), str) else "unknown"
    parent = line.get("parentUuid") or line.get("logicalParentUuid")  # compaction keeps the logical link
    entry = Entry(type=kind, uuid=line["uuid"], parent_uuid=parent if isinstance(parent, str) else None,
                  timestamp_ms=timestamp_ms(line.get("timestamp")), line=index, uuids=[line["uuid"]],
                  is_meta=bool(line.get("isMeta")), is_sidechain=bool(line.get("isSidechain")))
    if kind not in MESSAGE_TYPES:
        entry.data = line
        return entry
    message = message_of(line)
    entry.role = _text(message.get("role")) or kind
    entry.content = content_blocks(message)
    if kind == "assistant":
        entry.message_id, entry.model = api_message(line)
        entry.model = entry.model or _text(message.get("model"))
        entry.usage = usage_of(message) if entry.message_id else None
        entry.usage_detail = usage_detail_of(message) if entry.message_id else None
        entry.stop_reason = _text(message.get("stop_reason"))
        entry.upstream_request_id = _text(line.get("requestId"))
    else:
        entry.spawned_agent = spawned_agent(line)
    return entry


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def conversation_order(entries: list[Entry]) -> list[Entry]:
    """Depth first along parentUuid links from each root, siblings and roots in file order."""
    by_uuid = {entry.uuid: entry for entry in entries}
    children: dict[str, list[Entry]] = {}
    roots = []
    for entry in entries:
        if entry.parent_uuid in by_uuid and entry.parent_uuid != entry.uuid:
            children.setdefault(entry.parent_uuid, []).append(entry)
        else:
            roots.append(entry)
    ordered, visited = [], set()
    # Iterative: a long session is a chain thousands deep.
    stack = list(reversed(roots))
    while stack:
        entry = stack.pop()
        if id(entry) in visited:
            continue
        visited.add(id(entry))
        ordered.append(entry)
        stack.extend(reversed(children.get(entry.uuid, [])))
    # Lines caught in a parent cycle have no root: keep them, in file order.
    ordered.extend(entry for entry in entries if id(entry) not in visited)
    return ordered


def _merge_api_messages(entries: list[Entry]) -> list[Entry]:
    """Fold consecutive lines of one API message into one entry (each line repeats the full usage)."""
    merged: list[Entry] = []
    for entry in entries:
        last = merged[-1] if merged else None
        if last is not None and entry.message_id and entry.message_id == last.message_id:
            last.content.extend(entry.content)
            last.uuids.extend(entry.uuids)
            last.usage = entry.usage or last.usage  # the latest line has the final counts
            last.usage_detail = entry.usage_detail or last.usage_detail
            last.stop_reason = entry.stop_reason or last.stop_reason
        else:
            merged.append(entry)
    return merged


def attach_subagents(main: Thread, subagents: list[Thread]) -> list[Thread]:
    """Hang each subagent thread on the entry whose Task/Agent call spawned it; returns the unmatched."""
    calls = {}  # tool_use id -> (entry, block)
    for entry in main.entries:
        for block in entry.content:
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                calls[block["id"]] = (entry, block)
    by_agent = {}  # agent id -> tool_use id, from the tool results that name the agent
    for entry in main.entries:
        for block in entry.content:
            if entry.spawned_agent and block.get("type") == "tool_result":
                by_agent.setdefault(entry.spawned_agent, block.get("tool_use_id"))
    by_prompt = {block.get("input", {}).get("prompt"): tool_id for tool_id, (_, block) in calls.items()
                 if isinstance(block.get("input"), dict) and isinstance(block["input"].get("prompt"), str)}
    unmatched = []
    for sub in sorted(subagents, key=lambda thread: _start(thread)):
        tool_id = by_agent.get(sub.agent_id) or by_prompt.get(_first_prompt(sub))
        if tool_id in calls:
            sub.spawned_by = tool_id
            calls[tool_id][0].subagents.append(sub)
        else:
            unmatched.append(sub)
    return unmatched


def _start(thread: Thread) -> int:
    return min((entry.timestamp_ms for entry in thread.entries if entry.timestamp_ms is not None), default=0)


def _first_prompt(thread: Thread) -> str | None:
    for entry in thread.entries:
        if entry.type == "user":
            texts = [block.get("text") for block in entry.content if block.get("type") == "text"]
            return texts[0] if texts else None
    return None
