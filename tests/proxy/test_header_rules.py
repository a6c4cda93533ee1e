"""Header rules applied to header lists: block, set, replace, any case, never a hop-by-hop header."""
import logging

import pytest

from models.settings import REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES
from proxy.header_rules import HeaderRule, HeaderRules, apply_rules, compile_rules
from proxy.headers import HOP_BY_HOP

HEADERS = [("Content-Type", "application/json"), ("User-Agent", "claude-cli/2.1.0 (external, cli)"),
           ("anthropic-beta", "a-2025,b-2025"), ("X-Stainless-Lang", "js"), ("x-stainless-lang", "py")]


def rule(header, action, value="", find="", enabled=True) -> dict:
    return {"header": header, "action": action, "value": value, "find": find, "enabled": enabled}


def apply(headers, *stored):
    return apply_rules(headers, compile_rules(list(stored)))


def test_no_rules_leave_headers_untouched():
    assert apply(HEADERS) == HEADERS


def test_block_removes_every_occurrence_in_any_case():
    assert apply(HEADERS, rule("X-STAINLESS-LANG", "block")) == HEADERS[:3]


def test_set_overwrites_in_place_and_drops_repeats():
    result = apply(HEADERS, rule("x-stainless-LANG", "set", "go"))
    assert result == [*HEADERS[:3], ("x-stainless-LANG", "go")]


def test_set_adds_a_missing_header_with_the_rule_spelling():
    assert apply(HEADERS, rule("X-Team", "set", "blue")) == [*HEADERS, ("X-Team", "blue")]


def test_replace_edits_every_match_inside_the_value():
    result = apply(HEADERS, rule("ANTHROPIC-BETA", "replace", value="2026", find="2025"))
    assert ("anthropic-beta", "a-2026,b-2026") in result
    assert len(result) == len(HEADERS)


def test_replace_may_delete_text_and_is_a_no_op_for_a_missing_header():
    result = apply(HEADERS, rule("user-agent", "replace", find=" (external, cli)"), rule("x-none", "replace", "a", "b"))
    assert result == [HEADERS[0], ("User-Agent", "claude-cli/2.1.0"), *HEADERS[2:]]


def test_rules_apply_in_order():
    result = apply([], rule("X-A", "set", "one"), rule("x-a", "replace", "two", "one"), rule("X-B", "set", "b"),
                   rule("x-b", "block"))
    assert result == [("X-A", "two")]


def test_disabled_rules_do_nothing():
    assert apply(HEADERS, rule("content-type", "block", enabled=False)) == HEADERS


@pytest.mark.parametrize("name", sorted(HOP_BY_HOP) + ["Host", "Content-Length", "TRANSFER-ENCODING",
                                                       "Proxy-Anything"])
def test_rules_never_touch_hop_by_hop_or_framing_headers(name, caplog):
    headers = [(name, "original")]
    with caplog.at_level(logging.WARNING):
        for action in ("block", "set", "replace"):
            assert apply(headers, rule(name, action, value="x", find="original")) == headers
            assert apply([], rule(name, "set", value="x")) == []
    assert "cannot be applied" in caplog.text


def test_a_hand_built_rule_for_a_hop_by_hop_header_is_still_skipped():
    rules = (HeaderRule("Connection", "set", "close"), HeaderRule("transfer-encoding", "block"))
    assert apply_rules([("Transfer-Encoding", "chunked")], rules) == [("Transfer-Encoding", "chunked")]


@pytest.mark.parametrize("stored", [
    "not a rule", rule("X-A", "rename", "b"), rule("X-A", "set"), rule("X-A", "replace", "b"),
    rule("X-A", "set", "evil\r\nInjected: 1"), rule("bad name", "block"), rule("", "block"),
    rule("X-A", "set", 5), {"header": "X-A"},
], ids=["not-a-dict", "unknown-action", "set-without-value", "replace-without-find", "crlf",
        "bad-name", "empty-name", "non-string", "no-action"])
def test_malformed_stored_rules_are_skipped(stored):
    assert compile_rules([stored, rule("X-Ok", "set", "1")]) == (HeaderRule("X-Ok", "set", "1"),)


def test_rule_sets_come_from_the_saved_settings():
    rules = HeaderRules.from_stored({REQUEST_HEADER_RULES: [rule("X-A", "block")],
                                     RESPONSE_HEADER_RULES: [rule("X-B", "set", "1"), rule("X-C", "block", enabled=False)]})
    assert rules == HeaderRules(request=(HeaderRule("X-A", "block"),), response=(HeaderRule("X-B", "set", "1"),))
    assert HeaderRules.from_stored({}) == HeaderRules()
