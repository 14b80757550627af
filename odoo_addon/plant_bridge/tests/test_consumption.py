from unittest.mock import patch

from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestConsumption(PlantBridgeCase):

    def test_untracked_component(self):
        mo = self.mo_desk
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')
        result = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=2)
        self.assertEqual(self.assertApplied(result, 'stock.move'), move)
        self.assertRecordValues(move, [{'quantity': 2.0, 'picked': True, 'manual_consumption': True}])
        self.assertEqual(sum(move.move_line_ids.mapped('quantity')), 2.0)
        # a second report adds to the first
        self.assertApplied(self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=0.5),
                           'stock.move')
        self.assertRecordValues(move, [{'quantity': 2.5}])
        self.assertRecordValues(self.message_of(result), [{
            'production_id': mo.id, 'product_id': move.product_id.id}])

    def test_reported_consumption_survives_production(self):
        mo = self.mo_desk
        self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=1)
        self.post_one('production', order=mo.name, quantity=3, finish=True)
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')
        self.assertRecordValues(move, [{'state': 'done', 'quantity': 1.0}])
        self.assertRecordValues(mo, [{'state': 'done'}])

    def test_lot_tracked_component(self):
        mo = self.mo_table
        mo.action_confirm()
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_8522')
        result = self.post_one('consumption', order=mo.name, product='FURN_8522', quantity=1, lot='TT003')
        self.assertEqual(self.assertApplied(result, 'stock.move'), move)
        lot = self.env['stock.lot'].search([('name', '=', 'TT003'), ('product_id', '=', move.product_id.id)])
        self.assertRecordValues(move.move_line_ids, [{'lot_id': lot.id, 'quantity': 1.0}])
        self.assertRecordValues(move, [{'picked': True}])
        self.assertRecordValues(self.message_of(result), [{'lot_id': lot.id}])

    def test_rejections(self):
        mo = self.mo_desk
        result = self.post_one('consumption', order=mo.name, product='NOPE-1', quantity=1)
        self.assertRejected(result, 'unknown_product')
        self.discard(result)  # else it holds the order's next movements (see test_parking)
        result = self.post_one('consumption', order=mo.name, product='FURN_7800', quantity=1)
        self.assertRejected(result, 'state_conflict')
        self.discard(result)
        self.assertRejected(self.post_one('consumption', order='WH/MO/99999', product='FURN_0269', quantity=1),
                            'unknown_order')
        self.assertRejected(self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=0),
                            'bad_quantity')
        self.mo_table.action_confirm()
        result = self.post_one('consumption', order=self.mo_table.name, product='FURN_8522', quantity=1)
        self.assertRejected(result, 'unknown_lot')
        self.discard(result)
        self.assertRejected(self.post_one('consumption', order=self.mo_table.name, product='FURN_8522', quantity=1,
                                          lot='NO-SUCH-LOT'), 'unknown_lot')

    def test_lot_taken_where_it_is_and_checked(self):
        mo = self.mo_table
        mo.action_confirm()
        leg = self.env['product.product'].search([('default_code', '=', 'FURN_2333')])
        stock = self.site.warehouse_id.lot_stock_id
        shelf = self.env['stock.location'].create({'name': 'PB Leg Shelf', 'location_id': stock.id})
        Lot = self.env['stock.lot']
        on_shelf = Lot.create({'name': 'LEG-SHELF', 'product_id': leg.id})
        Lot.create({'name': 'LEG-NONE', 'product_id': leg.id})
        self.env['stock.quant']._update_available_quantity(leg, shelf, 6, lot_id=on_shelf)
        move = mo.move_raw_ids.filtered(lambda m: m.product_id == leg)

        self.assertApplied(self.post_one('consumption', order=mo.name, product='FURN_2333', quantity=4,
                                         lot='LEG-SHELF'), 'stock.move')
        self.assertRecordValues(move.move_line_ids, [{'lot_id': on_shelf.id, 'quantity': 4.0, 'location_id': shelf.id}])
        # more than the lot has left, or a lot with no stock: refused, nothing booked (the order's
        # next movement waits behind the refusal until it is discarded, then is judged in turn)
        too_much = self.post_one('consumption', order=mo.name, product='FURN_2333', quantity=3, lot='LEG-SHELF')
        self.assertRejected(too_much, 'state_conflict')
        no_stock = self.post_one('consumption', order=mo.name, product='FURN_2333', quantity=1, lot='LEG-NONE')
        self.assertEqual((no_stock['status'], no_stock['code']), ('deferred', 'parked_behind_rejection'))
        self.discard(too_much)
        self.assertRecordValues(self.message_of(no_stock), [{'state': 'rejected', 'error_code': 'state_conflict'}])
        self.discard(no_stock)
        self.assertApplied(self.post_one('consumption', order=mo.name, product='FURN_2333', quantity=2,
                                         lot='LEG-SHELF'), 'stock.move')
        self.assertRecordValues(move.move_line_ids, [{'lot_id': on_shelf.id, 'quantity': 6.0, 'location_id': shelf.id}])
        self.assertFalse(self.env['stock.quant'].search([('product_id', '=', leg.id), ('quantity', '<', 0)]))

    def test_serial_consumed_once(self):
        mo = self.mo_table
        mo.action_confirm()
        self.assertApplied(self.post_one('consumption', order=mo.name, product='FURN_8522', quantity=1, lot='TT003'),
                           'stock.move')
        self.assertRejected(self.post_one('consumption', order=mo.name, product='FURN_8522', quantity=1, lot='TT003'),
                            'state_conflict')
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_8522')
        self.assertRecordValues(move.move_line_ids, [{'lot_id': move.move_line_ids.lot_id.id, 'quantity': 1.0}])

    def test_batch_looks_a_lot_up_once(self):
        """Three reports of the same component lot in one batch: the lot is searched for once,
        the later events take it from the batch's cache (a query per event saved), and all three
        land on it."""
        mo = self.mo_table
        mo.action_confirm()
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_8522')
        lot = self.env['stock.lot'].search([('name', '=', 'TT003'), ('product_id', '=', move.product_id.id)])
        self.env['stock.quant']._update_available_quantity(move.product_id, move.location_id, 5, lot_id=lot)
        Lot = type(self.env['stock.lot'])
        searches = []
        search = Lot.search

        def counting(records, domain, *args, **kwargs):
            if ('name', '=', 'TT003') in list(domain):
                searches.append(domain)
            return search(records, domain, *args, **kwargs)
        events = [self.event('consumption', order=mo.name, product='FURN_8522', quantity=1, lot='TT003')
                  for _i in range(3)]
        with patch.object(Lot, 'search', counting):
            results = self.post(*events)
        self.assertEqual([r['status'] for r in results], ['applied'] * 3)
        self.assertEqual(len(searches), 1)
        self.assertEqual(sum(move.move_line_ids.filtered(lambda ml: ml.lot_id == lot).mapped('quantity')), 3.0)
