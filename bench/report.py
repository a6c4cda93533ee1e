"""Summaries and plain-text tables: percentiles of samples, ratios, differences, aligned columns."""
import math

PERCENTILES = (50, 95, 99)


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0-100) of `values`, linearly interpolated between ranks; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values, scale: float = 1.0) -> dict:
    """p50/p95/p99, mean, max and count of `values`, each divided by `scale` (e.g. µs to ms with 1000)."""
    values = [v / scale for v in values if v is not None]
    result = {f"p{q}": percentile(values, q) for q in PERCENTILES}
    result["mean"] = sum(values) / len(values) if values else None
    result["max"] = max(values) if values else None
    result["n"] = len(values)
    return result


def added(proxy: dict, direct: dict) -> dict:
    """Percentile by percentile, what the proxy adds (proxy minus direct; the runs are not paired)."""
    return {key: _binary(proxy.get(key), direct.get(key), lambda a, b: a - b) for key in _keys()}


def ratio(proxy: dict, direct: dict) -> dict:
    """Percentile by percentile, proxy divided by direct."""
    return {key: _binary(proxy.get(key), direct.get(key), lambda a, b: a / b if b else None)
            for key in _keys()}


def _keys():
    return [f"p{q}" for q in PERCENTILES]


def _binary(a, b, op):
    return None if a is None or b is None else op(a, b)


def fmt(value, digits: int = 2) -> str:
    """A number for a table cell; a dash when there is none."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def triple(stats: dict, digits: int = 2) -> str:
    """`p50 / p95 / p99` of a summary, for one table cell."""
    return " / ".join(fmt(stats.get(f"p{q}"), digits) for q in PERCENTILES)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Rows under headers, columns padded to their widest cell; first column left-aligned, others right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
                         for index, (cell, width) in enumerate(zip(cells, widths)))

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule] + [line(row) for row in rows])
