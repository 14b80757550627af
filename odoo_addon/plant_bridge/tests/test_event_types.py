from odoo.tests import TransactionCase, tagged

from ..event_types import event_types
from ..handlers import HANDLERS


@tagged('post_install', '-at_install', 'plant_bridge')
class TestEventTypes(TransactionCase):
    """The canonical event types have one definition, the sidecar's canonical schema, which
    `npm run codegen` writes to data/event_types.json: the handler registry, the mappings' target
    types and the trace's types are exactly those (test/unit/event-types.test.ts checks the
    sidecar's side)."""

    def test_one_handler_per_type(self):
        types = [t['type'] for t in event_types()]
        self.assertEqual(len(types), len(set(types)))
        self.assertEqual(sorted(HANDLERS), sorted(types))

    def test_mapping_target_types_are_the_canonical_ones(self):
        selection = self.env['plant_bridge.mapping']._fields['event_type'].selection
        self.assertEqual(selection, [(t['type'], t['label']) for t in event_types()])
        # what the Mapping Studio reads (fields_get), labels included
        studio = self.env['plant_bridge.mapping'].fields_get(['event_type'], ['selection'])
        self.assertEqual([value for value, _label in studio['event_type']['selection']],
                         [t['type'] for t in event_types()])

    def test_trace_types_are_the_canonical_ones_and_other(self):
        selection = self.env['plant_bridge.message']._fields['event_type'].selection
        self.assertEqual([value for value, _label in selection], [t['type'] for t in event_types()] + ['other'])
