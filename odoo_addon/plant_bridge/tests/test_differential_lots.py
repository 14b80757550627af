from odoo import Command
from odoo.tests import Form, tagged

from .differential import EVENTS, MANUAL, DifferentialCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDifferentialLots(DifferentialCase):
    """Lot-tracked production with a by-product: the same story by hand and as events."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env['product.product']
        cls.powder = Product.create({'name': 'PB Powder', 'default_code': 'PB_POWDER', 'is_storable': True})
        cls.offcut = Product.create({'name': 'PB Offcut', 'default_code': 'PB_OFFCUT', 'is_storable': True})
        cls.tile = Product.create({'name': 'PB Tile', 'default_code': 'PB_TILE', 'is_storable': True,
                                   'tracking': 'lot'})
        cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.tile.product_tmpl_id.id, 'product_qty': 1,
            'bom_line_ids': [Command.create({'product_id': cls.powder.id, 'product_qty': 2})],
            'byproduct_ids': [Command.create({'product_id': cls.offcut.id, 'product_qty': 0.5})],
        })
        # a slab leaves chips worth keeping, traced by lot
        cls.chips = Product.create({'name': 'PB Chips', 'default_code': 'PB_CHIPS', 'is_storable': True,
                                    'tracking': 'lot'})
        cls.slab = Product.create({'name': 'PB Slab', 'default_code': 'PB_SLAB', 'is_storable': True})
        cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.slab.product_tmpl_id.id, 'product_qty': 1,
            'bom_line_ids': [Command.create({'product_id': cls.powder.id, 'product_qty': 1})],
            'byproduct_ids': [Command.create({'product_id': cls.chips.id, 'product_qty': 1})],
        })
        stock = cls.env.ref('stock.warehouse0').lot_stock_id
        cls.env['stock.quant']._update_available_quantity(cls.powder, stock, 100)

    def form_byproduct(self, production, product, quantity, lot=None):
        """The By-products tab: the produced quantity of an untracked by-product, or the move's
        detailed operations (a line with its lot) for a tracked one, marked produced."""
        index = next(i for i, move in enumerate(production.move_byproduct_ids) if move.product_id == product)
        move = production.move_byproduct_ids[index]
        if move.has_tracking == 'none':
            with Form(production) as form, form.move_byproduct_ids.edit(index) as line:
                line.quantity = quantity
                line.picked = True
            return
        action = move.action_show_details()
        with Form(move.with_context(**action['context']), view=action['views'][0][0]) as form:
            while len(form.move_line_ids):
                form.move_line_ids.remove(0)
            with form.move_line_ids.new() as line:
                line.lot_id = self.lot(product, lot)
                line.quantity = quantity
        move.picked = True

    def backorder_of(self, production):
        return (production.production_group_id.production_ids - production).filtered(
            lambda mo: mo.state not in ('done', 'cancel'))

    def test_lot_change_closes_and_continues_on_a_backorder(self):
        """2 tiles produced under lot L1, then the plant switches to lot L2 for the last one:
        by hand, Mark as Done with a backorder, the backorder produced under L2."""
        manual_mo, event_mo = self.twin_orders('PB_TILE', 3)
        released = event_mo.name
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=2, lot=MANUAL + 'L1')
            self.mark_done(manual_mo, backorder=True)
            backorder = self.backorder_of(manual_mo)
            self.form_produce(backorder, quantity=1, lot=MANUAL + 'L2')
            self.mark_done(backorder)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'quantity': 2, 'lot': EVENTS + 'L1'}),
                            ('production', {'quantity': 1, 'lot': EVENTS + 'L2'}))
            backorder = self.backorder_of(event_mo)
            self.assertEqual(len(backorder), 1)
            # the plant goes on under the order's key it was released with: the backorder
            self.post_story(event_mo, ('production', {'quantity': 0, 'finish': True, 'order': released}))
        self.assertSameOutcome(manual, events)
        by_lot = {
            line.lot_id.name: line.quantity
            for line in (event_mo | backorder).move_finished_ids.move_line_ids if line.product_id == self.tile}
        self.assertEqual(by_lot, {EVENTS + 'L1': 2.0, EVENTS + 'L2': 1.0})

    def test_plant_lot_replaces_a_lot_chosen_in_odoo_before_production(self):
        """A planner picked lot L1 in the MO form; the plant produces under L2 before anything
        was produced: the lot field changed in the form, no backorder."""
        manual_mo, event_mo = self.twin_orders('PB_TILE', 2)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, lot=MANUAL + 'L1')
            manual_mo.action_clear_lot_producing_ids()  # the form's Clear button next to the lot
            self.form_produce(manual_mo, quantity=2, lot=MANUAL + 'L2')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.form_produce(event_mo, lot=EVENTS + 'L1')
            self.post_story(event_mo, ('production', {'quantity': 2, 'lot': EVENTS + 'L2', 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_byproduct_proposed_as_the_form_does(self):
        """Nothing reported for the by-product: Odoo's proposal stands, on both twins."""
        manual_mo, event_mo = self.twin_orders('PB_TILE', 4)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=4, lot=MANUAL + 'L1')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo, ('production', {'quantity': 4, 'lot': EVENTS + 'L1', 'finish': True}))
        self.assertSameOutcome(manual, events)
        offcuts = event_mo.move_byproduct_ids
        self.assertRecordValues(offcuts, [{'state': 'done', 'quantity': 2.0}])

    def test_byproduct_reported_with_its_lot(self):
        """3 slabs, the plant reports 2 kg of chips under lot C1 (Odoo proposed 3, without lot)."""
        manual_mo, event_mo = self.twin_orders('PB_SLAB', 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=3)
            self.form_byproduct(manual_mo, self.chips, 2, lot=MANUAL + 'C1')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'quantity': 2}),
                            ('production', {'quantity': 1, 'finish': True, 'byproducts': [
                                {'product': 'PB_CHIPS', 'quantity': 2, 'lot': EVENTS + 'C1'}]}))
        self.assertSameOutcome(manual, events)
        self.assertRecordValues(event_mo.move_byproduct_ids.move_line_ids, [
            {'lot_id': self.lot(self.chips, EVENTS + 'C1').id, 'quantity': 2.0, 'state': 'done'}])

    def test_byproduct_refusals(self):
        production = self.twin_orders('PB_SLAB', 1)[0]
        cases = [
            ({'product': 'PB_CHIPS', 'quantity': 1}, 'unknown_lot'),
            ({'product': 'PB_POWDER', 'quantity': 1}, 'state_conflict'),
            ({'product': 'PB_CHIPS', 'quantity': -1, 'lot': 'C9'}, 'bad_quantity'),
            ({'product': 'NOPE', 'quantity': 1}, 'unknown_product'),
        ]
        for byproduct, code in cases:
            result = self.post_one('production', order=production.name, quantity=1, byproducts=[byproduct])
            self.assertRejected(result, code)
            self.discard(result)
        self.assertRejected(self.post_one('production', order=production.name, quantity=1, byproducts={'x': 1}),
                            'schema')
        self.assertFalse(production.move_byproduct_ids.move_line_ids.lot_id)
