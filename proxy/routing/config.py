"""The routing config file (YAML): providers and ordered rules, validated with errors naming the line."""
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

from models.price_book import RATE_KINDS, Rates, rates_with_defaults
from models.yaml_nodes import NodeReader
from proxy.routing.rules import DEFAULT_PROVIDER, Match, Rule

log = logging.getLogger(__name__)

PROVIDER_KINDS = ("anthropic", "openai")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a key may be in a header
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PROVIDER_KEYS = ("kind", "base_url", "api_key", "prices")
_RULE_KEYS = ("name", "match", "route", "sticky")
_MATCH_KEYS = ("model", "subagent", "thinking", "input_tokens_above", "tools", "tool", "headers")


class ConfigError(ValueError):
    """The routing config file is invalid; the message names the file and line."""


@dataclass(frozen=True)
class ProviderConfig:
    """A provider declared in the file: an Anthropic-kind or OpenAI-compatible endpoint."""

    name: str
    kind: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)  # never printed with the config
    prices: tuple[tuple[str, Rates], ...] = ()  # (model, rates per million tokens) the provider charges


@dataclass(frozen=True)
class RoutingConfig:
    """Everything the file declares: providers by name and the rules, in order."""

    providers: tuple[ProviderConfig, ...] = ()
    rules: tuple[Rule, ...] = ()

    def target_models(self) -> list[tuple[str, str]]:
        """(model, provider) of every rule's target model, each once, in rule order."""
        seen = {}
        for rule in self.rules:
            if rule.model and rule.model not in seen:
                seen[rule.model] = rule.provider
        return list(seen.items())


