"""Fixtures for routing: a fake OpenAI-compatible provider and apps built from a routing config text."""
import pytest

from proxy.routing.config import parse_routing_config
from tests.fake_openai import FakeOpenAI

OPENAI_KEY = "sk-openai-provider-key"


@pytest.fixture(scope="session")
def _openai_server():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def openai_upstream(_openai_server):
    """The fake OpenAI-compatible API, with no scripted replies and no requests seen."""
    _openai_server.reset()
    return _openai_server


@pytest.fixture
def routed_app(make_app, openai_upstream):
    """Build an app from a routing config text; `{openai}` in it is the fake provider's URL."""

    def build(text: str, **overrides):
        routing = parse_routing_config(text.replace("{openai}", openai_upstream.url),
                                       env={"LOCAL_KEY": OPENAI_KEY})
        return make_app(routing=routing, **overrides)

    return build
