from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestScrap(PlantBridgeCase):

    def test_scrap_from_stock(self):
        product = self.env['product.product'].search([('default_code', '=', 'FURN_7800')])
        before = product.qty_available
        result = self.post_one('scrap', product='FURN_7800', quantity=2, reason='Damaged on the line')
        scrap = self.assertApplied(result, 'stock.scrap')
        self.assertRecordValues(scrap, [{
            'product_id': product.id, 'scrap_qty': 2.0, 'state': 'done',
            'location_id': self.site.warehouse_id.lot_stock_id.id, 'production_id': False,
        }])
        self.assertEqual(scrap.scrap_reason_tag_ids.mapped('name'), ['Damaged on the line'])
        self.assertEqual(product.with_context(warehouse_id=self.site.warehouse_id.id).qty_available, before - 2)
        self.assertEqual(result['ref']['name'], scrap.display_name)

    def test_scrap_component_of_an_order(self):
        mo = self.mo_desk
        scrap = self.assertApplied(
            self.post_one('scrap', product='FURN_0269', quantity=1, order=mo.name), 'stock.scrap')
        self.assertRecordValues(scrap, [{'production_id': mo.id, 'state': 'done',
                                         'location_id': mo.location_src_id.id, 'origin': mo.name}])
        self.assertIn(scrap, mo.scrap_ids)

    def test_scrap_lot(self):
        scrap = self.assertApplied(self.post_one('scrap', product='FURN_8522', quantity=1, lot='TT004'), 'stock.scrap')
        self.assertRecordValues(scrap, [{'state': 'done', 'lot_id': self.env['stock.lot'].search(
            [('name', '=', 'TT004')]).id}])

    def test_rejections(self):
        self.assertRejected(self.post_one('scrap', product='NOPE', quantity=1), 'unknown_product')
        self.assertRejected(self.post_one('scrap', product='FURN_7800', quantity=-3), 'bad_quantity')
        self.assertRejected(self.post_one('scrap', product='FURN_8522', quantity=1, lot='NOPE'), 'unknown_lot')
        self.assertRejected(self.post_one('scrap', product='FURN_7800', quantity=1, order='WH/MO/404'),
                            'unknown_order')
