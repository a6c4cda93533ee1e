"""GET and PUT /api/settings: the contract's ProxySettings (plus body capture), validated, saved whole or not at all."""
import json

import pytest
import requests

from models.bounded_json import MAX_DEPTH
from tests.nesting import arrays, objects

CAPTURE_DEFAULTS = {"bodyCapture": "all", "bodyMaxBytes": 1048576}
EMPTY = {"requestHeaderRules": [], "responseHeaderRules": [], **CAPTURE_DEFAULTS}
SAVED = {
    "bodyCapture": "errors", "bodyMaxBytes": 4096,
    "requestHeaderRules": [
        {"header": "X-Team", "action": "set", "value": "blue", "find": "", "enabled": True},
        {"header": "User-Agent", "action": "replace", "value": "", "find": " (external, cli)", "enabled": False},
    ],
    "responseHeaderRules": [
        {"header": "Set-Cookie", "action": "block", "value": "", "find": "", "enabled": True},
    ],
}


def put(client, body, **kwargs):
    return client.put("/api/settings", json=body, **kwargs)


@pytest.fixture
def saved(client):
    """Settings saved before the test; errors must leave exactly these."""
    assert put(client, SAVED).status_code == 200
    return SAVED


def test_get_starts_with_empty_rule_lists_and_capture_defaults(client):
    response = client.get("/api/settings")
    assert response.status_code == 200
    assert response.json == EMPTY


def test_put_saves_and_returns_the_settings(client):
    response = put(client, SAVED)
    assert response.status_code == 200
    assert response.json == SAVED
    assert client.get("/api/settings").json == SAVED


def test_missing_fields_take_defaults_and_header_spelling_is_kept(client):
    response = put(client, {"requestHeaderRules": [{"header": "x-API-Thing", "action": "block"},
                                                   {"header": "X-B", "action": "set", "value": "1", "find": None}]})
    assert response.json["requestHeaderRules"] == [
        {"header": "x-API-Thing", "action": "block", "value": "", "find": "", "enabled": True},
        {"header": "X-B", "action": "set", "value": "1", "find": "", "enabled": True}]


def test_an_absent_list_is_left_unchanged_and_an_empty_one_clears(client, saved):
    response = put(client, {"responseHeaderRules": []})
    assert response.json == {**saved, "responseHeaderRules": []}
    assert put(client, {}).json == response.json
    assert put(client, {"requestHeaderRules": []}).json == {**saved, "requestHeaderRules": [], "responseHeaderRules": []}


def test_replace_may_have_an_empty_value(client):
    rule = {"header": "anthropic-beta", "action": "replace", "find": "x,", "value": ""}
    assert put(client, {"requestHeaderRules": [rule]}).status_code == 200


def test_a_hundred_rules_are_accepted(client):
    rules = [{"header": f"X-H{n}", "action": "block"} for n in range(100)]
    assert len(put(client, {"requestHeaderRules": rules}).json["requestHeaderRules"]) == 100


def rules(*items, field="requestHeaderRules"):
    return {field: list(items)}


