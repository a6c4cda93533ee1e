"""Body capture: which records keep their bodies, and how much of each. Pure, no I/O.

The settings (`body_capture`, `body_max_bytes`) come from the database through the settings
poller; this module only applies them to a finished exchange's rows.
"""
import json
import logging
from dataclasses import dataclass

from models.settings import BODY_CAPTURE, BODY_MAX_BYTES, SETTING_DEFAULTS, capture_problem
from proxy.exchange import Exchange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyCapture:
    """The capture mode (all, errors, none) and the per-body size cap in bytes (0: no cap)."""

    mode: str = SETTING_DEFAULTS[BODY_CAPTURE]
    max_bytes: int = SETTING_DEFAULTS[BODY_MAX_BYTES]

    @classmethod
    def from_stored(cls, stored: dict) -> "BodyCapture":
        """Build from the saved settings; a value the API would refuse falls back to its default."""
        values = {}
        for key in (BODY_CAPTURE, BODY_MAX_BYTES):
            value = stored.get(key, SETTING_DEFAULTS[key])
            if capture_problem(key, value) is not None:
                # The API refuses such values; one can still arrive through a direct database edit.
                log.warning("ignoring setting %s=%r: %s", key, value, capture_problem(key, value))
                value = SETTING_DEFAULTS[key]
            values[key] = value
        return cls(mode=values[BODY_CAPTURE], max_bytes=values[BODY_MAX_BYTES] or 0)

    def keeps_bodies(self, exchange: Exchange) -> bool:
        """True when this exchange's bodies are to be stored."""
        if self.mode == "errors":
            return exchange.outcome != "complete" or (exchange.status_code or 0) >= 400
        return self.mode != "none"


def captured_rows(exchange: Exchange, capture: BodyCapture) -> tuple[dict, dict]:
    """The finished exchange's RequestLog and RequestBody rows, its bodies kept, cut or left out."""
    log_row = exchange.log_row()
    if not capture.keeps_bodies(exchange):
        log_row["bodies_omitted"] = "capture"
        # Headers are not bodies (and are small): they stay, so the detail view still shows them.
        return log_row, exchange.body_row()
    body_row = exchange.body_row()
    cap = capture.max_bytes
    # Bytes as relayed (the store keeps them exactly; readers decode them): not decoded here.
    body_row["request_body"], log_row["request_body_truncated"] = _kept(exchange.request_body, cap)
    response, cut = _kept_of_chunks(exchange.response_chunks, cap)
    body_row["response_body"] = response if exchange.completed_at_ms is not None else None
    message = exchange.response_message
    encoded = _encoded(message) if message else None
    # The reassembled message stays whole while it fits, even when the raw SSE (several times
    # its size) was cut: it is what a reader wants. Cut JSON is useless, so a bigger one goes.
    if encoded is not None and cap and len(encoded) > cap:
        encoded, cut = None, True
    body_row["response_message"] = encoded
    log_row["response_body_truncated"] = cut
    return log_row, body_row


def _encoded(message: dict) -> str | None:
    """The reassembled message as JSON; None for one nested past what the encoder takes (the raw
    body still holds it)."""
    try:
        return json.dumps(message)
    except (ValueError, RecursionError):
        return None


def _kept(data: bytes, cap: int) -> tuple[bytes, bool]:
    """`data` cut to at most `cap` bytes (0: whole); and whether it was cut."""
    if not cap or len(data) <= cap:
        return bytes(data), False
    return _without_split_character(data[:cap]), True


def _without_split_character(data: bytes) -> bytes:
    """`data` (cut at the cap) without the start of a UTF-8 character the cut split: a reader would
    see U+FFFD where the text only ends."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80 or byte in (0xC0, 0xC1) or byte > 0xF4:  # ASCII, or no UTF-8 at all
            return data
        if byte >= 0xC2:  # the lead byte of the last character: 2, 3 or 4 bytes long
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data[:-back] if back < length else data
    return data


def _kept_of_chunks(chunks: list, cap: int) -> tuple[bytes, bool]:
    """The relayed chunks joined, no more than `cap` bytes of them."""
    if not cap:
        return b"".join(chunks), False
    kept, size = [], 0
    for chunk in chunks:
        if size + len(chunk) > cap:
            kept.append(chunk[:cap - size])
            return _without_split_character(b"".join(kept)), True
        kept.append(chunk)
        size += len(chunk)
    return b"".join(kept), False
