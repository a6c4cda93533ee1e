"""The dashboard API (/api/*), health and discovery endpoints, auth and the OpenAPI spec."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

# The view modules attach their routes to `bp`.
from api import history, stats, settings  # noqa: E402,F401
