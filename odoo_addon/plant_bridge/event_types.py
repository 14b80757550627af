"""The canonical event types, as the sidecar's canonical schema defines them.

`data/event_types.json` is generated from the sidecar's one list (`npm run codegen`, checked by
`npm run codegen:check`), so the mapping's target types and the handler registry cannot drift
from what the sidecar validates (`tests/test_event_types.py`)."""
import json
import os
from functools import cache

EVENT_TYPES_FILE = os.path.join(os.path.dirname(__file__), 'data', 'event_types.json')


@cache
def event_types():
    """`[{type, label, description}]` in the contract's order."""
    with open(EVENT_TYPES_FILE, encoding='utf-8') as f:
        return tuple(json.load(f)['eventTypes'])


def event_type_selection():
    """The event types as a selection: `[(type, label)]`."""
    return [(t['type'], t['label']) for t in event_types()]
