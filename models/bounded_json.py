"""JSON decoding with a nesting bound: too deep is invalid JSON (a ValueError), never a RecursionError.

json.loads fails on deep nesting only where the call stack runs out, so a value that just decoded
could still fail to encode again one frame deeper: the bound sits far below Python's recursion limit.
"""
import json

MAX_DEPTH = 256  # no request body or transcript line nests this deep unless it is built to
_CONTAINERS = (dict, list)


class TooDeep(ValueError):
    """JSON nested deeper than MAX_DEPTH."""


def loads(text):
    """json.loads of str or bytes, raising TooDeep (a ValueError) for nesting deeper than MAX_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels") from None
    if deeper_than(value, MAX_DEPTH):
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
    return value


def deeper_than(value, limit: int) -> bool:
    """Whether lists and dicts nest more than `limit` deep in `value` (level by level: no recursion)."""
    # Exact types, not isinstance: json.loads builds plain dicts and lists, and this runs on every line.
    level = [value] if type(value) in _CONTAINERS else []
    for _ in range(limit):
        level = [child for item in level for child in (item.values() if type(item) is dict else item)
                 if type(child) in _CONTAINERS]
        if not level:
            return False
    return bool(level)
