"""OpenAI-compatible providers (chat completions): requests translated there, replies translated back."""
import json
import logging

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from proxy.routing.providers.openai_request import to_openai_request
from proxy.routing.providers.openai_response import anthropic_error, error_message, to_anthropic_message, without_key
from proxy.routing.providers.openai_stream import StreamTranslator, message_events
from proxy.routing.providers.provider import Outgoing, Provider
from proxy.relay import upstream_body
from proxy.upstream.client import MergedHeaders, UpstreamResponse, UpstreamTimeout, UpstreamUnreachable

log = logging.getLogger(__name__)

SSE_TYPE = "text/event-stream; charset=utf-8"


class OpenAIProvider(Provider):
    """A chat completions endpoint (`{base_url}/chat/completions`). Only its own key is sent:
    the client's headers, Anthropic credentials included, never leave for another provider."""

    kind = "openai"

    def prepare(self, path: str, query: str, headers: list, raw: bytes, body: dict, model: str | None) -> Outgoing:
        """The chat completions request for an Anthropic Messages request."""
        request = to_openai_request(body, model)
        outgoing = [("Content-Type", "application/json"), ("Accept-Encoding", "identity"),
                    ("Accept", "text/event-stream" if request.get("stream") else "application/json")]
        if self._api_key:
            outgoing.append(("Authorization", f"Bearer {self._api_key}"))
        return Outgoing("/chat/completions", "", outgoing, json.dumps(request).encode(), model)

    def send(self, method: str, outgoing: Outgoing, stream: bool) -> "TranslatedResponse":
        """Send it; the reply comes back as the Anthropic response the client expects."""
        upstream = self.client.send("POST", outgoing.path, outgoing.query, outgoing.headers, outgoing.body)
        return TranslatedResponse.of(upstream, stream, outgoing.model, self._api_key)


class _Body:
    """The part of urllib3's response the relay reads: a chunked body, here already translated."""

    chunked = True

    def __init__(self, chunks):
        self._chunks = chunks

    def read_chunked(self, decode_content=True):
        return self._chunks


class TranslatedResponse:
    """An upstream reply in the relay's terms (status, headers, raw body), translated to Anthropic."""

    def __init__(self, upstream: UpstreamResponse, status: int, content_type: str, chunks):
        self._upstream = upstream
        self.status_code = status
        headers = urllib3.HTTPHeaderDict({"content-type": content_type})
        if upstream.headers.get("x-request-id"):
            headers["request-id"] = upstream.headers.get("x-request-id")
        self.headers = MergedHeaders(headers)
        self.raw = _Body(chunks)

    @classmethod
    def of(cls, upstream: UpstreamResponse, stream: bool, model: str, api_key: str | None = None):
        """Wrap a reply: an event stream is translated as it flows, anything else is read whole first."""
        status = upstream.status_code
        if status < 400 and upstream.headers.get("content-type", "").startswith("text/event-stream"):
            return cls(upstream, status, SSE_TYPE, _translated_stream(upstream, model, api_key))
        body = _read_whole(upstream)
        if status >= 400:
            message = without_key(error_message(body), api_key)  # the record must not keep it
            return cls(upstream, status, "application/json", [_json(anthropic_error(status, message))])
        try:
            message = to_anthropic_message(json.loads(body), model)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            log.warning("provider sent an unreadable completion (%s): %.200r", exc, body)
            return cls(upstream, 502, "application/json", [_json(anthropic_error(
                502, "the provider's response could not be translated"))])
        if stream:  # asked to stream, the provider answered whole: the client still gets events
            return cls(upstream, status, SSE_TYPE, [message_events(message)])
        return cls(upstream, status, "application/json", [_json(message)])

    def close(self) -> None:
        """Close the provider's response."""
        self._upstream.close()

    def release_read_timeout(self) -> bool:
        """Keep timing the provider's socket reads: one of its chunks may translate into nothing
        for the client, so the relay's own progress says nothing about the provider's."""
        return False

    def interrupt(self) -> None:
        """End the body from another greenlet (shutdown)."""
        self._upstream.interrupt()


def _json(data: dict) -> bytes:
    return json.dumps(data).encode()


def _read_whole(upstream: UpstreamResponse) -> bytes:
    try:
        return b"".join(upstream_body(upstream))
    except ReadTimeoutError as exc:
        upstream.close()
        raise UpstreamTimeout(str(exc)) from exc
    except (Urllib3Error, OSError) as exc:
        upstream.close()
        raise UpstreamUnreachable(f"the provider's response was cut: {exc}") from exc


def _translated_stream(upstream: UpstreamResponse, model: str, api_key: str | None = None):
    """Anthropic SSE bytes as the provider's chunks arrive; its errors reach the relay unchanged."""
    translator = StreamTranslator(model, api_key)
    for chunk in upstream_body(upstream):
        yield translator.feed(chunk)  # empty once done: the rest is read so the connection is reused
    yield translator.finish()
