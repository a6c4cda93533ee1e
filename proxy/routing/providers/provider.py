"""What every provider has: a name, its own pooled client and key, and the request it sends."""
from dataclasses import dataclass

from proxy.upstream.client import UpstreamClient


@dataclass(frozen=True)
class Outgoing:
    """One prepared upstream request."""

    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    model: str | None = None  # the target model, for replies that do not name one


class Provider:
    """A configured endpoint; subclasses `prepare` a request and `send` it."""

    kind = ""

    def __init__(self, name: str, client: UpstreamClient, api_key: str | None = None):
        self.name = name
        self.client = client
        self._api_key = api_key  # never logged: kept off repr and out of every record

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()
