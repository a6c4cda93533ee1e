"""The request a provider sends: path, query, headers and body, ready for UpstreamClient.send."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """One prepared upstream request."""

    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    model: str | None = None  # the target model, for replies that do not name one
