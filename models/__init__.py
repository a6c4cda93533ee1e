"""Storage: the database handle, the record and settings models, migrations and reusable queries."""
from models.body_store import BodySegment
from models.db import database, init_db, open_database
from models.request_log import RequestBody, RequestLog, record_statements, run_statements, save_records
from models.schema import SCHEMA_VERSION, current_version, mark_interrupted, migrate
from models.settings import Setting, load_proxy_settings, save_proxy_settings, setting_versions

__all__ = [
    "BodySegment",
    "database", "init_db", "open_database",
    "RequestBody", "RequestLog", "record_statements", "run_statements", "save_records",
    "SCHEMA_VERSION", "current_version", "mark_interrupted", "migrate",
    "Setting", "load_proxy_settings", "save_proxy_settings", "setting_versions",
]
