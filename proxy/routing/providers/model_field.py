"""Replaces the top-level `model` value of a JSON body in place, leaving every other byte as sent."""
import json
import re

_SPACE = re.compile(r"[ \t\n\r]*")
_scan = json.JSONDecoder().scan_once  # the C scanner: one value from an offset, and where it ends


def replace_model(raw: bytes, model: str) -> bytes:
    """The body with its top-level "model" string set to `model` (added first if it had none).

    Re-serialising the body would reorder or re-escape it, which breaks prompt caching and
    thinking signatures; only the value's characters are swapped. The body must be a JSON
    object in UTF-8 (one the proxy has parsed already).
    """
    text = raw.decode("utf-8")  # decoding and encoding valid UTF-8 gives back the same bytes
    value = json.dumps(model, ensure_ascii=False)
    # Claude Code sends the model first: when the key occurs once, the scan stops there.
    spans = _model_value_spans(text, first_only=raw.count(b'"model"') == 1)
    if not spans:
        start = text.index("{") + 1
        empty = text.startswith("}", _SPACE.match(text, start).end())
        return (text[:start] + '"model": ' + value + ("" if empty else ",") + text[start:]).encode()
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], value]
        last = end
    parts.append(text[last:])
    return "".join(parts).encode()


def _model_value_spans(text: str, first_only: bool) -> list[tuple[int, int]]:
    """(start, end) of each top-level "model" value that is a string (or of the first)."""
    spans = []
    position = text.index("{") + 1
    while True:
        position = _SPACE.match(text, position).end()
        if text.startswith("}", position):
            return spans
        key, position = _scan(text, position)
        position = _SPACE.match(text, position).end() + 1  # past the colon
        start = _SPACE.match(text, position).end()
        value, position = _scan(text, start)
        if key == "model" and isinstance(value, str):
            spans.append((start, position))
            if first_only:
                return spans
        position = _SPACE.match(text, position).end()
        if text.startswith(",", position):
            position += 1
