"""What tokens cost: a request's (or a group of like requests') tokens priced by the row in force. Pure.

A long-context tier covers the whole request: the prompt (input + cache read + cache writes)
decides, then every token, output included, is priced at the tier's rates. A model the book does
not know is unpriced (its tokens counted apart), never priced at zero.
"""
import json
from dataclasses import dataclass, field

from models.price_book import PriceBook, PriceRow, Rates, normalise_model_id

PER_MILLION = 1_000_000
COST_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "web_search")
DEFAULT_PROVIDER = "anthropic"
MAX_COUNT = 2 ** 63  # what the record's BIGINT token columns hold


@dataclass(frozen=True)
class Tokens:
    """Token counts of one request or the sum over a group; `estimated_writes` (part of
    cache_write_5m) are writes whose 5m/1h split was not recorded."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    estimated_writes: int = 0
    web_searches: int = 0

    def __add__(self, other: "Tokens") -> "Tokens":
        # Spelled out: a breakdown by session adds tens of thousands of these.
        return Tokens(self.input + other.input, self.output + other.output, self.cache_read + other.cache_read,
                      self.cache_write_5m + other.cache_write_5m, self.cache_write_1h + other.cache_write_1h,
                      self.estimated_writes + other.estimated_writes, self.web_searches + other.web_searches)

    @property
    def prompt(self) -> int:
        """What decides a long-context tier: input, cache read and cache writes."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        """Every token, as the dashboard counts them."""
        return self.prompt + self.output

    @classmethod
    def of_columns(cls, input_tokens, output_tokens, cache_read, cache_creation, write_1h, write_5m=None,
                   web_searches=0) -> "Tokens":
        """From a record's columns: without a recorded split, every write counts as a 5-minute write."""
        cache_creation = cache_creation or 0
        if write_1h is None:
            return cls(input_tokens or 0, output_tokens or 0, cache_read or 0, cache_creation, 0,
                       cache_creation, web_searches or 0)
        five = write_5m if write_5m is not None else max(0, cache_creation - write_1h)
        return cls(input_tokens or 0, output_tokens or 0, cache_read or 0, five, write_1h, 0, web_searches or 0)

    @classmethod
    def of_usage(cls, usage: dict) -> "Tokens":
        """From an API usage object (a transcript's): without `cache_creation`, writes count as 5-minute writes."""
        def count(value) -> int:
            # A count no BIGINT holds is no real one (a transcript is any file): priced, it would
            # overflow the float arithmetic and fail the whole conversation list.
            return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_COUNT else 0
        split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else None
        tools = usage.get("server_tool_use") if isinstance(usage.get("server_tool_use"), dict) else {}
        one_hour = count(split.get("ephemeral_1h_input_tokens")) if split is not None else None
        return cls.of_columns(count(usage.get("input_tokens")), count(usage.get("output_tokens")),
                              count(usage.get("cache_read_input_tokens")),
                              count(usage.get("cache_creation_input_tokens")), one_hour,
                              count(split.get("ephemeral_5m_input_tokens")) if split is not None else None,
                              count(tools.get("web_search_requests")))


@dataclass(frozen=True)
class Charge:
    """The circumstances that choose a price: who served which model when, and how."""

    model: str | None
    at_ms: int
    provider: str | None = None
    inference_geo: str | None = None
    speed: str | None = None
    service_tier: str | None = None
    iterations: str | None = None  # the record's JSON list, each iteration with its own model


@dataclass
class Cost:
    """Money by token kind (USD), and how sure it is; costs add up (`+`) over requests."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write_5m: float = 0.0
    cache_write_1h: float = 0.0
    web_search: float = 0.0
    cache_savings: float = 0.0  # what the cache reads would have cost more as input (not part of the total)
    requests: int = 0
    unpriced_requests: int = 0
    unpriced_tokens: int = 0
    estimated_requests: int = 0
    long_context_requests: int = 0
    unpriced_models: set = field(default_factory=set)

    @property
    def total(self) -> float:
        """The sum of every priced kind (COST_KINDS)."""
        return self.input + self.output + self.cache_read + self.cache_write_5m + self.cache_write_1h + self.web_search

    @property
    def priced(self) -> bool:
        """True when no part of it was left unpriced."""
        return self.unpriced_requests == 0

    def __add__(self, other: "Cost") -> "Cost":
        # Spelled out, like Tokens'; the model sets are shared while either is empty (never mutated).
        models = self.unpriced_models | other.unpriced_models if other.unpriced_models else self.unpriced_models
        return Cost(self.input + other.input, self.output + other.output, self.cache_read + other.cache_read,
                    self.cache_write_5m + other.cache_write_5m, self.cache_write_1h + other.cache_write_1h,
                    self.web_search + other.web_search, self.cache_savings + other.cache_savings,
                    self.requests + other.requests, self.unpriced_requests + other.unpriced_requests,
                    self.unpriced_tokens + other.unpriced_tokens, self.estimated_requests + other.estimated_requests,
                    self.long_context_requests + other.long_context_requests, models)


@dataclass(frozen=True)
class ProviderPrices:
    """A routing provider's kind and the prices its config declares (model -> row)."""

    kind: str
    rows: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    """What one kind of request pays per token (`per` scales the per-million rates); no rates: unpriced."""

    rates: Rates | None
    per: float
    web_search_per_1000: float
    long_context: bool
    unpriced_model: str = ""

    def cost(self, tokens: Tokens, requests: int = 1) -> Cost:
        """The cost of `requests` such requests whose tokens add up to `tokens`."""
        rates, per = self.rates, self.per
        if rates is None:
            return Cost(requests=requests, unpriced_requests=requests, unpriced_tokens=tokens.total,
                        unpriced_models={self.unpriced_model})
        return Cost(input=tokens.input * rates.input * per, output=tokens.output * rates.output * per,
                    cache_read=tokens.cache_read * rates.cache_read * per,
                    cache_write_5m=tokens.cache_write_5m * rates.cache_write_5m * per,
                    cache_write_1h=tokens.cache_write_1h * rates.cache_write_1h * per,
                    web_search=tokens.web_searches * self.web_search_per_1000 / 1000, requests=requests,
                    cache_savings=tokens.cache_read * (rates.input - rates.cache_read) * per,
                    estimated_requests=requests if tokens.estimated_writes else 0,
                    long_context_requests=requests if self.long_context else 0)


