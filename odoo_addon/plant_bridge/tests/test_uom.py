from odoo.tests import tagged

from .differential import EVENTS, MANUAL, DifferentialCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestUnitsOfMeasure(DifferentialCase):
    """Quantities the plant reports in a unit of its own (`uom`) are converted as Odoo converts
    them, into the unit of the move they land on; a unit Odoo does not know, or one that does not
    measure the same thing, is refused `bad_uom`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.unit, cls.dozen = cls.env.ref('uom.product_uom_unit'), cls.env.ref('uom.product_uom_dozen')
        cls.kg, cls.gram = cls.env.ref('uom.product_uom_kgm'), cls.env.ref('uom.product_uom_gram')
        cls.dozen.active = True  # archived in a new database: a plant counting in dozens has it active
        Product = cls.env['product.product']
        # glue is stocked and consumed in kg; resin is stocked in kg but the BOM measures it in g
        cls.glue = Product.create({'name': 'PB Glue', 'default_code': 'PB_GLUE', 'is_storable': True,
                                   'uom_id': cls.kg.id})
        cls.resin = Product.create({'name': 'PB Resin', 'default_code': 'PB_RESIN', 'is_storable': True,
                                    'uom_id': cls.kg.id})
        cls.panel = Product.create({'name': 'PB Panel', 'default_code': 'PB_PANEL', 'is_storable': True,
                                    'uom_id': cls.unit.id})
        cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.panel.product_tmpl_id.id, 'product_qty': 1,
            'consumption': 'flexible',
            'bom_line_ids': [
                (0, 0, {'product_id': cls.glue.id, 'product_qty': 0.25, 'product_uom_id': cls.kg.id}),
                (0, 0, {'product_id': cls.resin.id, 'product_qty': 200, 'product_uom_id': cls.gram.id}),
            ],
        })
        stock = cls.env.ref('stock.warehouse0').lot_stock_id
        for product in (cls.glue, cls.resin):
            cls.env['stock.quant']._update_available_quantity(product, stock, 100)

    def test_consumption_in_another_unit_than_the_move(self):
        """The plant weighs glue in grams and resin in kilograms; Odoo's moves are in kg and g."""
        manual_mo, event_mo = self.twin_orders('PB_PANEL', 2)
        self.assertEqual(event_mo.move_raw_ids.mapped('product_uom'), self.kg | self.gram)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=2)
            self.form_consume(manual_mo, 'PB_GLUE', 0.75)
            self.form_consume(manual_mo, 'PB_RESIN', 300)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('consumption', {'product': 'PB_GLUE', 'quantity': 500, 'uom': 'g'}),
                            ('consumption', {'product': 'PB_GLUE', 'quantity': 250, 'uom': 'g'}),
                            ('consumption', {'product': 'PB_RESIN', 'quantity': 0.3, 'uom': 'kg'}),
                            ('production', {'quantity': 2, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_production_in_dozens(self):
        """An order of 24 panels (Units); the counter reports a dozen, then 12 units."""
        manual_mo, event_mo = self.twin_orders('PB_PANEL', 24)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=24)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'quantity': 1, 'uom': 'Dozens'}),
                            ('production', {'quantity': 12, 'uom': 'Units', 'finish': True}))
        self.assertSameOutcome(manual, events)
        self.assertEqual(event_mo.plant_bridge_qty_reported, 24.0)

    def test_workorder_finished_in_dozens(self):
        mo = self.mo_desk  # 3 units, one work order
        self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='started')
        result = self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                               status='finished', quantity=0.25, uom='Dozens')
        self.assertApplied(result, 'mrp.workorder')
        self.assertRecordValues(mo, [{'qty_producing': 3.0, 'plant_bridge_qty_reported': 0.0,
                                      'plant_bridge_qty_workorder': 3.0}])

    def test_scrap_in_another_unit(self):
        """A unit the scrap form offers for the product (its packagings) is kept; any other unit
        is converted to the product's, as a person would type it."""
        self.panel.uom_ids = self.dozen
        scrap = self.assertApplied(self.post_one('scrap', product='PB_PANEL', quantity=1, uom='Dozens'),
                                   'stock.scrap')
        self.assertRecordValues(scrap, [{'scrap_qty': 1.0, 'product_uom_id': self.dozen.id, 'state': 'done'}])
        self.assertEqual(scrap.move_ids.product_qty, 12.0)
        scrap = self.assertApplied(self.post_one('scrap', product='PB_GLUE', quantity=500, uom='g'), 'stock.scrap')
        self.assertRecordValues(scrap, [{'scrap_qty': 0.5, 'product_uom_id': self.kg.id, 'state': 'done'}])

    def test_unknown_or_unrelated_unit_is_refused(self):
        mo, _twin = self.twin_orders('PB_PANEL', 2)
        self.env.ref('uom.product_uom_pack_6').active = False  # archived: Odoo's screens no longer offer it
        for event_type, fields_ in (
                ('consumption', {'order': mo.name, 'product': 'PB_GLUE', 'quantity': 1, 'uom': 'Parsecs'}),
                ('consumption', {'order': mo.name, 'product': 'PB_GLUE', 'quantity': 1, 'uom': 'Units'}),
                ('production', {'order': mo.name, 'quantity': 1, 'uom': 'kg'}),
                ('production', {'order': mo.name, 'quantity': 1, 'uom': 'Pack of 6'}),
                ('scrap', {'product': 'PB_PANEL', 'quantity': 1, 'uom': 'L'}),
                ('workorder_status', {'order': self.mo_desk.name, 'operation': 'Manual Assembly',
                                      'status': 'finished', 'quantity': 1, 'uom': 'g'})):
            with self.subTest(event_type=event_type, uom=fields_['uom']):
                result = self.post_one(event_type, **fields_)
                self.assertRejected(result, 'bad_uom')
                self.discard(result)  # else it holds the order's next movements (see test_parking)
        self.assertRejected(self.post_one('production', order=mo.name, quantity=1, uom=12), 'schema')
        self.assertRecordValues(mo, [{'qty_producing': 0.0}])
        self.assertFalse(mo.move_raw_ids.filtered('picked'))
