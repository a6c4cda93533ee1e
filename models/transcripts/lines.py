"""One transcript line at a time: bounded reading, decoding, timestamps, usage and the user's real prompts."""
import re
import time
import unicodedata
from datetime import datetime, timezone

from models import bounded_json

MIB = 1024 * 1024
MAX_LINE = 32 * MIB  # longer lines are skipped unread: a runaway line must not hold the worker's memory
# Bytes read and parsed between cooperative yields (time.sleep is gevent's under gunicorn): a few
# milliseconds of work, so the worker's streams and other requests wait no longer than that.
CHUNK = 256 * 1024
FIRST_MESSAGE_CHARS = 200
LATEST_MS = 32_503_680_000_000  # 3000-01-01
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's own stand-in messages (errors, interrupts): no API call

# What Claude Code writes as a "user" message that the user did not type.
_NOT_A_PROMPT = ("<local-command-caveat>", "Caveat: The messages below were generated", "<command-name>",
                 "<command-message>", "<command-args>", "<local-command-stdout>", "<local-command-stderr>",
                 "<bash-input>", "<bash-stdout>", "<bash-stderr>", "<user-prompt-submit-hook>",
                 "[Request interrupted", "<system-reminder>")
_REMINDER = re.compile(r"<system-reminder>.*?(</system-reminder>|\Z)", re.DOTALL)
_AGENT_IN_RESULT = re.compile(r"\bagent_?[iI]d:\s*([\w@.-]+)")
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def read_lines(file, start: int, end: int):
    """Yield (offset after the line, decoded object or None, complete) for each line of file[start:end].

    None means malformed or oversized; `complete` is False for a last line without its newline
    (Claude Code may be writing it right now). Reads in chunks: one readline per line cost more
    than decoding the JSON."""
    file.seek(start)
    data, position, skipping = bytearray(), start, False  # `position` is the file offset of data[0]
    while True:
        chunk = file.read(min(CHUNK, end - position - len(data))) if position + len(data) < end else b""
        if not chunk:
            if data or skipping:
                yield position + len(data), None if skipping else decode(data), False
            return
        data += chunk
        cursor = 0
        while (newline := data.find(b"\n", cursor)) >= 0:
            if skipping:
                skipping = False
                yield position + newline + 1, None, True
            elif newline - cursor > MAX_LINE:
                yield position + newline + 1, None, True
            elif newline > cursor and not (data[cursor:cursor + 1].isspace() and data[cursor:newline].isspace()):
                yield position + newline + 1, decode(data[cursor:newline]), True
            cursor = newline + 1
        del data[:cursor]
        position += cursor
        if skipping or len(data) > MAX_LINE:  # longer than MAX_LINE: drop it as it comes
            skipping = True
            position += len(data)
            data.clear()
        time.sleep(0)


def decode(raw) -> dict | None:
    """A JSON object line, or None for anything else (too deeply nested included)."""
    try:
        value = bounded_json.loads(raw)
    except ValueError:  # UnicodeDecodeError and bounded_json.TooDeep are ones too
        return None
    return value if isinstance(value, dict) else None


def timestamp_ms(value) -> int | None:
    """Epoch milliseconds of an ISO 8601 timestamp (UTC when it has no offset)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    milliseconds = int(moment.timestamp() * 1000)
    # Only 1970-2999: a year-1 stamp with an offset is year 0 in UTC, which no datetime can show.
    return milliseconds if 0 <= milliseconds < LATEST_MS else None


def message_of(line: dict) -> dict:
    """The line's API message (empty when it has none)."""
    message = line.get("message")
    return message if isinstance(message, dict) else {}


def content_blocks(message: dict) -> list:
    """A message's content as a list of blocks (a plain string becomes one text block)."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def usage_of(message: dict) -> dict | None:
    """The four token counts of an assistant message's usage."""
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    return {field: usage[field] if isinstance(usage.get(field), int) else 0 for field in _USAGE_FIELDS}


_DETAIL_FIELDS = ("cache_creation", "server_tool_use", "service_tier", "inference_geo", "speed")


def usage_detail_of(message: dict) -> dict | None:
    """What pricing reads beyond the four counts: the cache write split, server tool use, tier, geography, speed."""
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    return {field: usage[field] for field in _DETAIL_FIELDS if isinstance(usage.get(field), (dict, str))}


def add_usage(total: dict, usage: dict | None) -> dict:
    """`total` plus `usage`, field by field."""
    for field in _USAGE_FIELDS:
        total[field] = total.get(field, 0) + ((usage or {}).get(field) or 0)
    return total


def api_message(line: dict) -> tuple[str | None, str | None]:
    """(API message id, model) of an assistant line that came from an API call."""
    message = message_of(line)
    message_id, model = message.get("id"), message.get("model")
    if not isinstance(message_id, str) or model == SYNTHETIC_MODEL:
        return None, None
    return message_id, model if isinstance(model, str) else None


def is_prompt_line(line: dict, main_thread: bool) -> bool:
    """A user line that could hold something the user typed (not meta, not a compaction summary)."""
    return (line.get("type") == "user" and not line.get("isMeta") and not line.get("isCompactSummary")
            and not (main_thread and line.get("isSidechain")))


def prompt_text(message: dict) -> str | None:
    """The text a user typed in this message; None for tool results, reminders, caveats and commands."""
    blocks = content_blocks(message)
    if any(block.get("type") == "tool_result" for block in blocks):
        return None
    for block in blocks:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            text = _REMINDER.sub("", block["text"]).strip()
            if text and not text.startswith(_NOT_A_PROMPT):
                return text
    return None


def clip(text: str, limit: int = FIRST_MESSAGE_CHARS) -> str:
    """Whitespace collapsed and cut to `limit` characters, never inside a character (or before its marks)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = limit - 1
    # Combining marks, joiners and variation selectors belong to the character before them.
    while cut > 0 and (unicodedata.combining(text[cut]) or text[cut] in "\u200d\ufe0e\ufe0f"):
        cut -= 1
    if cut > 0 and text[cut - 1] == "\u200d":
        cut -= 1
    return text[:cut].rstrip() + "…"


def spawned_agent(line: dict) -> str | None:
    """The subagent id a Task/Agent tool result names (structured field, or the `agentId: ...` text)."""
    result = line.get("toolUseResult")
    if isinstance(result, dict) and isinstance(result.get("agentId"), str):
        return result["agentId"]
    for block in content_blocks(message_of(line)):
        if block.get("type") != "tool_result":
            continue
        content = block.get("content")
        texts = [content] if isinstance(content, str) else [
            part.get("text", "") for part in content if isinstance(part, dict)] if isinstance(content, list) else []
        for text in texts:
            match = _AGENT_IN_RESULT.search(text) if isinstance(text, str) else None
            if match:
                return match.group(1)
    return None
