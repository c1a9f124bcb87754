"""Request parsers for the API."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No lead, event or import is more than a handful of levels deep.
MAX_JSON_DEPTH = 32


def json_depth_exceeds(value, limit: int) -> bool:
    """True when `value` nests lists/objects deeper than `limit`; iterative, so never recursion-bound."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """JSONParser that answers 400 "JSON nested too deeply" instead of a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested too deeply; the limit is {MAX_JSON_DEPTH} levels.") from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested too deeply; the limit is {MAX_JSON_DEPTH} levels.")
        return data
