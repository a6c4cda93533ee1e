"""What the conversation list needs from one transcript file, read once and extended as the file grows."""
import copy
from array import array
from dataclasses import dataclass, field
from typing import Callable

from models.transcripts.lines import (api_message, clip, is_prompt_line, message_of, prompt_text, read_lines,
                                     timestamp_ms)
from models.pricing import Cost
from models.transcripts.tree import TranscriptFile, open_transcript

Price = Callable[[str | None, int | None, dict], Cost]  # (model, at_ms, usage) -> the message's cost


@dataclass
class FileSummary:
    """Counts, times and the first prompt of one file; `offset` is where its complete lines end."""

    main_thread: bool = True
    offset: int = 0
    inode: int | None = None
    lines: int = 0
    skipped: int = 0
    partial_tail: bool = False
    first_ms: int | None = None
    last_ms: int | None = None
    cwd: str | None = None
    first_prompt: str | None = None
    prompt: str | None = None  # unclipped, to match a subagent with the Task call that spawned it
    title: str | None = None
    has_messages: bool = False
    models: dict[str, int] = field(default_factory=dict)  # model -> API messages
    cost: Cost | None = None  # of its API messages, when the summary was given a price
    # Hashes of the API message ids seen: distinct API calls, at 8 bytes each.
    message_hashes: array = field(default_factory=lambda: array("q"))

    @property
    def request_count(self) -> int:
        """API calls in this file: distinct assistant message ids."""
        return len(self.message_hashes)

    @property
    def main_model(self) -> str | None:
        """The model of most API calls (the later-seen one on a tie)."""
        if not self.models:
            return None
        ranked = list(self.models.items())
        return max(reversed(ranked), key=lambda item: item[1])[0]


def summarize(transcript: TranscriptFile, previous: FileSummary | None = None, main_thread: bool = True,
              price: Price | None = None) -> tuple[FileSummary, FileSummary]:
    """(summary to show, summary of the complete lines to continue from when the file grows), reading
    only what was appended since `previous` when the file grew; `price(model, at_ms, usage)` costs
    each API message once."""
    grew = previous is not None and previous.inode == transcript.inode and previous.offset <= transcript.size
    base = _copy(previous) if grew else FileSummary(main_thread=main_thread, inode=transcript.inode)
    seen = set(base.message_hashes)
    tail, has_tail = None, False
    try:
        with open_transcript(transcript) as file:
            for offset, line, complete in read_lines(file, base.offset, transcript.size):
                if not complete:
                    tail, has_tail = line, True  # not consumed: its writer may still be adding to it
                    break
                base.offset = offset
                _add(base, line, seen, price)
    except OSError:
        base.skipped += 1  # vanished or unreadable since it was listed; the next listing retries
    base.message_hashes = array("q", seen)
    if not has_tail:
        return base, base
    # A last line lacking only its newline counts; a half-written one is not an error.
    shown = _copy(base)
    if tail is None:
        shown.partial_tail = True
    else:
        _add(shown, tail, seen, price)
        shown.message_hashes = array("q", seen)
    return shown, base


def _copy(summary: FileSummary) -> FileSummary:
    duplicate = copy.copy(summary)
    duplicate.models = dict(summary.models)
    duplicate.message_hashes = array("q", summary.message_hashes)
    return duplicate


def _add(summary: FileSummary, line: dict | None, seen: set, price: Price | None = None) -> None:
    if line is None:
        summary.skipped += 1
        return
    summary.lines += 1
    kind = line.get("type")
    moment = timestamp_ms(line.get("timestamp"))
    if moment is not None:
        summary.first_ms = moment if summary.first_ms is None else min(summary.first_ms, moment)
        summary.last_ms = moment if summary.last_ms is None else max(summary.last_ms, moment)
    if kind == "summary" and isinstance(line.get("summary"), str):
        summary.title = line["summary"]
    if kind not in ("user", "assistant"):
        return
    summary.has_messages = True
    if summary.cwd is None and isinstance(line.get("cwd"), str):
        summary.cwd = line["cwd"]
    if kind == "assistant":
        message_id, model = api_message(line)
        if message_id and hash(message_id) not in seen:
            seen.add(hash(message_id))
            if model:
                summary.models[model] = summary.models.get(model, 0) + 1
            usage = message_of(line).get("usage")
            if price is not None and isinstance(usage, dict):
                # Each line of a message repeats its whole usage: the first one prices it.
                cost = price(model, moment, usage)
                summary.cost = cost if summary.cost is None else summary.cost + cost
    elif summary.prompt is None and is_prompt_line(line, summary.main_thread):
        text = prompt_text(message_of(line))
        if text is not None:
            summary.prompt, summary.first_prompt = text, clip(text)
