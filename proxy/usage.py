"""A response's usage object: merged across stream events and turned into the record's columns. Pure.

In a stream `message_start` alone carries the cache write split, `service_tier` and `inference_geo`;
`message_delta` carries cumulative counts (and may repeat the nested objects): later figures win,
a null or missing one never erases an earlier figure.
"""
import json

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_NESTED = ("cache_creation", "server_tool_use")
_ITERATION_KEYS = {"input_tokens": "input", "output_tokens": "output", "cache_read_input_tokens": "cache_read"}


def merge_usage(usage: dict, update) -> None:
    """Fold one event's usage `update` into `usage` (nested objects merged key by key)."""
    if not isinstance(update, dict):
        return
    for key, value in update.items():
        if value is None:
            continue
        if key in _NESTED and isinstance(value, dict) and isinstance(usage.get(key), dict):
            usage[key] = {**usage[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            usage[key] = value


def usage_columns(usage: dict) -> dict:
    """The RequestLog usage columns of a usage object; a write split the response lacks stays None."""
    creation = usage.get("cache_creation")
    split = creation if isinstance(creation, dict) else {}
    tools = usage.get("server_tool_use") if isinstance(usage.get("server_tool_use"), dict) else {}
    row = {key: _count(usage.get(key)) for key in USAGE_KEYS}
    row.update(
        cache_write_5m_tokens=_count_or_none(split.get("ephemeral_5m_input_tokens")),
        cache_write_1h_tokens=_count_or_none(split.get("ephemeral_1h_input_tokens")),
        web_search_requests=_count(tools.get("web_search_requests")),
        web_fetch_requests=_count(tools.get("web_fetch_requests")),
        service_tier=_text(usage.get("service_tier")),
        inference_geo=_text(usage.get("inference_geo")),
        speed=_text(usage.get("speed")),
    )
    iterations = _iterations(usage.get("iterations"))
    row["iterations"] = json.dumps(iterations, separators=(",", ":")) if iterations else None
    row["iteration_count"] = min(len(iterations), 32_767)  # a SMALLINT
    if row["cache_write_1h_tokens"] is not None and row["cache_write_5m_tokens"] is None:
        row["cache_write_5m_tokens"] = max(0, row["cache_creation_input_tokens"] - row["cache_write_1h_tokens"])
    elif row["cache_write_5m_tokens"] is not None and row["cache_write_1h_tokens"] is None:
        row["cache_write_1h_tokens"] = max(0, row["cache_creation_input_tokens"] - row["cache_write_5m_tokens"])
    return row


def _iterations(value) -> list[dict]:
    # Advisor / fallback iterations each name their own model: kept compact, one object per
    # iteration, for pricing at that model's rates.
    if not isinstance(value, list):
        return []
    kept = []
    for item in value:
        if not isinstance(item, dict):
            continue
        split = item.get("cache_creation") if isinstance(item.get("cache_creation"), dict) else {}
        entry = {short: _count(item.get(key)) for key, short in _ITERATION_KEYS.items()}
        total_write = _count(item.get("cache_creation_input_tokens"))
        one_hour = _count_or_none(split.get("ephemeral_1h_input_tokens"))
        entry["cache_write_1h"] = one_hour or 0
        entry["cache_write_5m"] = (_count(split.get("ephemeral_5m_input_tokens")) if split
                                   else total_write)
        entry["type"] = _text(item.get("type"))
        entry["model"] = _text(item.get("model"))
        kept.append(entry)
    return kept


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _count_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value) -> str | None:
    return value[:40] if isinstance(value, str) and value else None
