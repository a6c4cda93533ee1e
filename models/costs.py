"""Cost at read time: tokens summed in SQL per group of like-priced requests, then priced per group.

Requests price alike when they share the serving model and provider, the price rows in force
(an interval between two dates the book changes), the long-context bucket of their prompt
(thresholds of the book), inference_geo, speed and service tier. So a million rows come back
as a few dozen groups, and a corrected price reprices all history without a migration. Rows
with iterations (each priced at its own model's rates) are few and priced one by one.
"""
import time
from dataclasses import dataclass, field

import peewee

from models.db import database
from models.pricing import Charge, Cost, Pricing, Tokens
from models.request_log import RequestLog

_MODEL = peewee.fn.COALESCE(RequestLog.routed_model, RequestLog.original_model)
_PROMPT = RequestLog.input_tokens + RequestLog.cache_read_input_tokens + RequestLog.cache_creation_input_tokens
_ONE_HOUR = peewee.fn.COALESCE(RequestLog.cache_write_1h_tokens, 0)
_ESTIMATED = peewee.Case(None, [(RequestLog.cache_write_1h_tokens.is_null(), RequestLog.cache_creation_input_tokens)], 0)
_SUMS = (peewee.fn.COUNT(peewee.SQL("*")).alias("requests"),  # not COUNT(id): the org index lacks id
         peewee.fn.SUM(RequestLog.input_tokens).alias("input"),
         peewee.fn.SUM(RequestLog.output_tokens).alias("output"),
         peewee.fn.SUM(RequestLog.cache_read_input_tokens).alias("cache_read"),
         peewee.fn.SUM(RequestLog.cache_creation_input_tokens).alias("cache_creation"),
         peewee.fn.SUM(_ONE_HOUR).alias("write_1h"),
         peewee.fn.SUM(_ESTIMATED).alias("estimated"),
         peewee.fn.SUM(RequestLog.web_search_requests).alias("searches"),
         # Response times ride along (the covering indexes hold them): the hourly view's mean needs no pass of its own.
         peewee.fn.SUM(RequestLog.response_time_ms).alias("time_sum"),
         peewee.fn.COUNT(RequestLog.response_time_ms).alias("timed"))
_DETAIL = (RequestLog.provider.alias("c_provider"), RequestLog.inference_geo.alias("c_geo"),
           RequestLog.speed.alias("c_speed"), RequestLog.service_tier.alias("c_tier_name"))


def _bucket(expression, edges: list[int], above: bool = False):
    # Index of the interval an expression falls in: for `above`, how many edges it exceeds.
    if not edges:
        return peewee.Value(0)
    if above:
        return peewee.Case(None, [(expression > edge, len(edges) - i) for i, edge in enumerate(reversed(edges))], 0)
    return peewee.Case(None, [(expression < edge, i) for i, edge in enumerate(edges)], len(edges))


def _plain(book):
    # Requests no factor or provider price applies to: nearly all of them, grouped on three keys
    # only (each key of a GROUP BY costs SQLite a comparison per row); the others, on every key.
    geos = sorted({name for rows in book.families.values() for row in rows for name, _ in row.inference_geo})
    geos += [name.upper() for name in geos]
    return ((RequestLog.provider.is_null() | (RequestLog.provider == "anthropic"))
            & (RequestLog.inference_geo.is_null() | RequestLog.inference_geo.not_in(geos or [""]))
            & (RequestLog.speed.is_null() | (RequestLog.speed != "fast"))
            & (RequestLog.service_tier.is_null() | (RequestLog.service_tier != "batch")))


@dataclass
class Spend:
    """The tokens of a group of requests, what they cost, and their response times (sum in ms, and
    how many requests had one)."""

    tokens: Tokens = field(default_factory=Tokens)
    cost: Cost = field(default_factory=Cost)
    time_sum_ms: int = 0
    timed: int = 0

    def __add__(self, other: "Spend") -> "Spend":
        return Spend(self.tokens + other.tokens, self.cost + other.cost, self.time_sum_ms + other.time_sum_ms,
                     self.timed + other.timed)


