"""Deeply nested JSON texts, for the tests that feed them to every decoder of stored or posted JSON."""

DEPTHS = (5_000, 100_000)  # far past Python's recursion limit, where json.loads raises RecursionError


def arrays(depth: int) -> str:
    """`depth` nested empty lists."""
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    """`depth` nested one-key objects around a 1."""
    return '{"a":' * depth + "1" + "}" * depth
