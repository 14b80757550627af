from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSystemOfRecord(PlantBridgeCase):
    """The site's system-of-record matrix decides what the plant may report: an event about data
    Odoo owns is refused with `not_system_of_record` (and can be replayed once the matrix says
    the plant owns it); releases are not sent to a plant that releases its own orders."""

    def set_owner(self, domain, owner):
        self.site.sor_ids.filtered(lambda row: row.domain == domain).owner = owner

    def test_default_matrix_lets_the_plant_report(self):
        self.assertEqual({row.domain: row.owner for row in self.site.sor_ids if row.owner == 'plant'},
                         {'lots': 'plant', 'consumption': 'plant', 'confirmation': 'plant',
                          'quality_hold': 'plant', 'machine_states': 'plant'})

    def test_consumption_owned_by_odoo_is_refused_then_replayed(self):
        mo = self.mo_desk
        move = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')
        before = move.quantity
        self.set_owner('consumption', 'odoo')
        event = self.event('consumption', order=mo.name, product='FURN_0269', quantity=2)
        result = self.post(event)[0]
        self.assertRejected(result, 'not_system_of_record')
        self.assertIn('Odoo is the system of record for consumption at site main', result['message'])
        self.assertRecordValues(move, [{'quantity': before, 'picked': False}])
        # the operator decides the plant owns it after all: the same event, posted again, applies
        self.set_owner('consumption', 'plant')
        self.assertApplied(self.post(event)[0], 'stock.move')
        self.assertRecordValues(move, [{'quantity': 2.0, 'picked': True}])

    def test_lots_owned_by_odoo_are_not_created_by_the_plant(self):
        self.set_owner('lots', 'odoo')
        form = Form(self.env['mrp.production'])
        form.product_id = self.mo_done.product_id  # lot-tracked
        form.product_qty = 2
        production = form.save()
        production.action_confirm()
        Lot = self.env['stock.lot']
        event = self.event('production', order=production.name, quantity=1, lot='PB-PLANT-LOT')
        result = self.post(event)[0]
        self.assertRejected(result, 'unknown_lot')
        self.assertIn('system of record for lots', result['message'])
        self.assertFalse(Lot.search([('name', '=', 'PB-PLANT-LOT')]))
        self.assertRecordValues(production, [{'qty_producing': 0.0, 'lot_producing_ids': []}])
        # the lot created in Odoo, the same event applies
        lot = Lot.create({'name': 'PB-PLANT-LOT', 'product_id': production.product_id.id})
        self.assertApplied(self.post(event)[0], 'mrp.production')
        self.assertRecordValues(production, [{'qty_producing': 1.0, 'lot_producing_ids': lot.ids}])

    def test_lots_owned_by_the_plant_are_created(self):
        form = Form(self.env['mrp.production'])
        form.product_id = self.mo_done.product_id
        form.product_qty = 2
        production = form.save()
        production.action_confirm()
        self.assertApplied(self.post_one('production', order=production.name, quantity=1, lot='PB-PLANT-LOT2'),
                           'mrp.production')
        self.assertEqual(production.lot_producing_ids.name, 'PB-PLANT-LOT2')

    def test_confirmation_owned_by_odoo_refuses_production_and_workorder_status(self):
        self.set_owner('confirmation', 'odoo')
        mo = self.mo_desk
        self.assertRejected(self.post_one('production', order=mo.name, quantity=3, finish=True),
                            'not_system_of_record')
        self.assertRejected(self.post_one('workorder_status', order=mo.name, operation='Assembly',
                                          status='started'), 'not_system_of_record')
        self.assertEqual(mo.state, 'confirmed')
        # other kinds of event are not concerned
        self.assertApplied(self.post_one('scrap', product='FURN_7800', quantity=1), 'stock.scrap')

    def test_quality_hold_owned_by_odoo_refuses_holds_only(self):
        self.set_owner('quality_hold', 'odoo')
        mo = self.mo_desk
        self.assertRejected(self.post_one('quality', test='Leak test', result='fail', hold=True, order=mo.name),
                            'not_system_of_record')
        quality = self.assertApplied(self.post_one('quality', test='Leak test', result='fail', order=mo.name),
                                     'plant_bridge.quality.result')
        self.assertRecordValues(quality, [{'hold': False}])

    def test_plant_owned_release_sends_no_release(self):
        Outbound = self.env['plant_bridge.outbound']
        released = self.mo_table
        released.action_confirm()  # released while Odoo owns release
        self.set_owner('order_release', 'plant')
        other = released.copy()
        other.action_confirm()
        self.assertFalse(Outbound.search([('production_id', '=', other.id)]))
        # an order Odoo released before the switch is still cancelled on the plant side
        released.action_cancel()
        self.assertEqual(Outbound.search([('production_id', '=', released.id)]).mapped('event_type'),
                         ['order_release', 'order_cancel'])