def load_routing_config(path: str, env, required: bool = False) -> RoutingConfig | None:
    """Read and validate the file at `path`; None when it is absent and not `required`."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: file not found (CONFIG_PATH)") from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_routing_config(text, env, source=path)


def parse_routing_config(text: str, env, source: str = "proxy.yaml") -> RoutingConfig:
    """Validate config text; `${VAR}` references in values are taken from `env`."""
    return _Reader(text, env, source).read()


class _Reader(NodeReader):
    """The routing file's node tree read into a RoutingConfig; `${VAR}` in a value comes from `env`."""

    error = ConfigError

    def __init__(self, text: str, env, source: str):
        super().__init__(text, source)
        self.env = env

    def walk(self, root) -> RoutingConfig:
        if root is None:
            return RoutingConfig()
        top = self.mapping(root, ("providers", "rules"), "the file")
        providers = self.providers(top["providers"]) if "providers" in top else {}
        rules = self.rules(top["rules"], providers) if "rules" in top else ()
        return RoutingConfig(tuple(providers.values()), rules)

    def scalar(self, node):
        value = super().scalar(node)
        return self.expand(node, value) if isinstance(value, str) else value

    def expand(self, node, value: str) -> str:
        def lookup(match):
            name = match.group(1)
            if name not in self.env:
                raise self.fail(node, f"environment variable {name} is not set")
            return self.env[name]
        return _ENV_REFERENCE.sub(lookup, value)

    def boolean(self, node, what: str) -> bool:
        value = self.scalar(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false")
        return value

    def strings(self, node, what: str) -> tuple[str, ...]:
        """One string or a list of them."""
        if isinstance(node, yaml.SequenceNode):
            if not node.value:
                raise self.fail(node, f"{what} must not be an empty list")
            return tuple(self.string(item, what) for item in node.value)
        return (self.string(node, what),)

    def providers(self, node) -> dict[str, ProviderConfig]:
        providers = {}
        for name, value in self.mapping(node, None, "providers").items():
            if name == DEFAULT_PROVIDER:
                raise self.fail(value, f"the provider name {DEFAULT_PROVIDER!r} is reserved for UPSTREAM_URL")
            fields = self.mapping(value, _PROVIDER_KEYS, f"provider {name!r}")
            if "kind" not in fields or "base_url" not in fields:
                raise self.fail(value, f"provider {name!r} needs a kind and a base_url")
            kind = self.string(fields["kind"], "kind")
            if kind not in PROVIDER_KINDS:
                raise self.fail(fields["kind"], f"kind must be one of: {', '.join(PROVIDER_KINDS)} (not {kind!r})")
            base_url = self.string(fields["base_url"], "base_url")
            if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
                raise self.fail(fields["base_url"], f"base_url must be an http(s) URL (not {base_url!r})")
            api_key = self.string(fields["api_key"], "api_key") if "api_key" in fields else None
            if api_key is not None and not _HEADER_SAFE.fullmatch(api_key):
                # Not quoted: it is a secret. A header cannot carry it, and every request would fail.
                raise self.fail(fields["api_key"], "api_key has a space, line break or other character "
                                                   "a header cannot carry (a stray newline in the variable?)")
            prices = self.prices(fields["prices"]) if "prices" in fields else ()
            providers[name] = ProviderConfig(name, kind, base_url, api_key, prices)
        return providers

    def prices(self, node) -> tuple[tuple[str, Rates], ...]:
        """model -> {input, output, cache_read, cache_write_5m, cache_write_1h} in USD per million tokens."""
        prices = []
        for model, value in self.mapping(node, None, "prices").items():
            fields = self.mapping(value, RATE_KINDS, f"prices of {model!r}")
            if "input" not in fields or "output" not in fields:
                raise self.fail(value, f"prices of {model!r} need input and output")
            prices.append((model, rates_with_defaults({kind: self.number(node, kind) for kind, node in fields.items()})))
        return tuple(prices)

    def rules(self, node, providers: dict[str, ProviderConfig]) -> tuple[Rule, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, "rules must be a list")
        rules, names = [], set()
        for item in node.value:
            fields = self.mapping(item, _RULE_KEYS, "a rule")
            if "name" not in fields or "route" not in fields:
                raise self.fail(item, "a rule needs a name and a route")
            name = self.string(fields["name"], "name")
            if name in names:
                raise self.fail(fields["name"], f"two rules are named {name!r}")
            names.add(name)
            match = self.match(fields["match"]) if "match" in fields else Match()
            provider, model = self.route(fields["route"], providers)
            sticky = self.boolean(fields["sticky"], "sticky") if "sticky" in fields else True
            if sticky and match.input_tokens_above is not None:
                log.warning("%s line %d: rule %r is sticky, so a session that starts small never reaches it "
                            "(add sticky: false to check it on every request)",
                            self.source, item.start_mark.line + 1, name)
            rules.append(Rule(name, match, provider, model, sticky))
        return tuple(rules)

    def route(self, node, providers) -> tuple[str, str | None]:
        fields = self.mapping(node, ("provider", "model"), "route")
        provider = self.string(fields["provider"], "provider") if "provider" in fields else DEFAULT_PROVIDER
        if provider != DEFAULT_PROVIDER and provider not in providers:
            raise self.fail(fields["provider"], f"no provider named {provider!r} is declared")
        model = self.string(fields["model"], "model") if "model" in fields else None
        if model is None and provider in providers and providers[provider].kind == "openai":
            raise self.fail(node, f"a route to the openai provider {provider!r} needs a model")
        if model is None and provider == DEFAULT_PROVIDER:
            raise self.fail(node, "a route needs a model, a provider or both")
        return provider, model

    def match(self, node) -> Match:
        fields = self.mapping(node, _MATCH_KEYS, "match")
        flags = {key: self.boolean(fields[key], key) for key in ("subagent", "thinking", "tools") if key in fields}
        above = None
        if "input_tokens_above" in fields:
            above = self.scalar(fields["input_tokens_above"])
            if not isinstance(above, int) or isinstance(above, bool) or above < 0:
                raise self.fail(fields["input_tokens_above"], "input_tokens_above must be a whole number >= 0")
        headers = ()
        if "headers" in fields:
            headers = tuple((name.lower(), self.string(value, f"header {name}"))
                            for name, value in self.mapping(fields["headers"], None, "headers").items())
        return Match(models=self.strings(fields["model"], "model") if "model" in fields else None,
                     tool_names=self.strings(fields["tool"], "tool") if "tool" in fields else None,
                     input_tokens_above=above, headers=headers, **flags)
