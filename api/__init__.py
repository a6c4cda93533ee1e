"""The dashboard API (/api/*), health and discovery endpoints, auth and the OpenAPI spec."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from api.auth import refuse_cross_site, require_login  # noqa: E402

bp.before_request(require_login)
bp.before_request(refuse_cross_site)

# The view modules attach their routes to `bp`.
from api import history, stats, settings, rate_limits  # noqa: E402,F401
from api import conversations  # noqa: E402,F401
from api import cache, costs, prices  # noqa: E402,F401
