"""Where a routed request goes: Anthropic-kind endpoints (model swapped in place) and OpenAI-compatible ones (translated)."""
from proxy.routing.providers.anthropic import AnthropicProvider
from proxy.routing.providers.openai import OpenAIProvider
from proxy.routing.providers.provider import Outgoing, Provider

__all__ = ["AnthropicProvider", "OpenAIProvider", "Outgoing", "Provider", "build_provider"]


def build_provider(config, make_client):
    """The provider for a ProviderConfig, with its own pooled client from `make_client(base_url)`."""
    kind = {"anthropic": AnthropicProvider, "openai": OpenAIProvider}[config.kind]
    return kind(config.name, make_client(config.base_url), config.api_key)
