"""Spend over a range from the settled days and hours kept in memory (models/settled_spans.py):
per key, and per time bucket (a local day, an hour) made of whole hours."""
import bisect
from typing import Callable, Hashable

from models.costs import GroupSums, group_sums, priced
from models.pricing import Pricing
from models.settled_spans import HOUR_MS, SettledSpans


def spend(spans: SettledSpans, pricing: Pricing, shape: Hashable, base_of: Callable, key, start_ms: int,
          end_ms: int, checked: set | None = None) -> dict:
    """spend_by over [start_ms, end_ms) per `key` (an SQL expression aliased "c_key", or None);
    `base_of(a, b)` is the filtered query of [a, b), `shape` names the key and filters; `checked`
    as for SettledSpans.verify."""
    kept, left = spans.kept(shape, lambda a, b: group_sums(base_of(a, b), pricing, key), GroupSums, start_ms, end_ms,
                            checked=checked)
    total = GroupSums()
    for _, sums in kept:
        total.add(sums)
    for start, end in left:
        total.add(group_sums(base_of(start, end), pricing, key))
    return priced(total, pricing)


def spend_per_bucket(spans: SettledSpans, pricing: Pricing, shape: Hashable, base_of: Callable, edges: list[int],
                     key, checked: set | None = None) -> dict:
    """spend_by per bucket [edges[i], edges[i + 1]) as key i; `key` is the SQL of that index ("c_key").
    Kept hours are filed under their bucket; buckets that are not whole hours are read as they are.
    `checked` as for SettledSpans.verify."""
    if any(edge % HOUR_MS for edge in edges):  # a half-hour time zone, 30-minute buckets
        return priced(group_sums(base_of(edges[0], edges[-1]), pricing, key), pricing)
    kept, left = spans.kept(shape, lambda a, b: group_sums(base_of(a, b), pricing), GroupSums, edges[0], edges[-1],
                            days=False, checked=checked)
    total = GroupSums()
    for (start, _), sums in kept:
        total.add(sums.keyed(bisect.bisect_right(edges, start) - 1))
    for start, end in left:
        total.add(group_sums(base_of(start, end), pricing, key))
    return priced(total, pricing)