_SUM_NAMES = ("requests", "input", "output", "cache_read", "cache_creation", "write_1h", "estimated", "searches",
              "time_sum", "timed")
_GROUP_NAMES = ("c_key", "c_model", "c_epoch", "c_tier")


@dataclass
class GroupSums:
    """Token sums of like-priced requests before pricing: `plain` maps (key, model, epoch, tier) and
    `special` that plus (provider, geo, speed, service tier) to the sums named by _SUM_NAMES;
    `itemised` holds the requests with iterations, each priced alone as ((key, model), Spend)."""

    plain: dict = field(default_factory=dict)
    special: dict = field(default_factory=dict)
    itemised: list = field(default_factory=list)

    def add(self, other: "GroupSums") -> "GroupSums":
        """These sums plus `other`'s (`other` is left as it is)."""
        _add_sums(self.plain, other.plain)
        _add_sums(self.special, other.special)
        self.itemised.extend(other.itemised)
        return self

    def keyed(self, key) -> "GroupSums":
        """These sums with every group's key replaced by `key` (a span's sums filed under its bucket)."""
        return GroupSums({(key, *group[1:]): values for group, values in self.plain.items()},
                         {(key, *group[1:]): values for group, values in self.special.items()},
                         [((key, model), spend) for (_, model), spend in self.itemised])


def _add_sums(into: dict, parts: dict) -> None:
    for group, sums in parts.items():
        known = into.get(group)
        into[group] = sums if known is None else tuple(a + b for a, b in zip(known, sums))


def spend_by(base, pricing: Pricing, key=None) -> dict:
    """Spend per (value of `key`, serving model) over `base`; `key` is an SQL expression aliased
    "c_key" (None: the key is None)."""
    return priced(group_sums(base, pricing, key), pricing)


def group_sums(base, pricing: Pricing, key=None) -> GroupSums:
    """The token sums of `base`'s requests per key and kind of price, for `priced`."""
    book = pricing.book
    dates, thresholds = book.change_dates_ms(), book.thresholds()
    columns = [peewee.SQL("NULL") if key is None else key, _MODEL.alias("c_model"),
               _bucket(RequestLog.timestamp_ms, dates).alias("c_epoch"),
               _bucket(_PROMPT, thresholds, above=True).alias("c_tier")]
    # The key leads the GROUP BY: SQLite's sort compares it first, and a session id settles a
    # comparison sooner than model names sharing "claude-" (12 % off a week by session).
    groups = [peewee.SQL(f'"{name}"') for name in _GROUP_NAMES[key is None:]]
    special = ~_plain(book) | (RequestLog.iteration_count > 0)
    # One pass over every row, counting the rows a factor, a provider price or iterations apply to;
    # only when there are some does a second pass read them (on every key) and take their sums
    # off the first pass's groups: a second pass finding nothing cost as much as the first.
    flag = peewee.fn.SUM(peewee.Case(None, [(special, 1)], 0))
    sums = GroupSums()
    any_special = False
    for row in _yielding(database.execute(base.select(*columns, *_SUMS, flag).group_by(*groups))):
        sums.plain[row[:4]] = tuple(int(value or 0) for value in row[4:-1])  # Postgres sums: Decimal
        any_special = any_special or bool(row[-1])
    if any_special:
        _take_out_special(sums, base, columns, special, key, pricing)
    return sums


def _yielding(rows, every: int = 2_000):
    # A key with many values (a session each) makes tens of thousands of groups: under gevent the
    # worker's streams run between slices of them (time.sleep is gevent's there).
    for count, row in enumerate(rows, 1):
        yield row
        if count % every == 0:
            time.sleep(0)


