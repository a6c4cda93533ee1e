"""Routing rules: which provider and model a request goes to, first match wins, sessions kept steady."""
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fnmatch import fnmatchcase

from proxy.request_info import RequestInfo

AGENT_HEADER = "x-claude-code-agent-id"
DEFAULT_PROVIDER = "anthropic"  # the upstream of UPSTREAM_URL
MAX_PINNED_SESSIONS = 10_000


@dataclass(frozen=True)
class Match:
    """The conditions of a rule; every condition given must hold (None means "any")."""

    models: tuple[str, ...] | None = None       # globs, case-insensitive, any may match
    subagent: bool | None = None
    thinking: bool | None = None
    input_tokens_above: int | None = None
    tools: bool | None = None
    tool_names: tuple[str, ...] | None = None   # any of these tools is offered
    headers: tuple[tuple[str, str], ...] = ()   # (name, value glob) pairs, all must match

    def holds(self, info: RequestInfo, headers) -> bool:
        """True when the request (its body facts and headers) meets every condition."""
        if self.models is not None and not any(
                fnmatchcase((info.model or "").lower(), pattern.lower()) for pattern in self.models):
            return False
        if self.subagent is not None and bool(headers.get(AGENT_HEADER)) != self.subagent:
            return False
        if self.thinking is not None and info.thinking != self.thinking:
            return False
        if self.input_tokens_above is not None and info.input_tokens_estimate <= self.input_tokens_above:
            return False
        if self.tools is not None and bool(info.tool_names) != self.tools:
            return False
        if self.tool_names is not None and not set(self.tool_names) & set(info.tool_names):
            return False
        return all(fnmatchcase(headers.get(name) or "", pattern) for name, pattern in self.headers)


@dataclass(frozen=True)
class Rule:
    """A named rule: when `match` holds, send the request to `provider` as `model`."""

    name: str
    match: Match
    provider: str = DEFAULT_PROVIDER
    model: str | None = None   # None keeps the requested model
    sticky: bool = True        # False: checked on every request, even in a session already routed


@dataclass(frozen=True)
class Route:
    """A routing decision: the rule that fired and where the request goes."""

    rule: str
    provider: str
    model: str | None


class Router:
    """Applies the ordered rules; remembers (in memory, bounded) how each session was routed.

    Switching models mid-conversation breaks thinking signatures and prompt caches, so the
    first decision for a conversation (session, agent, requested model) holds for its lifetime,
    pass-through included; only a rule marked `sticky: false` overrides it, whenever it matches.
    """

    def __init__(self, rules: tuple[Rule, ...], max_sessions: int = MAX_PINNED_SESSIONS):
        self.rules = rules
        self.max_sessions = max_sessions
        self._pins: OrderedDict[tuple, Route | None] = OrderedDict()
        self._lock = threading.Lock()  # gevent never switches in here; threaded servers can

    def route(self, info: RequestInfo, headers) -> Route | None:
        """The route for this request, or None to pass it through unchanged."""
        rule = next((rule for rule in self.rules if rule.match.holds(info, headers)), None)
        fresh = Route(rule.name, rule.provider, rule.model) if rule else None
        if rule is not None and not rule.sticky:
            return fresh
        if not info.session_id:
            return fresh
        key = (info.session_id, headers.get(AGENT_HEADER), info.model)
        with self._lock:
            if key in self._pins:
                self._pins.move_to_end(key)
                return self._pins[key]
            self._pins[key] = fresh
            if len(self._pins) > self.max_sessions:
                self._pins.popitem(last=False)  # the longest-idle conversation is forgotten first
        return fresh

    @property
    def pinned(self) -> int:
        """How many conversations have a remembered route."""
        return len(self._pins)
