"""JSON decoding with a nesting bound: too deep is a ValueError, whatever the depth and the call stack."""
import json

import pytest

from models.bounded_json import MAX_DEPTH, TooDeep, loads
from tests.nesting import DEPTHS, arrays, objects


def test_ordinary_json_decodes_as_json_does():
    text = '{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "[{"}]}], "n": null}'
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)
    assert loads(arrays(MAX_DEPTH)) == json.loads(arrays(MAX_DEPTH))
    assert loads(objects(MAX_DEPTH)) == json.loads(objects(MAX_DEPTH))
    assert loads("3") == 3


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, *DEPTHS])
@pytest.mark.parametrize("nest", [arrays, objects])
def test_deeper_nesting_is_a_value_error(nest, depth):
    with pytest.raises(TooDeep):
        loads(nest(depth))
    with pytest.raises(ValueError):
        loads(nest(depth).encode())


def test_depth_is_found_on_any_branch():
    wide = {"first": [1, 2, {"x": "y"}], "second": json.loads(arrays(MAX_DEPTH - 1))}
    assert loads(json.dumps(wide)) == wide
    wide["second"] = [wide["second"]]
    with pytest.raises(TooDeep):
        loads(json.dumps(wide))


def test_brackets_inside_strings_are_not_nesting():
    assert loads(json.dumps({"code": arrays(5_000)})) == {"code": arrays(5_000)}
