"""Anthropic-kind providers: the client's request as sent, with only the model value swapped."""
from proxy.routing.providers.model_field import replace_model
from proxy.routing.providers.provider import Outgoing, Provider
from proxy.upstream.client import UpstreamResponse

CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})


class AnthropicProvider(Provider):
    """An Anthropic Messages API endpoint; its own key (if configured) replaces the client's."""

    kind = "anthropic"

    def prepare(self, path: str, query: str, headers: list, raw: bytes, body: dict, model: str | None) -> Outgoing:
        """The request to send: the client's headers and bytes, the model (and key) replaced."""
        if self._api_key is not None:
            headers = [(n, v) for n, v in headers if n.lower() not in CREDENTIAL_HEADERS]
            headers.append(("x-api-key", self._api_key))
        if model is not None and body.get("model") != model:
            raw = replace_model(raw, model)
        return Outgoing(path, query, headers, raw)

    def send(self, method: str, outgoing: Outgoing, stream: bool) -> UpstreamResponse:
        """Send it; the reply is relayed as it is."""
        return self.client.send(method, outgoing.path, outgoing.query, outgoing.headers, outgoing.body)
