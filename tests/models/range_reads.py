"""A range's base query that counts what it was asked for: tests of what is kept and what is read again."""
from models.queries import filtered_requests


class RangeReads:
    """The base query of [start_ms, end_ms), recording each range read in `ranges`."""

    def __init__(self):
        self.ranges = []

    def __call__(self, start_ms, end_ms):
        self.ranges.append((start_ms, end_ms))
        return filtered_requests(start_ms=start_ms, end_ms=end_ms)
