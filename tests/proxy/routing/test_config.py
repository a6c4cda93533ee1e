"""The routing config file: providers, rules, `${VAR}` expansion, and errors that name the line."""
from pathlib import Path

import pytest

from app import Config
from proxy.routing.rules import Match, Rule
from proxy.routing.config import ConfigError, ProviderConfig, load_routing_config, parse_routing_config

REPO = Path(__file__).resolve().parents[3]
VALID = """\
providers:
  cheap:
    kind: anthropic
    base_url: https://gateway.example/anthropic
    api_key: ${CHEAP_KEY}
  local:
    kind: openai
    base_url: http://127.0.0.1:8000/v1
rules:
  - name: big-context
    match: {input_tokens_above: 150000, thinking: true}
    route: {model: claude-sonnet-4-6-1m}
    sticky: false
  - name: background
    match:
      model: ["*haiku*", "claude-3-5-*"]
      subagent: true
      tools: true
      tool: [Bash, Edit]
      headers: {X-Team: "infra-*"}
    route: {provider: local, model: qwen3-coder}
  - name: gateway
    route: {provider: cheap}
"""


def parse(text, env=None):
    return parse_routing_config(text, {"CHEAP_KEY": "sk-cheap"} if env is None else env)


def error_of(text, env=None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, env)
    return str(caught.value)


def test_a_valid_file_declares_providers_and_ordered_rules():
    config = parse(VALID)
    assert config.providers == (ProviderConfig("cheap", "anthropic", "https://gateway.example/anthropic", "sk-cheap"),
                                ProviderConfig("local", "openai", "http://127.0.0.1:8000/v1", None))
    assert [rule.name for rule in config.rules] == ["big-context", "background", "gateway"]
    assert config.rules[0] == Rule("big-context", Match(input_tokens_above=150000, thinking=True),
                                   "anthropic", "claude-sonnet-4-6-1m", sticky=False)
    assert config.rules[1].match == Match(models=("*haiku*", "claude-3-5-*"), subagent=True, tools=True,
                                          tool_names=("Bash", "Edit"), headers=(("x-team", "infra-*"),))
    assert (config.rules[1].provider, config.rules[1].model, config.rules[1].sticky) == ("local", "qwen3-coder", True)
    assert (config.rules[2].provider, config.rules[2].model, config.rules[2].match) == ("cheap", None, Match())
    assert config.target_models() == [("claude-sonnet-4-6-1m", "anthropic"), ("qwen3-coder", "local")]


def test_the_api_key_is_never_printed_with_the_config():
    assert "sk-cheap" not in repr(parse(VALID))


def test_a_key_no_header_can_carry_is_refused_without_quoting_it():
    error = error_of("providers:\n  x:\n    kind: openai\n    base_url: http://h\n    api_key: ${KEY}\n",
                     env={"KEY": "sk-secret-1\n"})
    assert "line 5: api_key has a space, line break" in error and "sk-secret-1" not in error


def test_an_empty_file_has_no_rules():
    assert parse("").rules == () and parse("# nothing yet\n").providers == ()


