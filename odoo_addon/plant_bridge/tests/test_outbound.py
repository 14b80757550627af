import json

from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestOutbound(PlantBridgeCase):

    def test_release_change_cancel(self):
        Outbound = self.env['plant_bridge.outbound']
        mo = self.mo_table
        mo.action_confirm()
        release = Outbound.search([('production_id', '=', mo.id)])
        self.assertRecordValues(release, [{
            'event_type': 'order_release', 'site_id': self.site.id, 'state': 'pending',
            'key': f'order_release:{mo.name}:1', 'order': mo.name}])
        payload = json.loads(release.payload)
        self.assertEqual({k: payload[k] for k in ('type', 'site', 'id', 'order', 'product', 'quantity', 'state')}, {
            'type': 'order_release', 'site': 'main', 'id': release.key, 'order': mo.name,
            'product': 'FURN_9666', 'quantity': 1.0, 'state': 'confirmed'})
        self.assertEqual(payload['tracking'], mo.product_id.tracking)
        components = {c['product']: c for c in payload['components']}
        self.assertEqual(set(components), set(mo.move_raw_ids.product_id.mapped('default_code')))
        self.assertEqual(components['FURN_2333']['quantity'], 4.0)
        self.assertIsInstance(components['FURN_8522']['lots'], list)
        self.assertEqual(payload['operations'], [{
            'name': 'Assembly', 'workcenter': 'Assembly 1', 'sequence': mo.workorder_ids.operation_id.sequence,
            'duration_expected': mo.workorder_ids.duration_expected}])

        with Form(mo) as form:
            form.date_start = '2026-12-01 08:00:00'
        change = Outbound.search([('production_id', '=', mo.id), ('event_type', '=', 'order_change')])
        self.assertRecordValues(change, [{'key': f'order_change:{mo.name}:2', 'state': 'pending'}])
        self.assertEqual(json.loads(change.payload)['start'], '2026-12-01T08:00:00+00:00')

        mo.action_cancel()
        cancel = Outbound.search([('production_id', '=', mo.id), ('event_type', '=', 'order_cancel')])
        self.assertEqual(json.loads(cancel.payload), {'type': 'order_cancel', 'site': 'main',
                                                      'id': f'order_cancel:{mo.name}:3', 'order': mo.name})

    def test_quantity_change_through_the_wizard(self):
        mo = self.new_mo(qty=2.0)
        wizard = self.env['change.production.qty'].create({'mo_id': mo.id, 'product_qty': 5.0})
        wizard.change_prod_qty()
        change = self.env['plant_bridge.outbound'].search([('production_id', '=', mo.id),
                                                           ('event_type', '=', 'order_change')], limit=1)
        self.assertEqual(json.loads(change.payload)['quantity'], 5.0)

    def test_unreleased_order_sends_no_change(self):
        mo = self.new_mo(confirm=False)
        mo.action_cancel()
        self.assertFalse(self.env['plant_bridge.outbound'].search([('production_id', '=', mo.id)]))

    def test_fetch_and_ack(self):
        self.mo_table.action_confirm()
        pending = self.api.fetch_outbound('main', limit=500)
        row = next(r for r in pending if r['order'] == self.mo_table.name)
        self.assertEqual((row['type'], row['payload']['order']), ('order_release', self.mo_table.name))
        self.assertTrue(row['created'].endswith('+00:00'))
        counts = self.api.ack_outbound([
            {'id': row['id'], 'state': 'acknowledged', 'sink': 'mqtt:plant-bridge/v1/main/commands'},
            {'id': 999999999, 'state': 'failed'},
        ])
        self.assertEqual(counts, {'acknowledged': 1, 'failed': 0})
        self.assertRecordValues(self.env['plant_bridge.outbound'].browse(row['id']), [{
            'state': 'acknowledged', 'sink': 'mqtt:plant-bridge/v1/main/commands'}])
        self.assertNotIn(row['id'], [r['id'] for r in self.api.fetch_outbound('main', limit=500)])


DESK = 'product.product_product_3'  # Desk Combination (FURN_7800), untracked, with a BOM


@tagged('post_install', '-at_install', 'plant_bridge')
class TestOrderKey(PlantBridgeCase):
    """The plant knows an order by the name it was released with (its order key): Odoo renaming
    it for a backorder or a split does not change it; backorders, splits and merges are
    released, changed and cancelled like any order; the plant's own events are not echoed."""

    def outbox(self, productions):
        rows = self.env['plant_bridge.outbound'].search([('production_id', 'in', productions.ids)], order='id')
        return [(row.event_type, row.order, json.loads(row.payload)) for row in rows]

    def test_workorder_start_and_finish_are_not_echoed(self):
        """The plant's work order start writes the order's start date, its finish the end date:
        the plant knows, nothing goes back to it."""
        mo = self.mo_desk  # confirmed before the addon was installed: released here
        release = mo._plant_bridge_outbound('order_release')
        self.assertEqual(len(release), 1)
        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                         status='started'), 'mrp.workorder')
        self.assertTrue(mo.date_start)
        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                         status='finished', quantity=3), 'mrp.workorder')
        self.assertApplied(self.post_one('production', order=mo.name, quantity=0, finish=True),
                           'mrp.production')
        self.assertEqual(mo.state, 'done')
        self.assertEqual([kind for kind, _order, _payload in self.outbox(mo)], ['order_release'])
        # a person's change of a released order still goes out
        other = self.new_mo(DESK, qty=3)
        with Form(other) as form:
            form.date_start = '2026-12-01 08:00:00'
        self.assertEqual([kind for kind, _order, _payload in self.outbox(other)], ['order_release', 'order_change'])
        other.write({'date_start': other.date_start})  # written, not changed: nothing to tell
        self.assertEqual(len(self.outbox(other)), 2)
