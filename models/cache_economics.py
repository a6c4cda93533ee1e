"""Prompt-cache health: hit rate, what the cache saved, and cache breaks with their probable cause. Pure.

A break is a request whose cache read fell to near zero although the previous request of the
same thread (session and subagent) on the same model had a warm prefix. Its probable cause is
checked in order: the model or provider that served it changed, the gap since that request was
longer than the prefix's time to live (5 minutes, or 1 hour when it was written as 1-hour
cache), the system prompt or the tools changed (hashes of the stored request's prefix).
"""
from dataclasses import dataclass, replace

from models.pricing import Charge, Pricing, Tokens

FIVE_MINUTES_MS = 5 * 60 * 1000
ONE_HOUR_MS = 60 * 60 * 1000
# A prefix this small is not worth calling warm (Anthropic caches nothing under 1,024 tokens).
WARM_TOKENS = 1024
# A read below this share of the previous prefix counts as having fallen to near zero.
COLD_SHARE = 0.05


@dataclass(frozen=True)
class Turn:
    """One request of a session as the break detector needs it (oldest first)."""

    request_id: str
    at_ms: int
    model: str | None                 # the requested model: a thread's caches are per model
    served_model: str | None = None   # the model that served it (routing may change it)
    provider: str | None = None
    agent: str | None = None
    tokens: Tokens = Tokens()
    system_hash: str | None = None    # None: unknown (bodies not stored)
    tools_hash: str | None = None


@dataclass(frozen=True)
class CacheBreak:
    """A request that lost its warm prefix, why, and what re-writing it cost over reading it."""

    turn: Turn
    previous: Turn
    cause: str   # model_or_provider_switched | idle_gap_5m | idle_gap_1h | system_changed | tools_changed | unknown
    lost_tokens: int
    cost: float | None  # None when the model is unpriced


def hit_rate(tokens: Tokens) -> float | None:
    """Cache reads over all input tokens (input + cache read + cache writes); None without input."""
    return tokens.cache_read / tokens.prompt if tokens.prompt else None


def savings(pricing: Pricing, tokens: Tokens, charge: Charge) -> float | None:
    """What the cache reads saved: their price at the input rate minus what they cost (None: unpriced)."""
    priced = pricing.cost(tokens, charge)
    return priced.cache_savings if priced.priced else None


def find_breaks(turns: list[Turn], pricing: Pricing | None = None, prefix_hashes=None) -> list[CacheBreak]:
    """The cache breaks of one session's requests; `prefix_hashes(request_id) -> (system, tools)` is
    asked, for a break no cheaper cause explains, for hashes the turns lack (reading stored bodies)."""
    detector = BreakDetector(pricing, prefix_hashes)
    found = (detector.feed(None, turn) for turn in sorted(turns, key=lambda t: (t.at_ms, t.request_id)))
    return [item for item in found if item is not None]


class BreakDetector:
    """find_breaks turn by turn, for the turns of any number of sessions fed in time order."""

    def __init__(self, pricing: Pricing | None = None, prefix_hashes=None):
        self.pricing, self.prefix_hashes = pricing, prefix_hashes
        self.last_of_thread: dict = {}  # (session, agent) -> its previous turn (any model)
        self.last_of_model: dict = {}   # (session, agent, model) -> its previous turn

    def feed(self, session, turn: Turn) -> CacheBreak | None:
        """The break `turn` (of `session`) is, if it is one."""
        thread = (session, turn.agent)
        previous = self.last_of_model.get((*thread, turn.model))
        before = self.last_of_thread.get(thread)
        found = None
        if previous is not None and _warm(previous) and _cold(turn, previous):
            lost = min(_prefix(previous), turn.tokens.prompt)
            cause = _cause(turn, previous, before)
            if cause == "unknown" and self.prefix_hashes is not None:
                turn, previous = _hashed(turn, self.prefix_hashes), _hashed(previous, self.prefix_hashes)
                cause = _cause(turn, previous, before)
            found = CacheBreak(turn, previous, cause, lost,
                               _break_cost(self.pricing, turn, lost) if self.pricing else None)
        self.last_of_thread[thread] = turn
        self.last_of_model[(*thread, turn.model)] = turn
        return found

    def copy(self) -> "BreakDetector":
        """A detector that goes on from here without changing this one."""
        twin = BreakDetector(self.pricing, self.prefix_hashes)
        twin.last_of_thread, twin.last_of_model = dict(self.last_of_thread), dict(self.last_of_model)
        return twin

    def forget_before(self, at_ms: int) -> None:
        """Drop the turns older than `at_ms`: a break they would be the previous turn of is not wanted."""
        for turns in (self.last_of_thread, self.last_of_model):
            for key in [key for key, turn in turns.items() if turn.at_ms < at_ms]:
                del turns[key]


def _hashed(turn: Turn, prefix_hashes) -> Turn:
    if turn.system_hash is not None and turn.tools_hash is not None:
        return turn
    system, tools = prefix_hashes(turn.request_id)
    return replace(turn, system_hash=system, tools_hash=tools)


def _prefix(turn: Turn) -> int:
    return turn.tokens.cache_read + turn.tokens.cache_write_5m + turn.tokens.cache_write_1h


def _warm(turn: Turn) -> bool:
    return _prefix(turn) >= WARM_TOKENS


def _cold(turn: Turn, previous: Turn) -> bool:
    return turn.tokens.cache_read < COLD_SHARE * _prefix(previous) and turn.tokens.prompt >= WARM_TOKENS


def _cause(turn: Turn, previous: Turn, before: Turn | None) -> str:
    if (turn.served_model, turn.provider) != (previous.served_model, previous.provider) or \
            (before is not None and before.model != turn.model):
        return "model_or_provider_switched"
    gap = turn.at_ms - previous.at_ms
    ttl = ONE_HOUR_MS if previous.tokens.cache_write_1h else FIVE_MINUTES_MS
    if gap > ttl:
        return "idle_gap_1h" if ttl == ONE_HOUR_MS else "idle_gap_5m"
    if None not in (turn.system_hash, previous.system_hash) and turn.system_hash != previous.system_hash:
        return "system_changed"
    if None not in (turn.tools_hash, previous.tools_hash) and turn.tools_hash != previous.tools_hash:
        return "tools_changed"
    return "unknown"


def _break_cost(pricing: Pricing, turn: Turn, lost: int) -> float | None:
    # What the request paid beyond reading the lost prefix: those tokens moved from writes (1-hour
    # first, as Claude Code writes), then plain input, back to cache reads.
    actual = pricing.cost(turn.tokens, Charge(turn.served_model or turn.model, turn.at_ms, turn.provider))
    if not actual.priced:
        return None
    tokens, left = turn.tokens, lost
    moved = {}
    for kind in ("cache_write_1h", "cache_write_5m", "input"):
        take = min(left, getattr(tokens, kind))
        moved[kind] = getattr(tokens, kind) - take
        left -= take
    warm = replace(tokens, **moved, cache_read=tokens.cache_read + lost - left,
                   estimated_writes=min(tokens.estimated_writes, moved["cache_write_5m"]))
    ideal = pricing.cost(warm, Charge(turn.served_model or turn.model, turn.at_ms, turn.provider),
                         prompt=tokens.prompt)
    return actual.total - ideal.total
