from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestProduction(PlantBridgeCase):

    def test_quantity_then_finish(self):
        mo = self.mo_desk
        result = self.post_one('production', order=mo.name, quantity=2)
        self.assertEqual(self.assertApplied(result, 'mrp.production'), mo)
        self.assertRecordValues(mo, [{'qty_producing': 2.0, 'state': 'progress'}])
        self.assertRecordValues(self.message_of(result), [{'production_id': mo.id}])

        result = self.post_one('production', order=mo.name, quantity=1, finish=True)
        self.assertApplied(result, 'mrp.production')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0}])
        finished = mo.move_finished_ids.filtered(lambda m: m.product_id == mo.product_id)
        self.assertRecordValues(finished, [{'state': 'done', 'quantity': 3.0}])

    def test_quantity_counts_from_what_the_plant_reported(self):
        """Starting the work order makes Odoo propose the whole quantity (3): a report of 1 means 1."""
        mo = self.mo_desk
        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                         status='started'), 'mrp.workorder')
        self.assertEqual(mo.qty_producing, 3.0)
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1), 'mrp.production')
        self.assertRecordValues(mo, [{'qty_producing': 1.0, 'plant_bridge_qty_reported': 1.0}])
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1.5), 'mrp.production')
        self.assertRecordValues(mo, [{'qty_producing': 2.5, 'plant_bridge_qty_reported': 2.5}])

    def test_finish_short_creates_backorder(self):
        mo = self.mo_desk
        name = mo.name
        self.assertApplied(self.post_one('production', order=name, quantity=1, finish=True), 'mrp.production')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 1.0, 'product_qty': 1.0}])
        backorder = self.env['mrp.production'].search([('name', '=like', f'{name}-%'), ('id', '!=', mo.id)])
        self.assertRecordValues(backorder, [{'state': 'confirmed', 'product_qty': 2.0}])

    def test_finish_short_without_backorder(self):
        mo = self.mo_desk
        name = mo.name
        self.assertApplied(self.post_one('production', order=name, quantity=1, finish=True, backorder=False),
                           'mrp.production')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 1.0}])
        self.assertFalse(self.env['mrp.production'].search([('name', '=like', f'{name}-%'), ('id', '!=', mo.id)]))

    def test_finish_with_nothing_reported_is_refused(self):
        """Odoo's Mark as Done on an order with nothing producing produces everything it
        planned; the plant saying `finish` without ever reporting a quantity is not that."""
        mo = self.mo_desk
        name = mo.name
        self.assertRejected(self.post_one('production', order=name, quantity=0, finish=True), 'bad_quantity')
        # starting the work order makes Odoo propose the whole quantity: still nothing reported
        self.post_one('workorder_status', order=name, operation='Manual Assembly', status='started')
        self.assertRejected(self.post_one('production', order=name, quantity=0, finish=True, backorder=True),
                            'bad_quantity')
        self.assertRecordValues(mo, [{'state': 'progress', 'qty_produced': 0.0, 'product_qty': 3.0}])
        self.assertFalse(mo.move_finished_ids.filtered(lambda m: m.state == 'done'))
        self.assertFalse(self.env['mrp.production'].search([('name', '=like', f'{name}-%')]))

    def test_finish_at_the_full_quantity_makes_no_backorder(self):
        mo = self.mo_desk
        name = mo.name
        self.assertApplied(self.post_one('production', order=name, quantity=3, finish=True, backorder=True),
                           'mrp.production')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0, 'name': name}])
        self.assertFalse(self.env['mrp.production'].search([('name', '=like', f'{name}-%')]))

    def test_serial_number_assigned_and_done(self):
        mo = self.mo_table_top
        result = self.post_one('production', order=mo.name, quantity=1, lot='SN-PB-0001', finish=True)
        self.assertApplied(result, 'mrp.production')
        lot = self.env['stock.lot'].search([('name', '=', 'SN-PB-0001')])
        self.assertRecordValues(lot, [{'product_id': mo.product_id.id}])
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 1.0, 'lot_producing_ids': lot.ids}])
        self.assertEqual(mo.move_finished_ids.move_line_ids.lot_id, lot)
        self.assertRecordValues(self.message_of(result), [{'lot_id': lot.id, 'production_id': mo.id}])

    def test_draft_order_is_deferred_then_applied_on_confirm(self):
        mo = self.mo_table
        self.assertEqual(mo.state, 'draft')
        first, second = self.post(
            self.event('production', order=mo.name, quantity=1, lot='T-PB-0001'),
            self.event('scrap', order=mo.name, product='CONS_89957', quantity=1),
        )
        self.assertEqual((first['status'], first['code']), ('deferred', 'order_not_ready'))
        self.assertEqual((second['status'], second['code']), ('deferred', 'waiting_for_earlier'))
        self.assertGreater(first['retry_after'], 0)
        self.assertRecordValues(self.message_of(first), [{'state': 'deferred', 'production_id': mo.id}])
        self.assertFalse(mo.lot_producing_ids)

        mo.action_confirm()

        lot = self.env['stock.lot'].search([('name', '=', 'T-PB-0001')])
        self.assertRecordValues(mo, [{'lot_producing_ids': lot.ids, 'qty_producing': 1.0}])
        self.assertRecordValues(self.message_of(first), [{'state': 'applied', 'attempts': 2,
                                                          'res_model': 'mrp.production', 'res_id': mo.id}])
        self.assertRecordValues(self.message_of(second), [{'state': 'applied', 'res_model': 'stock.scrap'}])
        # the sidecar retries after retry_after: the key already applied
        again = self.post(self.event('production', id=first['id'], order=mo.name, quantity=1, lot='T-PB-0001'))[0]
        self.assertEqual((again['status'], again['original_status']), ('duplicate', 'applied'))

    def test_deferred_is_applied_when_the_sidecar_retries_after_confirm(self):
        mo = self.mo_table
        event = self.event('production', order=mo.name, quantity=1, lot='T-PB-0002')
        self.assertEqual(self.post(event)[0]['status'], 'deferred')
        message = self.Message.search([('key', '=', event['id'])])
        message.sudo().state = 'rejected'  # as if the server-side pass had not run
        mo.action_confirm()
        self.assertApplied(self.post(event)[0], 'mrp.production')

    def test_waiting_attempts_leave_one_history_entry(self):
        mo = self.mo_table
        event = self.event('production', order=mo.name, quantity=1, lot='T-PB-0003')
        for _attempt in range(4):
            self.assertEqual(self.post(event)[0]['status'], 'deferred')
        mo.action_confirm()  # applies the waiting event
        self.assertEqual(self.post(event)[0]['status'], 'duplicate')
        message = self.Message.search([('key', '=', event['id'])])
        self.assertEqual(message.state, 'applied')
        self.assertEqual([(f['state'], f['code'], f.get('repeats', 1)) for f in message.failure_history],
                         [('deferred', 'order_not_ready', 4)])

    def test_rejections(self):
        self.assertRejected(self.post_one('production', order='WH/MO/99999', quantity=1), 'unknown_order')
        self.assertRejected(self.post_one('production', order=self.mo_desk.name, quantity=-1), 'bad_quantity')
        self.assertRejected(self.post_one('production', order=self.mo_desk.name, quantity=0), 'bad_quantity')
        result = self.post_one('production', order=self.mo_desk.name, quantity='2')
        self.assertRejected(result, 'schema')
        self.discard(result)  # else it holds the order's next movements (see test_parking)
        self.assertRejected(self.post_one('production', quantity=1), 'schema')
        self.assertRejected(self.post_one('production', order=self.mo_desk.name, quantity=1, finish='yes'), 'schema')
        self.assertRejected(self.post_one('production', order=self.mo_done.name, quantity=1), 'state_conflict')
        result = self.post_one('production', order=self.mo_table_top.name, quantity=1)
        self.assertRejected(result, 'unknown_lot')
        self.discard(result)
        self.assertRejected(self.post_one('production', order=self.mo_table_top.name, quantity=2, lot='SN-PB-9'),
                            'bad_quantity')
        self.assertRecordValues(self.mo_desk, [{'qty_producing': 0.0}])

    def test_same_serial_twice_is_a_conflict(self):
        mo = self.new_mo(qty=2.0)
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1, lot='SN-PB-77'), 'mrp.production')
        twice = self.post_one('production', order=mo.name, quantity=1, lot='SN-PB-77')
        self.assertRejected(twice, 'state_conflict')
        self.discard(twice)  # the operator checked: a resend, not a second unit
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1, lot='SN-PB-78'), 'mrp.production')
        self.assertRecordValues(mo, [{'qty_producing': 2.0}])
        self.assertEqual(sorted(mo.lot_producing_ids.mapped('name')), ['SN-PB-77', 'SN-PB-78'])

    def test_serial_product_without_serial_is_refused(self):
        """Once an order has a serial, a unit reported without one was not applied as nothing."""
        mo = self.new_mo('mrp.product_product_computer_desk_head', qty=2.0)  # FURN_8522 Table Top, serial
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1, lot='SN-PB-80'), 'mrp.production')
        unit = self.post_one('production', order=mo.name, quantity=1)
        self.assertRejected(unit, 'unknown_lot')
        self.assertRecordValues(mo, [{'qty_producing': 1.0}])
        # the finish does not complete the order behind the refused unit: it waits
        finish = self.post_one('production', order=mo.name, quantity=0, finish=True, backorder=False)
        self.assertEqual((finish['status'], finish['code']), ('deferred', 'parked_behind_rejection'))
        self.assertEqual(mo.state, 'progress')
        # the operator finds the unit was a miscount and discards it: a bare finish needs no
        # serial, it completes the serials reported
        self.discard(unit)
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied', 'res_model': 'mrp.production'}])
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 1.0}])

    def test_serial_in_stock_is_refused_as_odoo_warns(self):
        mo = self.mo_table_top  # FURN_8522 Table Top; TT001 is in WH/Stock
        lot = self.env['stock.lot'].search([('name', '=', 'TT001'), ('product_id', '=', mo.product_id.id)])
        self.assertIsNot(mo._can_produce_serial_numbers(lot), True)  # Odoo's form warns on this serial
        self.assertRejected(self.post_one('production', order=mo.name, quantity=1, lot='TT001'), 'state_conflict')
        self.assertRecordValues(mo, [{'lot_producing_ids': [], 'qty_producing': 0.0}])

    def test_serial_produced_by_another_order_is_refused(self):
        top = 'mrp.product_product_computer_desk_head'  # FURN_8522 Table Top, untracked components
        first, second = self.new_mo(top, qty=1.0), self.new_mo(top, qty=1.0)
        self.assertApplied(self.post_one('production', order=first.name, quantity=1, lot='SN-PB-90', finish=True),
                           'mrp.production')
        self.assertRejected(self.post_one('production', order=second.name, quantity=1, lot='SN-PB-90'),
                            'state_conflict')
        self.assertRecordValues(second, [{'state': 'confirmed', 'lot_producing_ids': []}])
        # the oracle: a person producing that serial again is stopped at Mark as Done
        second.lot_producing_ids = first.lot_producing_ids
        second.qty_producing = 1
        with self.assertRaises(UserError):
            second.button_mark_done()

    def test_order_of_another_warehouse_is_unknown(self):
        warehouse = self.env['stock.warehouse'].create({'name': 'Second WH', 'code': 'WH2'})
        form_mo = self.new_mo(confirm=False)
        form_mo.picking_type_id = warehouse.manu_type_id
        form_mo.action_confirm()
        self.assertRejected(self.post_one('production', order=form_mo.name, quantity=1, lot='SN-X'),
                            'unknown_order')
