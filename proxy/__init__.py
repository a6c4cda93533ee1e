"""The proxy: relays /v1/* to the upstream API byte-for-byte and records every exchange."""
from proxy.recording.recorder import Recorder
from proxy.routes import bp
from proxy.service import ProxyService
from proxy.upstream.client import UpstreamClient

__all__ = ["bp", "ProxyService", "Recorder", "UpstreamClient"]
