"""One JSON line per proxied request, with no secret in it; metrics count it too."""
import json
import logging

from prometheus_client import REGISTRY

SECRET = "sk-ant-api03-ACCESS-LOG-SECRET"


def test_each_request_logs_one_json_line_and_is_counted(client, upstream, caplog):
    caplog.set_level(logging.INFO, logger="proxy.access")
    labels = {"status": "200", "model": "claude-logged", "provider": "anthropic", "outcome": "complete"}
    before = REGISTRY.get_sample_value("proxy_requests_total", labels) or 0
    client.post("/v1/messages", json={"model": "claude-logged", "max_tokens": 5, "messages": []},
                headers={"x-api-key": SECRET}).get_data()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "proxy.access"]
    [line] = lines
    assert (line["model"], line["status"], line["outcome"]) == ("claude-logged", 200, "complete")
    assert line["output_tokens"] == 42 and line["duration_ms"] is not None
    assert SECRET not in caplog.text
    assert REGISTRY.get_sample_value("proxy_requests_total", labels) == before + 1
