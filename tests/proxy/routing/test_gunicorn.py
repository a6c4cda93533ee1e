"""Under the real server (gunicorn, gevent worker): CONFIG_PATH read at start, an OpenAI-routed stream relayed."""
import anthropic

from tests.fake_openai import ANSWER
from tests.gunicorn_server import GunicornServer
from tests.proxy.conftest import OPENAI_KEY

CONFIG = """
providers:
  local: {kind: openai, base_url: "{openai}/v1", api_key: "${LOCAL_KEY}"}
rules:
  - name: everything-local
    route: {provider: local, model: gpt-4o-mini}
"""


def test_a_routed_stream_through_gunicorn(tmp_path, openai_upstream, _upstream_server, database_url):
    path = tmp_path / "routes.yaml"
    path.write_text(CONFIG.replace("{openai}", openai_upstream.url))
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": database_url,
                             "CONFIG_PATH": str(path), "LOCAL_KEY": OPENAI_KEY}).start()
    try:
        sdk = anthropic.Anthropic(api_key="sk-ant-client", base_url=server.url, max_retries=0)
        with sdk.messages.stream(model="claude-sonnet-4-6", max_tokens=64,
                                 messages=[{"role": "user", "content": "weather?"}]) as stream:
            text = "".join(stream.text_stream)
        assert text == ANSWER
        assert [model.id for model in sdk.models.list()][-1] == "gpt-4o-mini"
        assert openai_upstream.seen[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    finally:
        assert server.stop() == 0
