"""What a Claude Code session cost, from its transcript: each API message priced once, at its model and time."""
from models.pricing import Charge, Cost, Pricing, Tokens


def thread_cost(pricing: Pricing, entries) -> Cost:
    """The cost of a thread's API messages (transcript entries repeat a message's usage on each of its lines)."""
    messages = {}
    for entry in entries:
        if entry.type == "assistant" and isinstance(entry.usage, dict) and entry.message_id:
            messages[entry.message_id] = entry
    total = Cost()
    for entry in messages.values():
        total += message_cost(pricing, entry.model, entry.timestamp_ms, {**entry.usage, **(entry.usage_detail or {})})
    return total


def message_cost(pricing: Pricing, model: str | None, at_ms: int | None, usage: dict) -> Cost:
    """The cost of one API message of a transcript from its `usage` object, at its model and time."""
    tier = usage.get("service_tier") if isinstance(usage.get("service_tier"), str) else None
    geo = usage.get("inference_geo") if isinstance(usage.get("inference_geo"), str) else None
    speed = usage.get("speed") if isinstance(usage.get("speed"), str) else None
    return pricing.cost(Tokens.of_usage(usage), Charge(model, at_ms or 0, None, geo, speed, tier))


def session_costs(pricing: Pricing, thread, unmatched) -> dict:
    """Cost per thread of a session: None for the main thread, each subagent's id for its own (nested ones too)."""
    costs = {None: thread_cost(pricing, thread.entries)}
    pending = [sub for entry in thread.entries for sub in entry.subagents] + list(unmatched)
    while pending:
        sub = pending.pop()
        if sub.agent_id not in costs:
            costs[sub.agent_id] = thread_cost(pricing, sub.entries)
            pending += [nested for entry in sub.entries for nested in entry.subagents]
    return costs
