from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDeadLetterBudget(PlantBridgeCase):
    """A flood of distinct bad input cannot grow the exception queue without bound."""

    def report(self, code, n, start=0):
        items = [{'code': code, 'payload': f'bad {i}', 'origin': 'plant/x', 'fingerprint': f'{code}-{i}'}
                 for i in range(start, start + n)]
        self.api.report_rejections('main', items)

    def test_oldest_sidecar_rejections_beyond_the_budget_are_discarded(self):
        self.env['ir.config_parameter'].sudo().set_param('plant_bridge.dead_letter_budget', 2)
        self.report('invalid_json', 5)
        self.report('schema', 2)
        odoo_rejected = self.post_one('scrap', product='NO-SUCH-PRODUCT', quantity=1)
        self.assertRejected(odoo_rejected, 'unknown_product')

        self.assertEqual(self.Message._evict_over_budget(), 3)

        rows = self.Message.search([('key', 'like', 'rejection:invalid_json-')], order='id')
        self.assertEqual(rows.mapped('state'), ['discarded'] * 3 + ['rejected'] * 2)
        self.assertEqual(rows[3:].mapped('payload'), ['bad 3', 'bad 4'])
        self.assertIn('Evicted: more than 2 open sidecar rejections with code invalid_json',
                      rows[0].discard_reason)
        schema = self.Message.search([('key', 'like', 'rejection:schema-')])
        self.assertEqual(set(schema.mapped('state')), {'rejected'})
        # an event Odoo rejected is a business document waiting for a fix: never evicted
        self.assertEqual(self.message_of(odoo_rejected).state, 'rejected')
        self.assertEqual(self.Message._evict_over_budget(), 0)
