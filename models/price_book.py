"""The price book: dated per-model rows read from YAML (models/prices.yaml, or PRICES_PATH), and model ids.

Pure: no database, no Flask. Every complaint about a file names the file and line, as the
routing config's do; pricing.py turns a row and a request's tokens into money.
"""
import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models.yaml_nodes import NodeReader

DEFAULT_PATH = Path(__file__).resolve().parent / "prices.yaml"
RATE_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
# Cache prices left out of a row: what Anthropic charges on most models.
DEFAULT_RATIOS = {"cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2.0}
_ROW_KEYS = ("from", "aliases", *RATE_KINDS, "long_context", "inference_geo", "fast", "web_search_per_1000")
_TOP_KEYS = ("web_search_per_1000", "batch_multiplier", "models")

# Affixes of the same model on other platforms and in Claude Code's selector.
_BRACKETED = re.compile(r"\[[^\]]*\]$")                                 # claude-sonnet-4-5[1m]
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,6}(?:-[a-z]+)?\.)?anthropic\.")  # us.anthropic., global.anthropic.
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")                       # -v1:0
_DATE_SUFFIX = re.compile(r"(?:[-@]\d{8}|[-@]latest)$")                 # -20250929, @20250929, -latest
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")                        # claude-sonnet-4.5


class PriceBookError(ValueError):
    """The price file is invalid; the message names the file and line."""


def rates_with_defaults(values: dict) -> "Rates":
    """Rates from the kinds given (input and output at least); a cache price left out is its ratio of input."""
    return Rates(**{kind: values[kind] if kind in values else round(values["input"] * DEFAULT_RATIOS[kind], 10)
                    for kind in RATE_KINDS})


@dataclass(frozen=True)
class Rates:
    """US dollars per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


@dataclass(frozen=True)
class PriceRow:
    """The prices of one model family from a date on."""

    family: str
    from_ms: int
    rates: Rates
    long_context_above: int | None = None
    long_context: Rates | None = None
    inference_geo: tuple[tuple[str, float], ...] = ()
    fast: float | None = None
    web_search_per_1000: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceBook:
    """Rows per family (oldest first), book-wide fees, and the file(s) they came from."""

    families: dict = field(default_factory=dict)  # family -> tuple[PriceRow, ...]
    web_search_per_1000: float = 10.0
    batch_multiplier: float = 0.5
    sources: tuple[str, ...] = ()

    def family_of(self, model_id: str | None) -> str | None:
        """The book's family for a model id: the longest family (or alias) the normalised id names."""
        name = normalise_model_id(model_id)
        if not name:
            return None
        best = None
        for family, rows in self.families.items():
            for candidate in (family, *rows[-1].aliases):
                if _names(name, candidate) and (best is None or len(candidate) > len(best[1])):
                    best = (family, candidate)
        return best[0] if best else None

    def row_for(self, model_id: str | None, at_ms: int) -> PriceRow | None:
        """The row in force for `model_id` at `at_ms` (the oldest row for a request before it); None if unknown."""
        family = self.family_of(model_id)
        return None if family is None else self.row_in_force(family, at_ms)

    def row_in_force(self, family: str, at_ms: int) -> PriceRow:
        """The family's row in force at `at_ms` (its oldest row for a request before it)."""
        rows = self.families[family]
        in_force = [row for row in rows if row.from_ms <= at_ms]
        return in_force[-1] if in_force else rows[0]

    def thresholds(self) -> list[int]:
        """Every long-context threshold in the book, ascending (SQL buckets requests by them)."""
        return sorted({row.long_context_above for rows in self.families.values() for row in rows
                       if row.long_context_above is not None})

    def change_dates_ms(self) -> list[int]:
        """Every date a family's price changes (its second and later rows), ascending: between two
        of them no price changes (a request before a family's first row takes that row)."""
        return sorted({row.from_ms for rows in self.families.values() for row in rows[1:]})

    def overridden_by(self, other: "PriceBook") -> "PriceBook":
        """This book with `other`'s families replacing (or adding to) its own, and `other`'s fees."""
        return PriceBook({**self.families, **other.families}, other.web_search_per_1000,
                         other.batch_multiplier, self.sources + other.sources)


def _names(name: str, family: str) -> bool:
    # "claude-sonnet-4-5-thinking" names claude-sonnet-4-5; "claude-sonnet-4-7" does not name
    # claude-sonnet-4 (a newer version must stay unpriced, not take an older one's prices).
    if name == family:
        return True
    return name.startswith(family + "-") and not name[len(family) + 1:len(family) + 2].isdigit()


