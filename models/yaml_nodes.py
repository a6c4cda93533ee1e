"""Reading a YAML file as its node tree, so that every complaint names the file and line it is about
(the price book, the routing config)."""
import yaml


class NodeReader:
    """Walks a YAML node tree; a subclass says what the file holds (`walk`) and what it raises (`error`)."""

    error: type[ValueError] = ValueError

    def __init__(self, text: str, source: str):
        self.loader = yaml.SafeLoader(text)
        self.source = source

    def fail(self, node, message: str) -> ValueError:
        """The error to raise about `node`: the file, the node's line, the message."""
        return self.error(f"{self.source} line {node.start_mark.line + 1}: {message}")

    def read(self):
        """What `walk` builds from the root node (None for an empty file); bad YAML says where it is."""
        try:
            return self.walk(self.loader.get_single_node())
        except yaml.MarkedYAMLError as exc:  # bad syntax, or a tag the safe loader refuses
            mark = exc.problem_mark or exc.context_mark
            raise self.error(f"{self.source} line {mark.line + 1}: {exc.problem or exc.context}") from None
        except yaml.YAMLError as exc:
            raise self.error(f"{self.source}: {exc}") from None
        finally:
            self.loader.dispose()

    def walk(self, root):
        """The file's value from its root node (None when the file is empty)."""
        raise NotImplementedError

    def mapping(self, node, allowed, what: str) -> dict:
        """A mapping node as {key: value node}, refusing keys outside `allowed` (None: any) and repeats."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        result = {}
        for key_node, value_node in node.value:
            key = self.string(key_node, "a key")
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, f"unknown key {key!r} in {what} (expected one of: {', '.join(allowed)})")
            if key in result:
                raise self.fail(key_node, f"{key!r} is given twice in {what}")
            result[key] = value_node
        return result

    def scalar(self, node):
        """A single value (not a list or mapping), as YAML reads it."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "expected a single value, not a list or mapping")
        return self.loader.construct_object(node)

    def string(self, node, what: str) -> str:
        """A non-empty string."""
        value = self.scalar(node)
        if not isinstance(value, str) or not value:
            raise self.fail(node, f"{what} must be a non-empty string")
        return value

    def number(self, node, what: str, whole: bool = False) -> float:
        """A finite number >= 0 (with `whole`, an integer)."""
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf") \
                or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise self.fail(node, f"{what} must be {kind} >= 0 (not {value!r})")
        return value if whole else float(value)
