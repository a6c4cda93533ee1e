"""Application factory: configuration from the environment and the wiring of every part."""
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask
from gevent import monkey

import models
from api import bp as api_bp
from api.errors import register_error_handlers
from api.health import bp as health_bp
from api.metrics import bp as metrics_bp
from api.spec import build_spec
from dashboard import bp as dashboard_bp
from models.body_conversion import convert_batch, legacy_rows
from models.conversations import ConversationStore
from models.price_book import PriceBook, PriceRow, load_price_book, normalise_model_id
from models.pricing import Pricing, ProviderPrices
from models.settled_breaks import SettledBreaks
from models.settled_spans import SettledSpans
from models.settled_windows import SettledWindows
from proxy import ProxyService, Recorder, UpstreamClient
from proxy import bp as proxy_bp
from proxy.routing.dispatch import Dispatcher
from proxy.runtime.drain import Drain
from proxy.recording.retention import RetentionPruner
from proxy.routing.config import ConfigError, RoutingConfig, load_routing_config
from proxy.socket_relay import exposing_server_response

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "proxy.yaml"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")  # gunicorn's names


@dataclass(frozen=True)
class Config:
    """Every setting of the proxy; `from_env` is the only code that reads the environment."""

    upstream_url: str = "https://api.anthropic.com"
    database_url: str = "sqlite:///claude-code-proxy.db"
    upstream_connect_timeout: float = 10.0
    upstream_read_timeout: float = 600.0
    max_request_body: int = 32 * MIB
    upstream_pool_size: int = 1000
    database_pool_size: int | None = None  # None: 1 in a gevent worker, 8 elsewhere (see `pool_size`)
    dashboard_password: str | None = None
    metrics_token: str | None = None
    prometheus_multiproc_dir: str | None = None
    retention_days: float | None = None
    body_retention_days: float | None = None  # headers and bodies go earlier than the typed rows
    drain_delay: float = 0.0
    drain_timeout: float = 25.0
    record_queue_bytes: int = 256 * MIB
    spool_dir: str | None = None  # records the database did not take yet; None: beside the SQLite file, or ./record-spool
    spool_max_bytes: int = 4096 * MIB
    routing: RoutingConfig | None = None  # providers and rules from CONFIG_PATH (proxy.yaml)
    claude_projects_dir: str = "~/.claude/projects"
    log_level: str = "info"  # gunicorn.conf.py reads the same variable for gunicorn's own lines
    client_body_timeout: float = 60.0  # seconds for a request's whole body (headers: gunicorn.conf.py)
    allowed_origins: frozenset[str] = frozenset()  # web origins whose pages may call /v1
    prices: PriceBook | None = None  # the repository's price book with PRICES_PATH laid over it (None: the book alone)

    @classmethod
    def from_env(cls, env=None) -> "Config":
        """Build the config from environment variables, defaults for those unset."""
        env = os.environ if env is None else env
        defaults = cls()

        def get(name, cast, default):
            value = env.get(name)
            if value in (None, ""):
                return default
            try:
                return cast(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a valid {cast.__name__}") from None

        return cls(
            upstream_url=get("UPSTREAM_URL", str, defaults.upstream_url),
            database_url=get("DATABASE_URL", str, defaults.database_url),
            upstream_connect_timeout=get("UPSTREAM_CONNECT_TIMEOUT", float, defaults.upstream_connect_timeout),
            upstream_read_timeout=get("UPSTREAM_READ_TIMEOUT", float, defaults.upstream_read_timeout),
            max_request_body=get("MAX_REQUEST_BODY", int, defaults.max_request_body),
            upstream_pool_size=get("UPSTREAM_POOL_SIZE", int, defaults.upstream_pool_size),
            database_pool_size=get("DATABASE_POOL_SIZE", int, None),
            dashboard_password=get("DASHBOARD_PASSWORD", str, None),
            metrics_token=get("METRICS_TOKEN", str, None),
            prometheus_multiproc_dir=get("PROMETHEUS_MULTIPROC_DIR", str, None),
            retention_days=get("RETENTION_DAYS", float, None),
            body_retention_days=get("BODY_RETENTION_DAYS", float, None),
            drain_delay=get("DRAIN_DELAY", float, defaults.drain_delay),
            drain_timeout=get("DRAIN_TIMEOUT", float, defaults.drain_timeout),
            record_queue_bytes=get("RECORD_QUEUE_BYTES", int, defaults.record_queue_bytes),
            spool_dir=get("SPOOL_DIR", str, None),
            spool_max_bytes=get("SPOOL_MAX_BYTES", int, defaults.spool_max_bytes),
            routing=load_routing_config(get("CONFIG_PATH", str, str(DEFAULT_CONFIG_PATH)), env,
                                        required=bool(env.get("CONFIG_PATH"))),
            claude_projects_dir=get("CLAUDE_PROJECTS_DIR", str, defaults.claude_projects_dir),
            log_level=_log_level(get("LOG_LEVEL", str, defaults.log_level)),
            client_body_timeout=get("CLIENT_BODY_TIMEOUT", float, defaults.client_body_timeout),
            allowed_origins=frozenset(origin.strip().rstrip("/") for origin in
                                      get("ALLOWED_ORIGINS", str, "").split(",") if origin.strip()),
            prices=load_price_book(get("PRICES_PATH", str, None)),
        )


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app: database, upstream client, recorder, blueprints, error handlers."""
    config = config or Config.from_env()
    _configure_logging(config.log_level)
    app = Flask(__name__, static_folder=None)
    app.config["PROXY"] = config
    database = models.init_db(config.database_url, pool_size(config))
    _warn_if_schema_outdated(database)

    recorder = Recorder(max_bytes=config.record_queue_bytes, spool_max_bytes=config.spool_max_bytes,
                        spool_dir=config.spool_dir or default_spool_dir(config.database_url))
    recorder.start()
    upstream = UpstreamClient(config.upstream_url, config.upstream_connect_timeout,
                              config.upstream_read_timeout, config.upstream_pool_size)
    app.extensions["proxy"] = ProxyService(upstream, recorder, config.max_request_body,
                                           dispatch=_dispatcher(config, upstream),
                                           metrics_folder=config.prometheus_multiproc_dir,
                                           body_timeout=config.client_body_timeout,
                                           allowed_origins=config.allowed_origins)
    # gunicorn.conf.py starts it on SIGTERM (it may not import the app, so it looks it up here).
    app.extensions["drain"] = Drain(app.extensions["proxy"].traffic, config.drain_delay, config.drain_timeout)
    app.extensions["pricing"] = _pricing(config)
    app.extensions["conversations"] = ConversationStore(config.claude_projects_dir, pricing=app.extensions["pricing"])
    app.extensions["settled_spans"] = SettledSpans()
    app.extensions["settled_breaks"] = SettledBreaks(app.extensions["pricing"], app.extensions["settled_spans"])
    app.extensions["settled_windows"] = SettledWindows(app.extensions["settled_spans"])
    if config.retention_days or config.body_retention_days:
        app.extensions["retention"] = RetentionPruner(config.retention_days, body_days=config.body_retention_days)
        app.extensions["retention"].start()

    app.register_blueprint(proxy_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(dashboard_bp)
    register_error_handlers(app)
    app.teardown_appcontext(_close_database)
    app.cli.add_command(init_db_command)
    app.cli.add_command(convert_bodies_command)
    app.extensions["openapi"] = build_spec(app)
    # The relay writes a body's chunks itself where gunicorn's response object allows it.
    app.wsgi_app = exposing_server_response(app.wsgi_app)
    return app


def pool_size(config: Config) -> int:
    """Pooled Postgres connections per process: DATABASE_POOL_SIZE, else 1 in a gevent worker, 8 elsewhere."""
    if config.database_pool_size is not None:
        return config.database_pool_size
    # In a gevent worker the recorder writes through a connection of its own, and the pool serves
    # the settings poll and the dashboard one query at a time: a worker holds 2 connections.
    # Elsewhere (threads: a development server, tests) the recorder's thread holds one of the pool.
    return 1 if monkey.is_module_patched("threading") else 8


def default_spool_dir(database_url: str) -> str:
    """Where the record spool lives unless SPOOL_DIR says: beside the SQLite file, else the working directory."""
    if database_url.startswith("sqlite:///") and database_url not in ("sqlite:///", "sqlite:///:memory:"):
        return database_url.removeprefix("sqlite:///") + "-spool"
    return os.path.abspath("record-spool")


def _dispatcher(config: Config, upstream: UpstreamClient) -> Dispatcher | None:
    # No rules, no dispatcher: the pass-through path stays exactly as it is without routing.
    if config.routing is None or not config.routing.rules:
        return None
    return Dispatcher(config.routing, upstream, lambda url: UpstreamClient(
        url, config.upstream_connect_timeout, config.upstream_read_timeout, config.upstream_pool_size))


def _pricing(config: Config) -> Pricing:
    # Routed requests are priced by the provider that served them: its own prices from the routing
    # config, else the book for an Anthropic-kind provider, else nothing (unpriced).
    providers = {}
    for provider in (config.routing.providers if config.routing else ()):
        rows = {normalise_model_id(model): PriceRow(model, 0, rates) for model, rates in provider.prices}
        providers[provider.name] = ProviderPrices(provider.kind, rows)
    return Pricing(config.prices or load_price_book(), providers)


def _log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL={value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value.lower()


def _configure_logging(level: str) -> None:
    # Under gunicorn nothing routes the app's own loggers anywhere: send them (and the one
    # JSON line per request from proxy.access, at info) to stdout, unless someone configured logging.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(), stream=sys.stdout,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _close_database(exc=None) -> None:
    # Views open a connection on first use; return it at the end of each request.
    if not models.database.is_closed():
        models.database.close()


def _warn_if_schema_outdated(database) -> None:
    try:
        version = models.current_version()
    except Exception as exc:  # an unreachable database must not stop the proxy from relaying
        log.error("cannot read the schema version (%s); records will be retried", exc)
        return
    finally:
        database.close()
    if version < models.SCHEMA_VERSION:
        log.error("database schema is at version %d, expected %d: run `python app.py init-db`",
                  version, models.SCHEMA_VERSION)


@click.command("init-db")
def init_db_command():
    """Create or migrate the schema, and mark rows a dead process left in flight as interrupted."""
    try:
        config = Config.from_env()
        database = models.init_db(config.database_url)  # a DATABASE_URL it cannot use is a ValueError
    except (ConfigError, ValueError) as exc:  # the Procfile runs this first: fail with the reason alone
        raise click.ClickException(str(exc)) from None
    version = models.migrate()
    interrupted = models.mark_interrupted()
    database.close()
    click.echo(f"schema at version {version}; {interrupted} unfinished request(s) marked interrupted")


@click.command("convert-bodies")
@click.option("--batch-size", default=200, show_default=True, help="body rows a transaction")
@click.option("--pause", default=0.05, show_default=True, help="seconds between batches")
def convert_bodies_command(batch_size: int, pause: float):
    """Rewrite the bodies of records written before schema 6 as deduplicated pieces, a batch at a
    time, while the server serves; stop it any time, it resumes where the rows are left."""
    try:
        database = models.init_db(Config.from_env().database_url)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{legacy_rows()} body row(s) to convert")
    total, after = 0, ""
    while after is not None:
        converted, after = convert_batch(batch_size, after)
        total += converted
        time.sleep(pause)
    database.close()
    click.echo(f"converted {total} body row(s)")


@click.group()
def cli():
    """Claude Code Proxy commands that need no running app (`python app.py init-db`)."""


cli.add_command(init_db_command)
cli.add_command(convert_bodies_command)

if __name__ == "__main__":
    cli()