@pytest.mark.parametrize("text, message", [
    ("rules: [\n  {name: a,\n", "line 3"),                                     # YAML syntax
    ("providers: {}\nrule: []\n", "line 2: unknown key 'rule' in the file"),
    ("providers:\n  x:\n    kind: grpc\n    base_url: http://h\n", "line 3: kind must be one of: anthropic, openai"),
    ("providers:\n  x:\n    kind: openai\n", "line 3: provider 'x' needs a kind and a base_url"),
    ("providers:\n  x:\n    kind: openai\n    base_url: ftp://h\n", "line 4: base_url must be an http(s) URL"),
    ("providers:\n  x:\n    kind: openai\n    base_url: http://h\n    apikey: k\n", "line 5: unknown key 'apikey'"),
    ("providers:\n  anthropic: {kind: anthropic, base_url: http://h}\n", "line 2: the provider name 'anthropic' is reserved"),
    ("rules:\n  - name: a\n    route: {provider: nowhere, model: m}\n", "line 3: no provider named 'nowhere'"),
    ("rules:\n  - name: a\n    match: {modle: x}\n    route: {model: m}\n", "line 3: unknown key 'modle' in match"),
    ("rules:\n  - name: a\n    match: {subagent: yes please}\n    route: {model: m}\n",
     "line 3: subagent must be true or false"),
    ("rules:\n  - name: a\n    match: {input_tokens_above: lots}\n    route: {model: m}\n",
     "line 3: input_tokens_above must be a whole number"),
    ("rules:\n  - name: a\n    route: {model: m}\n  - name: a\n    route: {model: n}\n",
     "line 4: two rules are named 'a'"),
    ("rules:\n  - match: {tools: true}\n    route: {model: m}\n", "line 2: a rule needs a name and a route"),
    ("rules:\n  - name: a\n    route: {}\n", "line 3: a route needs a model, a provider or both"),
    ("providers:\n  l: {kind: openai, base_url: http://h}\nrules:\n  - name: a\n    route: {provider: l}\n",
     "line 5: a route to the openai provider 'l' needs a model"),
    ("rules:\n  - name: a\n    route: {model: m}\n    sticky: sometimes\n", "line 4: sticky must be true or false"),
    ("rules: {name: a}\n", "line 1: rules must be a list"),
    ("rules:\n  - name: !!python/name:os.system a\n    route: {model: m}\n", "line 2: could not determine"),
    ("providers:\n  x:\n    kind: anthropic\n    kind: openai\n    base_url: http://h\n", "line 4: 'kind' is given twice"),
])
def test_invalid_files_are_refused_naming_the_line(text, message):
    assert message in error_of(text)


def test_a_missing_environment_variable_names_the_line():
    assert error_of(VALID, env={}) == "proxy.yaml line 5: environment variable CHEAP_KEY is not set"


def test_load_reads_a_file_and_an_absent_optional_file_is_no_config(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(VALID)
    assert len(load_routing_config(str(path), {"CHEAP_KEY": "k"}).rules) == 3
    assert load_routing_config(str(tmp_path / "none.yaml"), {}) is None
    with pytest.raises(ConfigError, match="file not found"):
        load_routing_config(str(tmp_path / "none.yaml"), {}, required=True)


def test_config_path_comes_from_the_environment(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text("rules:\n  - name: all\n    route: {model: claude-haiku-4-5}\n")
    assert Config.from_env({"CONFIG_PATH": str(path)}).routing.rules[0].name == "all"
    with pytest.raises(ConfigError, match="missing.yaml: file not found"):
        Config.from_env({"CONFIG_PATH": str(tmp_path / "missing.yaml")})
    path.write_text("rules:\n  - name: all\n    route: {model: [a, b]}\n")
    with pytest.raises(ConfigError, match="routes.yaml line 3: expected a single value"):
        Config.from_env({"CONFIG_PATH": str(path)})


def test_the_example_file_is_valid():
    config = load_routing_config(str(REPO / "proxy.example.yaml"), {"LOCAL_LLM_KEY": "k", "GATEWAY_API_KEY": "g"},
                                 required=True)
    assert {rule.provider for rule in config.rules} == {"anthropic", "local", "gateway"}


def test_a_sticky_size_rule_is_warned_about(caplog):
    parse("rules:\n  - name: big\n    match: {input_tokens_above: 100}\n    route: {model: m}\n")
    assert "proxy.yaml line 2: rule 'big' is sticky" in caplog.text


def test_a_provider_may_declare_its_prices_with_the_usual_cache_ratios_by_default():
    config = parse_routing_config("providers:\n  local:\n    kind: openai\n    base_url: http://h/v1\n    prices:\n"
                                  "      qwen3-coder-30b: {input: 0.2, output: 0.8, cache_read: 0.01}\n", {})
    [(model, rates)] = config.providers[0].prices
    assert model == "qwen3-coder-30b"
    assert (rates.input, rates.output, rates.cache_read) == (0.2, 0.8, 0.01)
    assert (rates.cache_write_5m, rates.cache_write_1h) == pytest.approx((0.25, 0.4))


@pytest.mark.parametrize("prices, message", [
    ("      m: {input: 1}\n", "line 6: prices of 'm' need input and output"),
    ("      m: {input: 1, output: free}\n", "line 6: output must be a number >= 0"),
    ("      m: {input: 1, output: 2, cache: 1}\n", "line 6: unknown key 'cache' in prices of 'm'"),
])
def test_bad_provider_prices_name_the_line(prices, message):
    assert message in error_of("providers:\n  local:\n    kind: openai\n    base_url: http://h/v1\n    prices:\n" + prices)
