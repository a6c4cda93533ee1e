"""history views of the dashboard API."""
from api import bp  # noqa: F401
