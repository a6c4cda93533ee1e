"""The dashboard API (/api/*), health and discovery endpoints, auth and the OpenAPI spec."""
