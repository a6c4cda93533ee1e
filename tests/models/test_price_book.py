"""The price file: the repository's book, PRICES_PATH laid over it, and errors that name the line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import Config
from models.price_book import DEFAULT_PATH, PriceBookError, load_price_book, parse_price_book

ROOT = Path(__file__).resolve().parents[2]


def error_of(text: str) -> str:
    with pytest.raises(PriceBookError) as caught:
        parse_price_book(text, source="prices.yaml")
    return str(caught.value)


def test_the_repository_book_follows_the_published_ratios_and_says_where_it_comes_from():
    book = load_price_book()
    assert {"claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4"} <= set(book.families)
    for rows in book.families.values():
        for row in rows:
            assert row.rates.cache_write_1h == pytest.approx(2 * row.rates.input)
            # Claude Haiku 3's published 5-minute write is rounded: $0.30, not $0.3125.
            assert row.rates.cache_write_5m == pytest.approx(1.25 * row.rates.input, rel=0.05)
    header = DEFAULT_PATH.read_text()[:1500]
    assert "platform.claude.com/docs/en/about-claude/pricing" in header and "PRICES_PATH" in header
    assert book.thresholds() == [200_000] and book.web_search_per_1000 == 10.0


@pytest.mark.parametrize("text, message", [
    ("models:\n  m:\n    - from: 2026-01-01\n      input: 1\n      output: [2]\n", "line 5: expected a single value"),
    ("models:\n  m:\n    - from: 2026-01-01\n      input: cheap\n      output: 2\n", "line 4: input must be a number"),
    ("models:\n  m:\n    - from: 2026-01-01\n      input: -1\n      output: 2\n", "line 4: input must be a number >= 0"),
    ("models:\n  m:\n    - from: soon\n      input: 1\n      output: 2\n", "line 3: from must be a date"),
    ("models:\n  m:\n    - input: 1\n      output: 2\n", "line 3: a row of 'm' needs 'from'"),
    ("models:\n  m:\n    - from: 2026-01-01\n      input: 1\n      output: 2\n      ouput: 3\n",
     "line 6: unknown key 'ouput'"),
    ("models:\n  m: {input: 1}\n", "line 2: model 'm' needs a list of dated rows"),
    ("models:\n  claude-x-20260101:\n    - {from: 2026-01-01, input: 1, output: 2}\n",
     "line 3: model 'claude-x-20260101': name the family without date"),
    ("models:\n  m:\n    - {from: 2026-01-01, input: 1, output: 2}\n    - {from: 2026-01-01, input: 2, output: 2}\n",
     "line 3: model 'm' has two rows from the same date"),
    ("models:\n  m:\n    - from: 2026-01-01\n      input: 1\n      output: 2\n      long_context: {above: 1.5, input: 2,"
     " output: 3}\n", "line 6: above must be a whole number"),
    ("models:\n  m:\n    - {from: 2026-01-01, input: 1, output: 2, long_context: {above: 10}}\n",
     "line 3: long_context needs above, input and output"),
    ("web_search_per_1000: free\n", "line 1: web_search_per_1000 must be a number"),
    ("models: [\n", "line 2"),
    ("prices: {}\n", "line 1: unknown key 'prices' in the file"),
    ("", "prices.yaml: the file is empty"),
])
def test_invalid_files_are_refused_naming_the_line(text, message):
    assert message in error_of(text)


def test_prices_path_replaces_the_models_it_names_and_reprices_from_the_next_start(tmp_path):
    path = tmp_path / "my-prices.yaml"
    path.write_text("web_search_per_1000: 12\nmodels:\n  claude-sonnet-4-5:\n    - {from: 2025-09-29, input: 2, output: 9}\n"
                    "  house-model:\n    - {from: 2026-01-01, input: 0.5, output: 1}\n")
    book = Config.from_env({"PRICES_PATH": str(path)}).prices
    sonnet = book.row_for("claude-sonnet-4-5-20250929", 1_800_000_000_000)
    assert (sonnet.rates.input, sonnet.rates.cache_read, sonnet.long_context) == (2.0, pytest.approx(0.2), None)
    assert book.row_for("house-model", 1_800_000_000_000).rates.output == 1.0
    assert book.row_for("claude-haiku-4-5", 1_800_000_000_000).rates.input == 1.0, "the rest of the book stays"
    assert book.web_search_per_1000 == 12.0 and book.sources[-1] == str(path)


def test_a_bad_prices_path_stops_the_start_with_the_file_and_line(tmp_path):
    with pytest.raises(PriceBookError, match="gone.yaml: file not found"):
        Config.from_env({"PRICES_PATH": str(tmp_path / "gone.yaml")})
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  m:\n    - {from: 2026-01-01, input: 1, output: lots}\n")
    done = subprocess.run([sys.executable, "app.py", "init-db"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PRICES_PATH": str(path), "CONFIG_PATH": "",
                               "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 1
    assert f"{path} line 3: output must be a number >= 0" in done.stderr
    assert "Traceback" not in done.stderr
