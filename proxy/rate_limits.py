"""Rate-limit windows and organization read from Anthropic's response headers."""

# record column -> (response header, parser)
_FIELDS = {
    "organization_id": ("anthropic-organization-id", str),
    "requests_limit": ("anthropic-ratelimit-requests-limit", int),
    "requests_remaining": ("anthropic-ratelimit-requests-remaining", int),
    "requests_reset": ("anthropic-ratelimit-requests-reset", str),
    "tokens_limit": ("anthropic-ratelimit-tokens-limit", int),
    "tokens_remaining": ("anthropic-ratelimit-tokens-remaining", int),
    "tokens_reset": ("anthropic-ratelimit-tokens-reset", str),
    "unified_status": ("anthropic-ratelimit-unified-status", str),
    "unified_5h_utilization": ("anthropic-ratelimit-unified-5h-utilization", float),
    "unified_5h_reset": ("anthropic-ratelimit-unified-5h-reset", str),
    "unified_7d_utilization": ("anthropic-ratelimit-unified-7d-utilization", float),
    "unified_7d_reset": ("anthropic-ratelimit-unified-7d-reset", str),
}


def rate_limit_fields(headers) -> dict:
    """Record columns for every rate-limit header present and well-formed."""
    fields = {}
    for column, (header, parse) in _FIELDS.items():
        value = headers.get(header)
        if value is None:
            continue
        try:
            fields[column] = parse(value.strip())
        except ValueError:
            continue
    return fields
