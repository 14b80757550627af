from odoo.tests import tagged

from .differential import EVENTS, MANUAL, DifferentialCase

DESK = 'FURN_7800'   # Desk Combination, untracked, BOM with warning consumption, one work order
TABLE = 'FURN_9666'  # Table, serial-tracked, serial top + lot-tracked legs, one work order


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDifferential(DifferentialCase):
    """Each test: one shop-floor story, by hand in Odoo and as the plant's events; same outcome."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        stock = cls.env.ref('stock.warehouse0').lot_stock_id
        Quant = cls.env['stock.quant']
        product = cls.env['product.product']
        for component in product.search([('default_code', 'in', ('FURN_0269', 'FURN_1118'))]):
            Quant._update_available_quantity(component, stock, 50)
        # drawers are kept on a shelf, a sub-location of the MO's source location
        cls.shelf = cls.env['stock.location'].create({'name': 'PB Shelf', 'location_id': stock.id})
        Quant._update_available_quantity(product.search([('default_code', '=', 'FURN_8900')]), cls.shelf, 50)
        # tracked components, one set per twin (a serial can be consumed once)
        top = product.search([('default_code', '=', 'FURN_8522')])
        leg = product.search([('default_code', '=', 'FURN_2333')])
        Lot = cls.env['stock.lot']
        for tag in (MANUAL, EVENTS):
            for name in ('TOP1', 'TOP2'):
                Quant._update_available_quantity(top, stock, 1, lot_id=Lot.create({'name': tag + name, 'product_id': top.id}))
            for name in ('LEG1', 'LEG2'):
                Quant._update_available_quantity(leg, stock, 10, lot_id=Lot.create({'name': tag + name, 'product_id': leg.id}))

    # ------------------------------------------------------------------ untracked
    def test_production_before_consumption_with_backorder(self):
        """Produce 2 of 3, then report 3 chairs consumed (one broke), finish with a backorder."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=2)
            self.form_consume(manual_mo, 'FURN_0269', 3)
            self.mark_done(manual_mo, backorder=True)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'quantity': 2}),
                            ('consumption', {'product': 'FURN_0269', 'quantity': 3}),
                            ('production', {'quantity': 0, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_consumption_before_production(self):
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=3)
            self.form_consume(manual_mo, 'FURN_0269', 2)
            self.form_consume(manual_mo, 'FURN_1118', 3.5)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('consumption', {'product': 'FURN_0269', 'quantity': 2}),
                            ('consumption', {'product': 'FURN_1118', 'quantity': 1.5}),
                            ('production', {'quantity': 1}),
                            ('consumption', {'product': 'FURN_1118', 'quantity': 2}),  # a second report adds
                            ('production', {'quantity': 2, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_late_consumption_after_workorder_finish(self):
        """The work order ends (Odoo proposes every component), the consumption arrives late."""
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', self.assembly_1))
        with self.story(manual_mo, MANUAL) as manual:
            manual_mo.workorder_ids.button_start()
            self.form_produce(manual_mo, quantity=3)
            manual_mo.workorder_ids.button_finish()
            self.form_consume(manual_mo, 'FURN_0269', 4)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'started'}),
                            ('production', {'quantity': 3}),
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'finished'}),
                            ('consumption', {'product': 'FURN_0269', 'quantity': 4}),
                            ('production', {'quantity': 0, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_consumption_taken_where_the_stock_is(self):
        """Drawers sit on a shelf under WH/Stock: reporting more than was reserved takes the
        extra from the shelf, as the MO form does, never a negative quant at WH/Stock."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=3)
            self.form_consume(manual_mo, 'FURN_8900', 5)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('consumption', {'product': 'FURN_8900', 'quantity': 4}),
                            ('consumption', {'product': 'FURN_8900', 'quantity': 1}),
                            ('production', {'quantity': 3, 'finish': True}))
        self.assertSameOutcome(manual, events)
        lines = event_mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_8900').move_line_ids
        self.assertEqual(lines.location_id, self.shelf)
        self.assertFalse(self.env['stock.quant'].search([('quantity', '<', 0), ('product_id', '=', lines.product_id.id)]))

    def test_scrap_and_repeated_events(self):
        """A chair scrapped at the line; the plant's connection resends events it already sent."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_scrap(manual_mo, 'FURN_0269', 1)
            self.form_produce(manual_mo, quantity=1)
            self.form_consume(manual_mo, 'FURN_0269', 2)
            self.mark_done(manual_mo, backorder=True)
        with self.story(event_mo, EVENTS) as events:
            scrap = self.event('scrap', order=event_mo.name, product='FURN_0269', quantity=1)
            production = self.event('production', order=event_mo.name, quantity=1)
            consumption = self.event('consumption', order=event_mo.name, product='FURN_0269', quantity=2)
            finish = self.event('production', order=event_mo.name, quantity=0, finish=True)
            results = self.post(scrap, production, consumption, production, consumption)
            self.assertEqual([r['status'] for r in results], ['applied'] * 3 + ['duplicate'] * 2)
            self.assertEqual([r['status'] for r in self.post(consumption, finish, production)],
                             ['duplicate', 'applied', 'duplicate'])
        self.assertSameOutcome(manual, events)

    # ------------------------------------------------------------------ tracked
    def test_serial_product_with_tracked_components(self):
        """A serial-tracked table: its serial, its top (serial) and legs (lot) reported after the
        work order ended, when Odoo had already proposed (and picked) components."""
        manual_mo, event_mo = self.twin_orders(TABLE, 1)
        with self.story(manual_mo, MANUAL) as manual:
            manual_mo.workorder_ids.button_start()
            self.form_produce(manual_mo, serials=[MANUAL + 'SN1'])
            manual_mo.workorder_ids.button_finish()
            self.form_consume(manual_mo, 'FURN_8522', 1, lot=MANUAL + 'TOP2')
            self.form_consume(manual_mo, 'FURN_2333', 4, lot=MANUAL + 'LEG2')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('workorder_status', {'operation': 'Assembly', 'status': 'started'}),
                            ('production', {'quantity': 1, 'lot': EVENTS + 'SN1'}),
                            ('workorder_status', {'operation': 'Assembly', 'status': 'finished'}),
                            ('consumption', {'product': 'FURN_8522', 'quantity': 1, 'lot': EVENTS + 'TOP2'}),
                            ('consumption', {'product': 'FURN_2333', 'quantity': 4, 'lot': EVENTS + 'LEG2'}),
                            ('production', {'quantity': 0, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_workorder_finished_with_a_quantity_then_finish(self):
        """The operation's end reports 2 of 3; the order's finish reports nothing more."""
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', self.assembly_1))
        with self.story(manual_mo, MANUAL) as manual:
            manual_mo.workorder_ids.button_start()
            self.form_produce(manual_mo, quantity=2)
            manual_mo.workorder_ids.button_finish()
            self.mark_done(manual_mo, backorder=True)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'started'}),
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'finished',
                                                  'quantity': 2}),
                            ('production', {'quantity': 0, 'finish': True}))
        self.assertSameOutcome(manual, events)

    def test_workorder_quantity_and_production_events_count_once(self):
        """The operation's end reports 2 of 3 and the order's counter reports the same 2 units:
        in Odoo the work order's quantity and the order's quantity producing are one field, so
        a person types 2 once; the plant's two reports of the same units must not make 4."""
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', self.assembly_1))
        with self.story(manual_mo, MANUAL) as manual:
            manual_mo.workorder_ids.button_start()
            self.form_produce(manual_mo, quantity=2)
            manual_mo.workorder_ids.button_finish()
            self.mark_done(manual_mo, backorder=True)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'started'}),
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'finished',
                                                  'quantity': 2}),
                            ('production', {'quantity': 1}),
                            ('production', {'quantity': 1, 'finish': True}))
        self.assertSameOutcome(manual, events)
        self.assertRecordValues(event_mo, [{'qty_produced': 2.0, 'plant_bridge_qty_reported': 2.0,
                                            'plant_bridge_qty_workorder': 2.0}])

    def test_production_events_not_overwritten_by_a_smaller_workorder_quantity(self):
        """The order's counter reports 3 units; the operation's end then reports 2 (its own
        count): the 3 units produced stand, as on the MO form where 3 was typed."""
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', self.assembly_1))
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=3)
            manual_mo.workorder_ids.button_start()
            manual_mo.workorder_ids.button_finish()
            self.mark_done(manual_mo, backorder=True)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'quantity': 1}),
                            ('production', {'quantity': 2}),
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'started'}),
                            ('workorder_status', {'operation': 'Manual Assembly', 'status': 'finished',
                                                  'quantity': 2}),
                            ('production', {'quantity': 0, 'finish': True}))
        self.assertSameOutcome(manual, events)
        self.assertEqual(event_mo.qty_produced, 3.0)

    # ------------------------------------------------------------------ late and rejected events
    def test_rejected_consumption_replayed_after_the_fix(self):
        """The plant reports a table top under a lot Odoo does not know, then the legs and the
        finish; the legs and the finish wait behind the refused top until the operator corrects
        the lot and replays it - then the order is as if a person had done it right."""
        manual_mo, event_mo = self.twin_orders(TABLE, 1)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, serials=[MANUAL + 'SN1'])
            self.form_consume(manual_mo, 'FURN_8522', 1, lot=MANUAL + 'TOP1')
            self.form_consume(manual_mo, 'FURN_2333', 4, lot=MANUAL + 'LEG1')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo, ('production', {'quantity': 1, 'lot': EVENTS + 'SN1'}))
            top, legs, finish = self.post(
                self.event('consumption', order=event_mo.name, product='FURN_8522', quantity=1, lot=EVENTS + 'TOP9'),
                self.event('consumption', order=event_mo.name, product='FURN_2333', quantity=4, lot=EVENTS + 'LEG1'),
                self.event('production', order=event_mo.name, quantity=0, finish=True))
            self.assertEqual([(r['status'], r.get('code')) for r in (top, legs, finish)], [
                ('rejected', 'unknown_lot'), ('deferred', 'parked_behind_rejection'),
                ('deferred', 'parked_behind_rejection')])
            self.assertNotEqual(event_mo.state, 'done')
            message = self.message_of(top)
            message.payload = message.payload.replace(EVENTS + 'TOP9', EVENTS + 'TOP1')
            message.action_replay_edited()
            self.assertEqual(set((message | self.message_of(legs) | self.message_of(finish)).mapped('state')),
                             {'applied'})
        self.assertSameOutcome(manual, events)

    # ------------------------------------------------------------------ order identity
    def test_short_finish_then_the_rest_under_the_released_name(self):
        """2 of 3 finished with a backorder (Odoo renames the order -001 and makes -002), then
        the last one: the plant keeps reporting under the name the order was released with."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        released = event_mo.name
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=2)
            self.mark_done(manual_mo, backorder=True)
            backorder = manual_mo.production_group_id.production_ids - manual_mo
            self.form_produce(backorder, quantity=1)
            self.mark_done(backorder)
        with self.story(event_mo, EVENTS) as events:
            self.post_story(event_mo,
                            ('production', {'order': released, 'quantity': 2, 'finish': True}),
                            ('production', {'order': released, 'quantity': 1, 'finish': True}))
        self.assertSameOutcome(manual, events)
        event_backorder = event_mo.production_group_id.production_ids - event_mo
        self.assertRecordValues(event_backorder, [{'state': 'done', 'qty_produced': 1.0}])
        # the backorder is released to the plant like any order, as it is when a person makes it
        Outbound = self.env['plant_bridge.outbound']
        for mo in (manual_mo, event_mo):
            releases = Outbound.search([('production_id', '=', (mo.production_group_id.production_ids - mo).id),
                                        ('event_type', '=', 'order_release')])
            self.assertEqual(len(releases), 1, f"backorder of {mo.name} released once")
