"""Header rules: block, set or edit the headers sent upstream and relayed back. Pure, no I/O."""
import logging
from dataclasses import dataclass

from models.settings import REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES, is_protected_header, rule_problem

log = logging.getLogger(__name__)

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class HeaderRule:
    """One enabled rule; `header` keeps the user's spelling (sent by `set`) but matches any case."""

    header: str
    action: str
    value: str = ""
    find: str = ""

    @property
    def name(self) -> str:
        """The header name, lower-cased for matching."""
        return self.header.lower()


@dataclass(frozen=True)
class HeaderRules:
    """The rules for both directions, swapped as a whole so a request sees one consistent set."""

    request: tuple[HeaderRule, ...] = ()
    response: tuple[HeaderRule, ...] = ()

    @classmethod
    def from_stored(cls, stored: dict) -> "HeaderRules":
        """Build from the saved settings (`models.load_proxy_settings()`)."""
        return cls(request=compile_rules(stored.get(REQUEST_HEADER_RULES) or []),
                   response=compile_rules(stored.get(RESPONSE_HEADER_RULES) or []))


def compile_rules(stored: list) -> tuple[HeaderRule, ...]:
    """The rules that can apply: disabled ones dropped, and malformed or protected ones skipped with a warning."""
    rules = []
    for index, item in enumerate(stored):
        rule = _rule(item)
        if rule is None:
            # The API refuses such rules; one can still arrive through a direct database edit.
            log.warning("skipping header rule %d, which cannot be applied: %r", index, item)
        elif rule is not False:
            rules.append(rule)
    return tuple(rules)


def _rule(item):
    """A HeaderRule, False for a disabled rule, None for one that must not apply."""
    if isinstance(item, dict) and item.get("enabled", True) is False:
        return False
    if rule_problem(item) is not None:
        return None
    return HeaderRule(header=item["header"], action=item["action"], value=item.get("value") or "",
                      find=item.get("find") or "")


def apply_rules(headers: Headers, rules: tuple[HeaderRule, ...]) -> Headers:
    """The headers after each rule in turn: block removes, set overwrites or adds, replace edits values."""
    for rule in rules:
        if is_protected_header(rule.header):
            continue  # never let a rule emit a hop-by-hop header, however it was built
        if rule.action == "block":
            headers = [(n, v) for n, v in headers if n.lower() != rule.name]
        elif rule.action == "set":
            headers = _set(headers, rule)
        elif rule.action == "replace":
            headers = [(n, v.replace(rule.find, rule.value)) if n.lower() == rule.name else (n, v)
                       for n, v in headers]
    return headers


def _set(headers: Headers, rule: HeaderRule) -> Headers:
    """Overwrite the first occurrence in place (keeping header order), drop repeats, or append."""
    result, done = [], False
    for name, value in headers:
        if name.lower() != rule.name:
            result.append((name, value))
        elif not done:
            result.append((rule.header, rule.value))
            done = True
    if not done:
        result.append((rule.header, rule.value))
    return result
