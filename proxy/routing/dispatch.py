"""Routed requests: the router's decision turned into a prepared request for the chosen provider."""
import time
from collections.abc import Callable

from proxy.exchange import Exchange
from proxy.routing.providers import AnthropicProvider, build_provider
from proxy.request_info import InvalidBody
from proxy.routing.rules import DEFAULT_PROVIDER, Router
from proxy.routing.config import RoutingConfig
from proxy.upstream.client import UpstreamClient

ROUTED_ENDPOINT = ("POST", "/v1/messages")


class Dispatcher:
    """The configured providers (UPSTREAM_URL's client as `anthropic`) and the rules choosing among them."""

    def __init__(self, config: RoutingConfig, upstream: UpstreamClient,
                 make_client: Callable[[str], UpstreamClient]):
        self.router = Router(config.rules)
        self.providers = {DEFAULT_PROVIDER: AnthropicProvider(DEFAULT_PROVIDER, upstream)}
        for provider in config.providers:
            self.providers[provider.name] = build_provider(provider, make_client)
        self.target_models = config.target_models()
        self.created = int(time.time())

    @staticmethod
    def routable(method: str, path: str) -> bool:
        """Only Messages API calls are routed; count_tokens, batches and files go to UPSTREAM_URL."""
        return (method, path) == ROUTED_ENDPOINT

    def prepare(self, exchange: Exchange, client_headers, headers: list, body: dict | None):
        """(provider, request) for a routed request, noting the route on `exchange`; None to pass through."""
        if body is None:
            return None
        route = self.router.route(exchange.info, client_headers)
        if route is None:
            return None
        provider = self.providers[route.provider]
        exchange.provider, exchange.routing_rule = route.provider, route.rule
        exchange.routed_model = route.model or exchange.info.model
        try:
            outgoing = provider.prepare(exchange.endpoint, exchange.query, headers, exchange.request_body,
                                        body, route.model)
        except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
            raise InvalidBody(f"cannot be translated for provider {route.provider!r}: {exc}") from None
        return provider, outgoing

    def send(self, method: str, prepared: tuple, stream: bool):
        """Send a prepared request through its provider."""
        provider, outgoing = prepared
        return provider.send(method, outgoing, stream)

    def with_target_models(self, listing):
        """An upstream model list (parsed JSON, or None) with the configured target models added."""
        listing = listing if isinstance(listing, dict) and isinstance(listing.get("data"), list) else \
            {"data": [], "has_more": False, "first_id": None, "last_id": None}
        known = {entry.get("id") for entry in listing["data"] if isinstance(entry, dict)}
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        for model, provider in self.target_models:
            if model not in known:
                listing["data"].append({"type": "model", "id": model, "display_name": model,
                                        "created_at": created, "object": "model", "created": self.created,
                                        "owned_by": provider})
        return listing

    def close(self) -> None:
        """Close every provider's pooled connections except UPSTREAM_URL's (the service owns it)."""
        for name, provider in self.providers.items():
            if name != DEFAULT_PROVIDER:
                provider.close()