def _take_out_special(sums: GroupSums, base, columns, special, key, pricing: Pricing) -> None:
    # Moves the special rows' sums from `plain` to `special` (integer sums: what is left is exactly
    # the plain rows' sums) and the rows with iterations to `itemised`.
    detail = (*_DETAIL, (RequestLog.iteration_count > 0).alias("c_items"))
    groups = [peewee.SQL(f'"{name}"') for name in _GROUP_NAMES[key is None:] + tuple(c._alias for c in detail)]
    itemised = False
    for row in database.execute(base.select(*columns, *detail, *_SUMS).where(special).group_by(*groups)):
        group, kind, taken = row[:4], row[4:8], tuple(int(value or 0) for value in row[9:])
        sums.plain[group] = tuple(a - b for a, b in zip(sums.plain[group], taken))
        if row[8]:
            itemised = True  # priced below, one by one
        else:
            _add_sums(sums.special, {group + kind: taken})
    sums.plain = {group: values for group, values in sums.plain.items() if values[0]}
    if itemised:
        for row, group in _itemised(base, key):
            timed = row.response_time_ms is not None
            sums.itemised.append(((group, row.routed_model or row.original_model),
                                  Spend(tokens_of(row), cost_of(row, pricing), row.response_time_ms or 0, int(timed))))


def priced(sums: GroupSums, pricing: Pricing) -> dict:
    """Spend per (key, serving model) of `group_sums`' result."""
    dates, thresholds = pricing.book.change_dates_ms(), pricing.book.thresholds()
    result: dict = {}
    quotes: dict = {}  # each kind of request's rates: tens of thousands of groups, a handful of kinds
    for groups in (sums.plain, sums.special):
        for group, values in _yielding(groups.items()):
            kind = group[1:]
            quote = quotes.get(kind)
            if quote is None:
                quote = quotes[kind] = _quote(pricing, kind, dates, thresholds)
            tokens = _tokens(values)
            _add(result, group[:2], Spend(tokens, quote.cost(tokens, values[0]), values[8], values[9]))
    for group, spend in sums.itemised:
        _add(result, group, spend)
    return result


def _quote(pricing: Pricing, kind: tuple, dates: list[int], thresholds: list[int]):
    # The rates of one kind of request: (model, epoch, tier[, provider, geo, speed, service tier]).
    model, epoch, tier = kind[0], int(kind[1]), int(kind[2])
    provider, geo, speed, tier_name = kind[3:] if len(kind) > 3 else (None,) * 4
    charge = Charge(model, dates[epoch - 1] if epoch else 0, provider, geo, speed, tier_name)
    return pricing.quote(charge, thresholds[tier - 1] + 1 if tier else 0)


def totals(spend: dict, by: str | None = "key") -> dict:
    """`spend_by`'s result folded per key ("key"), per model ("model"), or into one total (None)."""
    folded: dict = {}
    for (key, model), value in spend.items():
        _add(folded, key if by == "key" else model if by == "model" else None, value)
    return folded


def _add(result: dict, group, spend: Spend) -> None:
    result[group] = result[group] + spend if group in result else spend


def _tokens(values: tuple) -> Tokens:
    # `values` in _SUM_NAMES order.
    creation, one_hour = values[4], values[5]
    return Tokens(values[1], values[2], values[3], creation - one_hour, one_hour, values[6], values[7])


def _itemised(base, key):
    columns = [RequestLog] + ([key] if key is not None else [])
    query = base.select(*columns).where(RequestLog.iteration_count > 0)
    for row in query:
        yield row, (getattr(row, "c_key", None) if key is not None else None)


def charge_of(row) -> Charge:
    """The circumstances that price one record."""
    return Charge(row.routed_model or row.original_model, row.timestamp_ms, row.provider, row.inference_geo,
                  row.speed, row.service_tier, row.iterations)


def tokens_of(row) -> Tokens:
    """One record's tokens (writes without a recorded split as 5-minute writes)."""
    return Tokens.of_columns(row.input_tokens, row.output_tokens, row.cache_read_input_tokens,
                             row.cache_creation_input_tokens, row.cache_write_1h_tokens, row.cache_write_5m_tokens,
                             row.web_search_requests)


def cost_of(row, pricing: Pricing) -> Cost:
    """One record's cost (request detail and list rows)."""
    return pricing.cost(tokens_of(row), charge_of(row))
