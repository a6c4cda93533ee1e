"""Header handling at the proxy's edges: hop-by-hop filtering, redaction and key fingerprints."""
import hashlib

# RFC 9110 7.6.1 connection-specific headers, plus what the HTTP client sets itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
SET_BY_CLIENT = frozenset({"host", "content-length", "accept-encoding"})
# gunicorn writes its own Date and Server; relaying upstream's would duplicate them.
SET_BY_SERVER = frozenset({"date", "server"})
CREDENTIAL_HEADERS = ("x-api-key", "authorization")
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})


def _connection_listed(headers) -> set[str]:
    """Header names a `Connection` header declares hop-by-hop."""
    listed = set()
    for name, value in headers:
        if name.lower() == "connection":
            listed.update(token.strip().lower() for token in value.split(","))
    return listed


def upstream_request_headers(incoming) -> list[tuple[str, str]]:
    """The client's end-to-end headers to send upstream, asking for an uncompressed body."""
    items = list(incoming)
    drop = HOP_BY_HOP | SET_BY_CLIENT | _connection_listed(items)
    outgoing = [(name, value) for name, value in items if name.lower() not in drop]
    outgoing.append(("Accept-Encoding", "identity"))
    return outgoing


def client_response_headers(upstream, body_decoded: bool) -> list[tuple[str, str]]:
    """Upstream response headers to relay; length and encoding go when the body was decoded."""
    items = list(upstream.items())
    drop = HOP_BY_HOP | SET_BY_SERVER | _connection_listed(items)
    if body_decoded:
        drop = drop | {"content-encoding", "content-length"}
    return [(name, value) for name, value in items if name.lower() not in drop]


def redacted(headers) -> dict[str, str]:
    """Headers as a dict with every secret value replaced by a fingerprint."""
    result = {}
    for name, value in headers:
        key = name.lower()
        result[key] = f"[redacted {fingerprint(value)}]" if key in SECRET_HEADERS else value
    return result


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible tag that tells two secrets apart."""
    if secret.lower().startswith("bearer "):
        secret = secret[7:]
    return hashlib.sha256(secret.strip().encode()).hexdigest()[:12]


def api_key_fingerprint(headers: list[tuple[str, str]]) -> str | None:
    """The fingerprint of the client's Anthropic credential, from x-api-key or else Authorization."""
    credentials = {}
    for name, value in headers:
        key = name.lower()
        if key in CREDENTIAL_HEADERS and value and key not in credentials:
            credentials[key] = value  # the first occurrence, as a header lookup gives
    value = credentials.get("x-api-key") or credentials.get("authorization")
    return fingerprint(value) if value else None
