from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestQuality(PlantBridgeCase):

    def test_pass_result(self):
        result = self.post_one('quality', test='Flatness', result='pass', value=0.02, order=self.mo_desk.name)
        quality = self.assertApplied(result, 'plant_bridge.quality.result')
        self.assertRecordValues(quality, [{
            'name': 'Flatness', 'result': 'pass', 'value': '0.02', 'production_id': self.mo_desk.id,
            'product_id': self.mo_desk.product_id.id, 'hold': False, 'hold_state': 'none', 'site_id': self.site.id,
        }])

    def test_hold_blocks_completion_until_released(self):
        mo = self.mo_desk
        quality = self.assertApplied(self.post_one('quality', test='Leak test', result='fail', hold=True,
                                                   order=mo.name), 'plant_bridge.quality.result')
        self.assertRecordValues(quality, [{'hold': True, 'hold_state': 'held'}])
        finish = self.event('production', order=mo.name, quantity=3, finish=True)
        deferred = self.post(finish)[0]
        self.assertEqual((deferred['status'], deferred['code']), ('deferred', 'quality_hold'))
        self.assertEqual(mo.state, 'confirmed')
        # nor can a user bypass it in the UI
        mo.qty_producing = 3
        with self.assertRaises(UserError):
            mo.button_mark_done()
        # a plain Plant Bridge user may not release it
        user = self.env['res.users'].create({
            'name': 'PB User', 'login': 'pb_user_q',
            'group_ids': [(6, 0, self.env.ref('plant_bridge.group_user').ids)]})
        with self.assertRaises(UserError):
            quality.with_user(user).action_release_hold()
        quality.action_release_hold()
        self.assertRecordValues(quality, [{'hold_state': 'released', 'released_by_id': self.env.uid}])
        self.assertIn('released', ' '.join(quality.message_ids.mapped('body')))
        # the finish that waited for the release is posted again: the order completes
        self.assertRecordValues(self.message_of(deferred), [{'state': 'applied', 'res_model': 'mrp.production'}])
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0}])
        self.assertEqual(self.post(finish)[0]['status'], 'duplicate')

    def test_hold_blocks_shipping_the_lot(self):
        product = self.env['product.product'].search([('default_code', '=', 'FURN_8522')])
        lot = self.env['stock.lot'].search([('name', '=', 'TT005'), ('product_id', '=', product.id)])
        self.post_one('quality', test='Surface', result='fail', hold=True, product='FURN_8522', lot='TT005')
        self.assertTrue(lot.plant_bridge_hold)
        self.assertIn(lot, self.env['stock.lot'].search([('plant_bridge_hold', '=', True)]))
        warehouse = self.site.warehouse_id
        picking = self.env['stock.picking'].create({
            'picking_type_id': warehouse.out_type_id.id,
            'location_id': warehouse.lot_stock_id.id,
            'location_dest_id': self.env.ref('stock.stock_location_customers').id,
            'move_ids': [(0, 0, {'product_id': product.id, 'product_uom_qty': 1,
                                 'location_id': warehouse.lot_stock_id.id,
                                 'location_dest_id': self.env.ref('stock.stock_location_customers').id})],
        })
        picking.action_confirm()
        picking.move_ids.move_line_ids.unlink()
        self.env['stock.move.line'].create(dict(picking.move_ids._prepare_move_line_vals(quantity=1), lot_id=lot.id))
        picking.move_ids.picked = True
        with self.enter_registry_test_mode(), self.assertRaises(UserError):
            picking._action_done()
        self.env['plant_bridge.quality.result'].search([('lot_id', '=', lot.id)]).action_release_hold()
        picking._action_done()
        self.assertEqual(picking.state, 'done')

    def test_rejections(self):
        self.assertRejected(self.post_one('quality', test='X', result='maybe'), 'schema')
        self.assertRejected(self.post_one('quality', test='X', result='fail', order='WH/MO/404'), 'unknown_order')
        self.assertRejected(self.post_one('quality', test='X', result='fail', product='NOPE'), 'unknown_product')
        self.assertRejected(self.post_one('quality', test='X', result='fail', product='FURN_8522', lot='NOPE'),
                            'unknown_lot')
        self.assertRejected(self.post_one('quality', result='fail'), 'schema')
