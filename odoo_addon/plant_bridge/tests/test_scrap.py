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

    def test_scrap_from_a_named_location_as_the_scrap_form_does(self):
        """A person picks the shelf in the scrap form's Source Location; the plant names it."""
        stock = self.site.warehouse_id.lot_stock_id
        shelf = self.env['stock.location'].create({'name': 'PB Scrap Shelf', 'location_id': stock.id,
                                                   'barcode': 'PB-SCRAP-SHELF'})
        product = self.env['product.product'].search([('default_code', '=', 'FURN_7800')])
        Quant = self.env['stock.quant']
        Quant._update_available_quantity(product, shelf, 10)
        manual = self.env['stock.scrap'].create({
            'product_id': product.id, 'scrap_qty': 2, 'location_id': shelf.id,
            'company_id': self.site.company_id.id})
        manual.action_validate()
        by_name = self.assertApplied(
            self.post_one('scrap', product='FURN_7800', quantity=2, location=shelf.complete_name), 'stock.scrap')
        by_barcode = self.assertApplied(
            self.post_one('scrap', product='FURN_7800', quantity=1, location='PB-SCRAP-SHELF'), 'stock.scrap')
        fields_ = ['product_id', 'scrap_qty', 'location_id', 'scrap_location_id', 'state']
        self.assertEqual(by_name.read(fields_)[0] | {'id': 0}, manual.read(fields_)[0] | {'id': 0})
        self.assertEqual(by_barcode.location_id, shelf)
        # the goods left the shelf, as the form's scrap takes them: 10 - 2 - 2 - 1
        self.assertEqual(Quant._get_available_quantity(product, shelf), 5)
        self.assertEqual(by_name.move_ids.location_id, shelf)

    def test_scrap_from_an_unknown_location_is_refused(self):
        self.assertRejected(self.post_one('scrap', product='FURN_7800', quantity=1, location='WH/Nowhere'),
                            'unknown_location')
        # a location of no warehouse of the site (a partner location) is not a place to scrap from
        self.assertRejected(self.post_one('scrap', product='FURN_7800', quantity=1,
                                          location=self.env.ref('stock.stock_location_customers').complete_name),
                            'unknown_location')

    def test_scrap_output_of_a_done_order_as_its_scrap_button_does(self):
        mo = self.mo_done
        self.assertEqual(mo.state, 'done')
        lot = mo.lot_producing_ids[:1]
        product = mo.product_id
        # what the done order's Scrap button makes: the finished product from the order's destination
        manual = self.env['stock.scrap'].create({
            'product_id': product.id, 'scrap_qty': 1, 'lot_id': lot.id, 'production_id': mo.id,
            'location_id': mo.location_dest_id.id, 'company_id': mo.company_id.id, 'origin': mo.name})
        manual.action_validate()
        event = self.assertApplied(self.post_one('scrap', product=product.default_code, quantity=1,
                                                 lot=lot.name, order=mo.name), 'stock.scrap')
        fields_ = ['product_id', 'scrap_qty', 'lot_id', 'location_id', 'production_id', 'origin', 'state']
        self.assertEqual(event.read(fields_)[0] | {'id': 0}, manual.read(fields_)[0] | {'id': 0})
        # a cancelled order still refuses
        cancelled = self.mo_desk.copy()
        cancelled.action_cancel()
        self.assertRejected(self.post_one('scrap', product='FURN_7800', quantity=1, order=cancelled.name),
                            'state_conflict')
