"""Rule matching, one predicate at a time; first match wins; sessions keep their route."""
import pytest

from proxy.request_info import request_info
from proxy.routing.rules import Match, Route, Router, Rule

SESSION = "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"


def info(body=None, size=1000, session=None):
    body = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}], **(body or {})}
    return request_info(body, session, size)


def holds(match: Match, body=None, headers=None, size=1000) -> bool:
    return match.holds(info(body, size), headers or {})


def test_model_globs_any_of_them_case_insensitive():
    match = Match(models=("*haiku*", "claude-opus-4-?"))
    assert holds(match, {"model": "claude-haiku-4-5"})
    assert holds(match, {"model": "Claude-HAIKU-3"})
    assert holds(match, {"model": "claude-opus-4-1"})
    assert not holds(match, {"model": "claude-sonnet-4-6"})
    assert not holds(match, {"model": None})


def test_subagent_requests_carry_the_agent_header():
    assert holds(Match(subagent=True), headers={"x-claude-code-agent-id": "agent-7"})
    assert not holds(Match(subagent=True))
    assert holds(Match(subagent=False))
    assert not holds(Match(subagent=False), headers={"x-claude-code-agent-id": "agent-7"})


@pytest.mark.parametrize("thinking, on", [({"type": "enabled", "budget_tokens": 1024}, True),
                                          ({"type": "adaptive"}, True), ({"type": "disabled"}, False), (None, False)])
def test_thinking_on_means_enabled_or_adaptive(thinking, on):
    body = {"thinking": thinking} if thinking else {}
    assert holds(Match(thinking=True), body) is on
    assert holds(Match(thinking=False), body) is not on


def test_estimated_input_tokens_above_a_threshold():
    match = Match(input_tokens_above=1000)
    assert not holds(match, size=4000)  # about 4 bytes of JSON a token: 1000, not above
    assert holds(match, size=4004)


def test_tools_present_and_named_tools():
    tools = {"tools": [{"name": "Bash", "input_schema": {}}, {"name": "Edit", "input_schema": {}}]}
    assert holds(Match(tools=True), tools) and not holds(Match(tools=True))
    assert holds(Match(tools=False)) and not holds(Match(tools=False), tools)
    assert holds(Match(tool_names=("WebFetch", "Edit")), tools)
    assert not holds(Match(tool_names=("WebFetch",)), tools)
    assert not holds(Match(tool_names=("Edit",)))


def test_header_values_by_glob():
    match = Match(headers=(("x-team", "infra-*"),))
    assert holds(match, headers={"x-team": "infra-eu"})
    assert not holds(match, headers={"x-team": "web"}) and not holds(match)


def test_every_condition_must_hold():
    match = Match(models=("*haiku*",), subagent=True)
    assert holds(match, {"model": "claude-haiku-4-5"}, {"x-claude-code-agent-id": "a"})
    assert not holds(match, {"model": "claude-haiku-4-5"})
    assert holds(Match())  # no condition: matches everything


def test_first_matching_rule_wins_and_no_match_passes_through():
    router = Router((Rule("sub", Match(subagent=True), model="claude-haiku-4-5"),
                     Rule("haiku", Match(models=("*haiku*",)), "local", "qwen3")))
    agent = {"x-claude-code-agent-id": "a"}
    assert router.route(info({"model": "claude-haiku-4-5"}), agent) == Route("sub", "anthropic", "claude-haiku-4-5")
    assert router.route(info({"model": "claude-haiku-4-5"}), {}) == Route("haiku", "local", "qwen3")
    assert router.route(info(), {}) is None


def test_a_session_keeps_its_first_route_for_its_lifetime():
    router = Router((Rule("thinking", Match(thinking=True), model="claude-opus-4-1"),))
    on = {"thinking": {"type": "adaptive"}}
    assert router.route(info(on, session=SESSION), {}).rule == "thinking"
    assert router.route(info(session=SESSION), {}).rule == "thinking"   # thinking off later: same route
    assert router.route(info(session="other"), {}) is None
    assert router.route(info(on, session="other"), {}) is None           # pass-through is kept too
    assert router.route(info(), {}) is None and router.route(info(on), {}).rule == "thinking"  # no session


def test_each_agent_and_model_of_a_session_is_its_own_conversation():
    router = Router((Rule("haiku", Match(models=("*haiku*",)), model="claude-haiku-3"),))
    assert router.route(info(session=SESSION), {}) is None
    assert router.route(info({"model": "claude-haiku-4-5"}, session=SESSION), {}).rule == "haiku"
    assert router.route(info(session=SESSION), {"x-claude-code-agent-id": "a"}) is None


def test_a_rule_that_is_not_sticky_applies_whenever_it_matches():
    router = Router((Rule("long", Match(input_tokens_above=100_000), model="big", sticky=False),
                     Rule("rest", Match(), model="small")))
    assert router.route(info(session=SESSION, size=1000), {}).rule == "rest"
    assert router.route(info(session=SESSION, size=900_000), {}).rule == "long"
    assert router.route(info(session=SESSION, size=1000), {}).rule == "rest"


def test_remembered_sessions_are_bounded():
    router = Router((Rule("all", Match(), model="m"),), max_sessions=3)
    for number in range(10):
        router.route(info(session=f"s{number}"), {})
    assert router.pinned == 3