class Pricing:
    """The book in force plus the routing providers' own prices."""

    def __init__(self, book: PriceBook, providers: dict | None = None):
        self.book = book
        self.providers = providers or {}
        self._families: dict = {}  # model id -> the book's family: a list page asks for the same few ids

    def _book_row(self, model: str | None, at_ms: int) -> PriceRow | None:
        if model not in self._families:
            if len(self._families) > 10_000:
                self._families.clear()
            self._families[model] = self.book.family_of(model)
        family = self._families[model]
        return None if family is None else self.book.row_in_force(family, at_ms)

    def row(self, model: str | None, provider: str | None, at_ms: int) -> PriceRow | None:
        """The row pricing `model` as served by `provider`; None when unpriced."""
        if provider in (None, "", DEFAULT_PROVIDER):
            return self._book_row(model, at_ms)
        declared = self.providers.get(provider)
        if declared is None:
            return None  # a provider the config no longer declares: what it charged is unknown
        own = declared.rows.get(normalise_model_id(model)) or declared.rows.get(model)
        if own is not None:
            return own
        return self._book_row(model, at_ms) if declared.kind == "anthropic" else None

    def cost(self, tokens: Tokens, charge: Charge, requests: int = 1, prompt: int | None = None) -> Cost:
        """The cost of `requests` requests alike in `charge` whose tokens add up to `tokens`;
        `prompt` (a group's) decides the tier instead of `tokens.prompt`."""
        if charge.iterations:
            itemised = _iterations(charge.iterations)
            if itemised:
                return self._iterations_cost(itemised, tokens, charge, requests)
        return self.quote(charge, tokens.prompt if prompt is None else prompt).cost(tokens, requests)

    def quote(self, charge: Charge, prompt: int) -> "Quote":
        """The rates that price requests alike in `charge` (iterations aside) whose prompt is `prompt` tokens."""
        row = self.row(charge.model, charge.provider, charge.at_ms)
        factor = None if row is None else self._factor(row, charge)
        if row is None or factor is None:
            return Quote(None, 0.0, 0.0, False, charge.model or "unknown")
        long_context = row.long_context_above is not None and prompt > row.long_context_above
        fee = row.web_search_per_1000 if row.web_search_per_1000 is not None else self.book.web_search_per_1000
        return Quote(row.long_context if long_context else row.rates, factor / PER_MILLION, fee, long_context)

    def _factor(self, row: PriceRow, charge: Charge) -> float | None:
        factor = 1.0
        if charge.inference_geo:
            factor *= dict(row.inference_geo).get(charge.inference_geo.lower(), 1.0)
        if charge.speed == "fast":
            if row.fast is None:
                return None  # fast mode on a model whose fast price the book does not know
            factor *= row.fast
        if charge.service_tier == "batch":
            factor *= self.book.batch_multiplier
        return factor

    def _iterations_cost(self, itemised: list, tokens: Tokens, charge: Charge, requests: int) -> Cost:
        # Each iteration (the executor's, an advisor's, a fallback's) at its own model's rates; the
        # request's web searches once, at the request's model.
        total = Cost()
        for item in itemised:
            model = item.get("model") or charge.model
            part = Tokens(item.get("input", 0), item.get("output", 0), item.get("cache_read", 0),
                          item.get("cache_write_5m", 0), item.get("cache_write_1h", 0))
            total += self.cost(part, Charge(model, charge.at_ms, charge.provider, charge.inference_geo,
                                            charge.speed, charge.service_tier))
        total += self.cost(Tokens(web_searches=tokens.web_searches), Charge(
            charge.model, charge.at_ms, charge.provider, charge.inference_geo, charge.speed, charge.service_tier))
        unpriced = requests if total.unpriced_requests else 0
        return Cost(**{kind: getattr(total, kind) for kind in COST_KINDS}, cache_savings=total.cache_savings,
                    requests=requests,
                    unpriced_requests=unpriced, unpriced_tokens=total.unpriced_tokens,
                    estimated_requests=requests if tokens.estimated_writes else 0,
                    long_context_requests=requests if total.long_context_requests else 0,
                    unpriced_models=total.unpriced_models)


def _iterations(text: str) -> list:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