def normalise_model_id(model_id: str | None) -> str:
    """A model id without `[1m]`, date or `-latest` suffixes, Bedrock / Vertex affixes, lower case."""
    if not isinstance(model_id, str):
        return ""
    name = model_id.strip().lower()
    name = _BRACKETED.sub("", name)
    name = name.rsplit("/", 1)[-1]  # a Bedrock ARN, a Vertex publishers/anthropic/models/ path
    name = _BEDROCK_PREFIX.sub("", name)
    name = _BEDROCK_VERSION.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    return _DOTTED_VERSION.sub("-", name)


def load_price_book(override_path: str | None = None) -> PriceBook:
    """The repository's book, with the file at `override_path` (PRICES_PATH) laid over it."""
    book = read_price_file(DEFAULT_PATH)
    if override_path:
        book = book.overridden_by(read_price_file(override_path, required=True))
    return book


def read_price_file(path, required: bool = False) -> PriceBook:
    """Read and validate one price file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PriceBookError(f"{path}: file not found (PRICES_PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceBookError(f"{path}: cannot be read: {exc}") from None
    return parse_price_book(text, source=str(path))


def parse_price_book(text: str, source: str = "prices.yaml") -> PriceBook:
    """Validate price-file text."""
    return _Reader(text, source).read()


class _Reader(NodeReader):
    """The price file's node tree read into a PriceBook."""

    error = PriceBookError

    def walk(self, root) -> PriceBook:
        if root is None:
            raise PriceBookError(f"{self.source}: the file is empty")
        return self.book(root)

    def book(self, root) -> PriceBook:
        top = self.mapping(root, _TOP_KEYS, "the file")
        defaults = PriceBook()
        fee = self.number(top["web_search_per_1000"], "web_search_per_1000") if "web_search_per_1000" in top \
            else defaults.web_search_per_1000
        batch = self.number(top["batch_multiplier"], "batch_multiplier") if "batch_multiplier" in top \
            else defaults.batch_multiplier
        families = {}
        for family, node in (self.mapping(top["models"], None, "models").items() if "models" in top else ()):
            if normalise_model_id(family) != family.lower():
                raise self.fail(node, f"model {family!r}: name the family without date, [1m] or platform affixes "
                                      f"({normalise_model_id(family)!r})")
            families[family.lower()] = self.rows(family.lower(), node)
        return PriceBook(families, fee, batch, (self.source,))

    def rows(self, family: str, node) -> tuple[PriceRow, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, f"model {family!r} needs a list of dated rows (- from: YYYY-MM-DD ...)")
        rows = sorted((self.row(family, item) for item in node.value), key=lambda row: row.from_ms)
        for earlier, later in zip(rows, rows[1:]):
            if earlier.from_ms == later.from_ms:
                raise self.fail(node, f"model {family!r} has two rows from the same date")
        return tuple(rows)

    def row(self, family: str, node) -> PriceRow:
        fields = self.mapping(node, _ROW_KEYS, f"a row of {family!r}")
        for required in ("from", "input", "output"):
            if required not in fields:
                raise self.fail(node, f"a row of {family!r} needs {required!r}")
        above, long_rates = None, None
        if "long_context" in fields:
            tier = self.mapping(fields["long_context"], ("above", *RATE_KINDS), "long_context")
            if "above" not in tier or "input" not in tier or "output" not in tier:
                raise self.fail(fields["long_context"], "long_context needs above, input and output")
            above = self.number(tier["above"], "above", whole=True)
            long_rates = self.rates(tier)
        geo = tuple((name.lower(), self.number(value, f"inference_geo {name}"))
                    for name, value in self.mapping(fields["inference_geo"], None, "inference_geo").items()) \
            if "inference_geo" in fields else ()
        aliases = tuple(self.string(item, "an alias").lower() for item in fields["aliases"].value) \
            if isinstance(fields.get("aliases"), yaml.SequenceNode) else ()
        if "aliases" in fields and not isinstance(fields["aliases"], yaml.SequenceNode):
            raise self.fail(fields["aliases"], "aliases must be a list")
        return PriceRow(family, self.date_ms(fields["from"]), self.rates(fields), above, long_rates, geo,
                        self.number(fields["fast"], "fast") if "fast" in fields else None,
                        self.number(fields["web_search_per_1000"], "web_search_per_1000")
                        if "web_search_per_1000" in fields else None, aliases)

    def rates(self, fields: dict) -> Rates:
        return rates_with_defaults({kind: self.number(node, kind) for kind, node in fields.items() if kind in RATE_KINDS})

    def date_ms(self, node) -> int:
        value = self.scalar(node)
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                raise self.fail(node, f"from must be a date, YYYY-MM-DD (not {value!r})") from None
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise self.fail(node, f"from must be a date, YYYY-MM-DD (not {value!r})")
        start = datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.timezone.utc)
        return int(start.timestamp() * 1000)