INVALID = [
    ([], "body: must be a JSON object"),
    ("rules", "body: must be a JSON object"),
    ({"headerRules": []}, "headerRules: unknown field; expected one of requestHeaderRules, responseHeaderRules, "
                          "bodyCapture, bodyMaxBytes"),
    ({"bodyCapture": "some"}, "bodyCapture: must be one of all, errors, none"),
    ({"bodyCapture": None}, "bodyCapture: must be one of all, errors, none"),
    ({"bodyCapture": "ALL"}, "bodyCapture: must be one of all, errors, none"),
    ({"bodyMaxBytes": -1}, "bodyMaxBytes: must be between 0 and 2147483647"),
    ({"bodyMaxBytes": 2**31}, "bodyMaxBytes: must be between 0 and 2147483647"),
    ({"bodyMaxBytes": 1.5}, "bodyMaxBytes: must be a whole number of bytes (0 or null for no cap)"),
    ({"bodyMaxBytes": "1MB"}, "bodyMaxBytes: must be a whole number of bytes (0 or null for no cap)"),
    ({"bodyMaxBytes": True}, "bodyMaxBytes: must be a whole number of bytes (0 or null for no cap)"),
    ({"bodyCapture": "none", "bodyMaxBytes": -5}, "bodyMaxBytes: must be between 0 and 2147483647"),
    ({"bodyCapture": "none", "requestHeaderRules": [{}]}, "requestHeaderRules[0].header: must be a non-empty string"),
    ({"requestHeaderRules": {"header": "X-A"}}, "requestHeaderRules: must be a list of header rules"),
    ({"responseHeaderRules": None}, "responseHeaderRules: must be a list of header rules"),
    (rules(*[{"header": "X-A", "action": "block"}] * 101), "requestHeaderRules: at most 100 rules, got 101"),
    (rules("X-A"), "requestHeaderRules[0]: must be an object with header, action, value, find, enabled"),
    (rules({"header": "X-A", "action": "block", "vaule": "typo"}),
     "requestHeaderRules[0].vaule: unknown field; expected header, action, value, find, enabled"),
    (rules({"action": "block"}), "requestHeaderRules[0].header: must be a non-empty string"),
    (rules({"header": "", "action": "block"}), "requestHeaderRules[0].header: must be a non-empty string"),
    (rules({"header": 7, "action": "block"}), "requestHeaderRules[0].header: must be a non-empty string"),
    (rules({"header": "X A", "action": "block"}),
     "requestHeaderRules[0].header: 'X A' is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
    (rules({"header": "X-A:", "action": "block"}),
     "requestHeaderRules[0].header: 'X-A:' is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
    (rules({"header": "X-A", "action": "block"}, {"header": "X-B", "action": "delete"}),
     "requestHeaderRules[1].action: must be one of block, set, replace"),
    (rules({"header": "X-A"}), "requestHeaderRules[0].action: must be one of block, set, replace"),
    (rules({"header": "X-A", "action": ["set"]}), "requestHeaderRules[0].action: must be one of block, set, replace"),
    (rules({"header": "X-A", "action": "set"}), "requestHeaderRules[0].value: is required (non-empty) for action set"),
    (rules({"header": "X-A", "action": "set", "value": ""}),
     "requestHeaderRules[0].value: is required (non-empty) for action set"),
    (rules({"header": "X-A", "action": "replace", "value": "b"}),
     "requestHeaderRules[0].find: is required (non-empty) for action replace"),
    (rules({"header": "X-A", "action": "set", "value": 5}), "requestHeaderRules[0].value: must be a string"),
    (rules({"header": "X-A", "action": "replace", "find": ["a"], "value": "b"}),
     "requestHeaderRules[0].find: must be a string"),
    (rules({"header": "X-A", "action": "set", "value": "a\r\nX-Injected: 1"}),
     "requestHeaderRules[0].value: must not contain line breaks, control characters or characters beyond Latin-1"),
    (rules({"header": "X-A", "action": "set", "value": "smile 😀"}),
     "requestHeaderRules[0].value: must not contain line breaks, control characters or characters beyond Latin-1"),
    (rules({"header": "X-A", "action": "block", "enabled": "yes"}), "requestHeaderRules[0].enabled: must be true or false"),
    (rules({"header": "X-A", "action": "block", "enabled": 1}), "requestHeaderRules[0].enabled: must be true or false"),
    (rules({"header": "X-A", "action": "block", "enabled": None}), "requestHeaderRules[0].enabled: must be true or false"),
    (rules({"header": "X-A", "action": "block"}, field="responseHeaderRules") | {"requestHeaderRules": [{}]},
     "requestHeaderRules[0].header: must be a non-empty string"),
]


@pytest.mark.parametrize("body, details", INVALID, ids=[details.split(":")[0] + f"#{n}"
                                                         for n, (_, details) in enumerate(INVALID)])
def test_invalid_settings_are_a_400_naming_the_fault_and_save_nothing(client, saved, body, details):
    response = put(client, body)
    assert response.status_code == 400
    assert response.json == {"error": "Invalid settings", "details": details}
    assert client.get("/api/settings").json == saved


@pytest.mark.parametrize("name", ["Connection", "keep-alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
                                  "Proxy-Authorization", "proxy-connection", "PROXY-Anything", "Host",
                                  "content-length"])
def test_rules_for_hop_by_hop_and_framing_headers_are_refused_in_any_case(client, saved, name):
    response = put(client, rules({"header": "X-Fine", "action": "block"},
                                 {"header": name, "action": "set", "value": "x"}, field="responseHeaderRules"))
    assert response.status_code == 400
    assert response.json["details"] == (f"responseHeaderRules[1].header: {name!r} is hop-by-hop or managed by "
                                        "the proxy; rules cannot change it")
    assert client.get("/api/settings").json == saved


def test_malformed_json_is_a_400(client, saved):
    response = client.put("/api/settings", data='{"requestHeaderRules": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"] == "Invalid settings"
    assert response.json["details"].startswith("body: not valid JSON")
    assert client.get("/api/settings").json == saved


# Some 10,000 nested objects are the deepest that fit in the 64 KB a body may have.
@pytest.mark.parametrize("body", [arrays(MAX_DEPTH + 1), arrays(5_000), arrays(32_000),
                                  '{"requestHeaderRules": ' + objects(5_000) + "}",
                                  '{"requestHeaderRules": ' + objects(10_000) + "}"])
def test_json_nested_too_deep_is_a_400_and_saves_nothing(client, saved, body):
    response = client.put("/api/settings", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json == {"error": "Invalid settings",
                             "details": f"body: not valid JSON (nested deeper than {MAX_DEPTH} levels)"}
    assert client.get("/api/settings").json == saved


@pytest.mark.parametrize("body", [arrays(100_000), objects(100_000)])
def test_json_nested_deeper_than_the_size_cap_allows_is_a_413(client, saved, body):
    response = client.put("/api/settings", data=body, content_type="application/json")
    assert response.status_code == 413
    assert set(response.json) == {"error", "details"}
    assert client.get("/api/settings").json == saved


def test_a_body_that_is_not_json_is_refused(client, saved):
    response = client.put("/api/settings", data=json.dumps(EMPTY), content_type="text/plain")
    assert response.status_code == 415
    assert set(response.json) == {"error", "details"}
    assert client.get("/api/settings").json == saved


@pytest.mark.parametrize("size", [64 * 1024 + 1, 10 * 1024 * 1024])
def test_an_oversized_body_is_a_413_and_saves_nothing(client, saved, size):
    filler = {"header": "X-Big", "action": "set", "value": "v" * 1000}
    body = json.dumps({"requestHeaderRules": [filler] * (size // 1000)})
    body = body + " " * (size - len(body))
    response = client.put("/api/settings", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": "Settings body too large", "details": "the limit is 65536 bytes"}
    assert client.get("/api/settings").json == saved


def test_an_oversized_chunked_body_without_a_length_is_a_413(live_proxy, client, saved):
    chunks = (b" " * 1024 for _ in range(80))  # a generator: requests sends it chunked
    response = requests.put(live_proxy + "/api/settings", data=chunks, timeout=10,
                            headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert client.get("/api/settings").json == saved


def test_capture_settings_save_alone_and_null_means_no_cap(client, saved):
    response = put(client, {"bodyCapture": "none"})
    assert response.status_code == 200
    assert response.json == {**saved, "bodyCapture": "none"}
    assert put(client, {"bodyMaxBytes": None}).json["bodyMaxBytes"] == 0
    assert put(client, {"bodyMaxBytes": 0}).json["bodyMaxBytes"] == 0
    assert client.get("/api/settings").json == {**saved, "bodyCapture": "none", "bodyMaxBytes": 0}


def test_the_spec_documents_the_capture_settings_and_flags(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    settings = schemas["ProxySettings"]["properties"]
    assert settings["bodyCapture"]["enum"] == ["all", "errors", "none"]
    assert settings["bodyMaxBytes"]["default"] == 1048576
    assert {"requestBodyTruncated", "bodiesOmitted"} <= set(schemas["RequestLog"]["properties"])
    assert "bodyTruncated" in schemas["ResponseLog"]["properties"]
