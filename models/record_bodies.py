"""A record's headers and bodies as relayed: from its list of pieces, or from an older row's texts."""
import logging
from dataclasses import dataclass, field

from models import body_store
from models.body_pieces import FIELDS, NONE, TEXT, BodyCorrupt
from models.request_log import RequestBody

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordBody:
    """A record's redacted headers (JSON) and bodies: `raw` the exact bytes stored, None when absent;
    the fields as text (bytes that are not UTF-8 read with U+FFFD), decoded when first asked for."""

    raw: dict        # field -> bytes or None
    text_kind: dict  # field -> True when stored as text (lone surrogates kept), False for relayed bytes
    _texts: dict = field(default_factory=dict, repr=False, compare=False)

    def text(self, name: str) -> str | None:
        """The field `name` as text."""
        if name not in self._texts:
            data = self.raw[name]
            self._texts[name] = None if data is None else data.decode(
                "utf-8", "surrogatepass" if self.text_kind[name] else "replace")
        return self._texts[name]

    request_headers = property(lambda self: self.text("request_headers"))
    request_body = property(lambda self: self.text("request_body"))
    response_headers = property(lambda self: self.text("response_headers"))
    response_body = property(lambda self: self.text("response_body"))
    response_message = property(lambda self: self.text("response_message"))


def record_body(record_id: str, names: tuple = FIELDS) -> RecordBody | None:
    """The record's headers and bodies (only the fields `names`); None when it has no body row (or
    its pieces are damaged)."""
    row = (RequestBody.select(RequestBody.pieces, *(getattr(RequestBody, name) for name in names))
           .where(RequestBody.request == record_id).tuples().first())
    if row is None:
        return None
    pieces, texts = row[0], row[1:]
    if pieces is None:  # written before schema step 6
        return RecordBody(raw={name: None if text is None else text.encode("utf-8", "surrogatepass")
                               for name, text in zip(names, texts)},
                          text_kind={name: True for name in names})
    try:
        values = body_store.load(pieces, names)
    except BodyCorrupt as exc:
        log.error("record %s: its stored body is damaged (%s)", record_id, exc)
        return None
    return RecordBody(raw={name: None if kind == NONE else data
                           for name, (kind, data) in values.items()},
                      text_kind={name: kind == TEXT for name, (kind, _) in values.items()})
