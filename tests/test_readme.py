"""The README tells the truth: its config example loads, its settings table lists every setting, its map
names only folders and modules that exist."""
import re
from pathlib import Path

import pytest

from app import Config
from proxy.routing.config import load_routing_config

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLE_KEYS = {"GATEWAY_API_KEY": "gateway-key", "LOCAL_LLM_KEY": "local-key"}


def settings_table() -> dict[str, str]:
    """Variable -> default column of the README's settings table."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]*) \|", README, re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def readme_routing_example() -> str:
    section = README[README.index("### Model routing"):]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.parametrize("source", ["README.md", "proxy.example.yaml"])
def test_the_documented_config_loads_through_the_real_loader(tmp_path, source):
    path = tmp_path / "proxy.yaml"
    path.write_text(readme_routing_example() if source == "README.md" else
                    (REPO / "proxy.example.yaml").read_text(encoding="utf-8"))
    config = Config.from_env({"CONFIG_PATH": str(path), **EXAMPLE_KEYS}).routing
    # What issue 5 asks the example to show: subagents and *haiku* to cheaper models, one agent
    # to an OpenAI-compatible server.
    assert [(rule.name, rule.provider, rule.model) for rule in config.rules] == [
        ("reviewer-to-local", "local", "qwen3-coder-30b"), ("subagents-to-haiku", "anthropic", "claude-haiku-4-5"),
        ("haiku-to-gateway", "gateway", "small-fast-model")]
    assert {(p.name, p.kind, p.api_key) for p in config.providers} == {
        ("gateway", "anthropic", "gateway-key"), ("local", "openai", "local-key")}


def test_the_readme_example_is_the_example_file(tmp_path):
    configs = []
    for name, text in (("readme.yaml", readme_routing_example()),
                       ("example.yaml", (REPO / "proxy.example.yaml").read_text(encoding="utf-8"))):
        (tmp_path / name).write_text(text)
        configs.append(load_routing_config(str(tmp_path / name), EXAMPLE_KEYS, required=True))
    assert configs[0] == configs[1]


class _Watched(dict):
    """An environment that remembers every variable asked for."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)


def test_every_setting_read_is_in_the_settings_table(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    env = _Watched({"CONFIG_PATH": str(tmp_path / "empty.yaml")})
    Config.from_env(env)
    gunicorn = re.findall(r"os\.environ\.get\([\"']([A-Z_]+)[\"']", (REPO / "gunicorn.conf.py").read_text())
    documented = settings_table()
    assert env.asked and gunicorn
    assert sorted((env.asked | set(gunicorn)) - set(documented)) == []


def test_the_table_gives_the_real_defaults():
    defaults, documented = Config(), settings_table()
    for name in ("UPSTREAM_CONNECT_TIMEOUT", "UPSTREAM_READ_TIMEOUT", "MAX_REQUEST_BODY", "UPSTREAM_POOL_SIZE",
                 "DRAIN_DELAY", "DRAIN_TIMEOUT", "RECORD_QUEUE_BYTES", "SPOOL_MAX_BYTES"):
        shown = re.match(r"`([0-9.]+)`", documented[name]).group(1)
        assert float(shown) == getattr(defaults, name.lower()), name
    assert documented["DATABASE_POOL_SIZE"].startswith("`1` in a gunicorn worker (`8` in a process without gevent)")
    assert documented["UPSTREAM_URL"] == f"`{defaults.upstream_url}`"
    assert documented["DATABASE_URL"] == f"`{defaults.database_url}`"


def layout_section() -> str:
    """The README's `## Layout` section: the folder tree and the way of one request."""
    start = README.index("\n## Layout\n")
    end = README.find("\n## ", start + 1)
    return README[start:] if end == -1 else README[start:end]


def named_paths(text: str) -> set[str]:
    """The folder (`name/`) and module (`name.py`) paths a text names; URL paths (`/v1/...`) are not."""
    tokens = (token.rstrip(".") for token in re.findall(r"[\w./-]+", text))
    return {token for token in tokens if token.endswith(("/", ".py")) and not token.startswith("/")}


def test_every_folder_and_module_the_layout_names_exists():
    paths = named_paths(layout_section())
    assert {"proxy/upstream/client.py", "proxy/relay.py", "proxy/recording/recorder.py"} <= paths
    missing = [path for path in sorted(paths)
               if not ((REPO / path).is_dir() if path.endswith("/") else (REPO / path).is_file())]
    assert missing == []


def test_the_layout_tree_has_a_line_for_every_package():
    tree = re.search(r"```\n(.*?)```", layout_section(), re.DOTALL).group(1)
    folders = {line.split()[0] for line in tree.splitlines() if line.strip()}
    top = {f"{init.parent.name}/" for init in REPO.glob("*/__init__.py")}
    nested = {f"{init.parent.relative_to(REPO).as_posix()}/" for source in ("proxy", "models")
              for init in (REPO / source).glob("*/**/__init__.py")}
    packages = top | nested | {".ci/"}
    assert {"proxy/", "proxy/routing/providers/", "models/transcripts/", "tests/"} <= packages
    assert sorted(packages - folders) == [], "packages the tree has no line for"
    assert sorted(folders - packages) == [], "lines of the tree that are no package"
