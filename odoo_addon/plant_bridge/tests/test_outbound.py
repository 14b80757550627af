import json

from odoo import Command
from odoo.tests import Form, tagged

from ..posting import utc_iso

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
        self.assertEqual({k: payload[k] for k in ('type', 'site', 'id', 'order', 'name', 'product', 'quantity',
                                                  'state')}, {
            'type': 'order_release', 'site': 'main', 'id': release.key, 'order': mo.name, 'name': mo.name,
            'product': 'FURN_9666', 'quantity': 1.0, 'state': 'confirmed'})
        self.assertEqual(payload['tracking'], mo.product_id.tracking)
        components = {c['product']: c for c in payload['components']}
        self.assertEqual(set(components), set(mo.move_raw_ids.product_id.mapped('default_code')))
        self.assertEqual(components['FURN_2333']['quantity'], 4.0)
        self.assertIsInstance(components['FURN_8522']['lots'], list)
        self.assertEqual(payload['operations'], [{
            'name': 'Assembly', 'workcenter': 'Assembly 1', 'sequence': mo.workorder_ids.operation_id.sequence,
            'duration_expected': mo.workorder_ids.duration_expected, 'start': None, 'end': None,
            'state': mo.workorder_ids.state}])

        with Form(mo) as form:
            form.date_start = '2026-12-01 08:00:00'
        change = Outbound.search([('production_id', '=', mo.id), ('event_type', '=', 'order_change')])
        self.assertRecordValues(change, [{'key': f'order_change:{mo.name}:2', 'state': 'pending'}])
        self.assertEqual(json.loads(change.payload)['start'], '2026-12-01T08:00:00+00:00')

        mo.action_cancel()
        cancel = Outbound.search([('production_id', '=', mo.id), ('event_type', '=', 'order_cancel')])
        self.assertEqual(json.loads(cancel.payload), {'type': 'order_cancel', 'site': 'main',
                                                      'id': f'order_cancel:{mo.name}:3', 'order': mo.name,
                                                      'name': mo.name})

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

    def test_plant_short_finish_releases_the_backorder_and_echoes_nothing(self):
        mo = self.new_mo(DESK, qty=3)
        key = mo.name
        self.assertApplied(self.post_one('production', order=key, quantity=2, finish=True), 'mrp.production')
        backorder = mo.production_group_id.production_ids - mo
        self.assertRecordValues(mo | backorder, [
            {'name': f'{key}-001', 'state': 'done', 'plant_bridge_order_key': key},
            {'name': f'{key}-002', 'state': 'confirmed', 'plant_bridge_order_key': f'{key}-002'}])
        outbox = self.outbox(mo | backorder)
        # no order_change for the rename, the new quantity or the end date the finish wrote
        self.assertEqual([(kind, order) for kind, order, _payload in outbox],
                         [('order_release', key), ('order_release', f'{key}-002')])
        release = outbox[1][2]
        self.assertEqual((release['order'], release['name'], release['quantity'], release['backorder_of']),
                         (f'{key}-002', f'{key}-002', 1.0, key))
        self.assertEqual(release['id'], f'order_release:{key}-002:1')

        # a late event under the released name lands on the open backorder
        result = self.post_one('production', order=key, quantity=1)
        self.assertEqual(self.assertApplied(result, 'mrp.production'), backorder)
        self.assertRecordValues(self.message_of(result), [{'production_id': backorder.id}])
        self.assertEqual(backorder.qty_producing, 1.0)
        # and under the backorder's own name too
        self.assertApplied(self.post_one('production', order=backorder.name, quantity=0, finish=True),
                           'mrp.production')
        self.assertEqual(backorder.state, 'done')
        # nothing open is left: the released name is closed
        self.assertRejected(self.post_one('production', order=key, quantity=1), 'state_conflict')

    def test_short_finish_and_more_production_in_one_call(self):
        """One batch: the finish closes the order and makes its backorder, the next event under
        the same key goes to the backorder."""
        mo = self.new_mo(DESK, qty=3)
        key = mo.name
        results = self.post(self.event('production', order=key, quantity=2, finish=True),
                            self.event('production', order=key, quantity=1))
        self.assertEqual([r['status'] for r in results], ['applied', 'applied'])
        backorder = mo.plant_bridge_successor_id
        self.assertRecordValues(mo | backorder, [{'state': 'done', 'qty_produced': 2.0},
                                                 {'state': 'to_close', 'qty_produced': 0.0}])
        self.assertEqual([self.message_of(r).production_id for r in results], [mo, backorder])
        self.assertEqual(backorder.qty_producing, 1.0)

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

    def test_person_backorder_is_released_and_the_change_keeps_the_key(self):
        mo = self.new_mo(DESK, qty=3)
        key = mo.name
        with Form(mo) as form:
            form.qty_producing = 1
        action = mo.button_mark_done()
        Form(self.env[action['res_model']].with_context(**action['context'])).save().action_backorder()
        backorder = mo.production_group_id.production_ids - mo
        outbox = self.outbox(mo | backorder)
        self.assertIn(('order_release', f'{key}-002'), [(kind, order) for kind, order, _payload in outbox])
        # whatever Odoo sends about the renamed order, it sends under the key the plant knows
        self.assertEqual({order for _kind, order, _payload in outbox if _payload.get('name') != f'{key}-002'}, {key})

    def test_split(self):
        mo = self.new_mo(DESK, qty=10)
        key = mo.name
        action = mo.action_split()
        with Form(self.env['mrp.production.split'].with_context(**action['context'])) as form:
            form.max_batch_size = 4
        form.record.action_split()
        parts = mo.production_group_id.production_ids.sorted('backorder_sequence')
        self.assertEqual(parts.mapped('name'), [f'{key}-001', f'{key}-002', f'{key}-003'])
        self.assertEqual(parts.mapped('product_qty'), [4.0, 4.0, 2.0])
        outbox = self.outbox(parts)
        releases = {order: payload for kind, order, payload in outbox if kind == 'order_release'}
        self.assertEqual(set(releases), {key, f'{key}-002', f'{key}-003'})
        self.assertEqual((releases[f'{key}-002']['split_from'], releases[f'{key}-002']['quantity']), (key, 4.0))
        changes = [payload for kind, order, payload in outbox if kind == 'order_change' and order == key]
        self.assertTrue(changes, "the original's new quantity goes out under its key")
        self.assertEqual((changes[-1]['quantity'], changes[-1]['name']), (4.0, f'{key}-001'))
        self.assertFalse([order for _kind, order, _payload in outbox if order == f'{key}-001'])
        # events under the released name stay on the original; the parts have their own names
        self.assertEqual(self.assertApplied(self.post_one('production', order=key, quantity=1),
                                            'mrp.production'), parts[0])
        self.assertEqual(self.assertApplied(self.post_one('production', order=f'{key}-003', quantity=1),
                                            'mrp.production'), parts[2])

    def test_draft_split_keeps_the_name_its_waiting_events_use(self):
        """Events for a draft order wait for its confirmation; split meanwhile, the order is
        renamed -001 and its waiting events still apply to it once confirmed."""
        mo = self.new_mo(DESK, qty=4, confirm=False)
        key = mo.name
        waiting = self.post_one('production', order=key, quantity=1)
        self.assertEqual((waiting['status'], waiting['code']), ('deferred', 'order_not_ready'))
        action = mo.action_split()
        wizard = self.env['mrp.production.split'].with_context(**action['context']).create({})
        wizard.max_batch_size = 2
        wizard.action_split()
        self.assertEqual(mo.name, f'{key}-001')
        mo.action_confirm()
        self.assertRecordValues(self.message_of(waiting), [{'state': 'applied', 'production_id': mo.id}])
        self.assertEqual(mo.qty_producing, 1.0)
        self.assertEqual([(kind, order, payload['name']) for kind, order, payload in self.outbox(mo)],
                         [('order_release', key, f'{key}-001')])

    def test_merge(self):
        first, second = self.new_mo(DESK, qty=2), self.new_mo(DESK, qty=3)
        keys = [first.name, second.name]
        (first | second).action_merge()
        merged = self.env['mrp.production'].search([('origin', '=', ','.join(sorted(keys)))])
        self.assertEqual((first | second).mapped('state'), ['cancel', 'cancel'])
        self.assertRecordValues(merged, [{'state': 'confirmed', 'product_qty': 5.0}])
        outbox = self.outbox(first | second | merged)
        self.assertEqual(sorted((kind, order) for kind, order, _payload in outbox), sorted([
            ('order_release', keys[0]), ('order_release', keys[1]),
            ('order_cancel', keys[0]), ('order_cancel', keys[1]),
            ('order_release', merged.name)]))
        release = next(payload for kind, order, payload in outbox if order == merged.name)
        self.assertEqual(release['merged_from'], sorted(keys))
        # a late event under a merged order's name lands on the order it was merged into
        result = self.post_one('production', order=keys[0], quantity=1)
        self.assertEqual(self.assertApplied(result, 'mrp.production'), merged)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestReleaseContent(PlantBridgeCase):
    """A release carries what a plant's execution system needs to run the order; what changes
    it in Odoo afterwards (reservations, components, work orders) and the order's closing in
    Odoo are sent too, and what the plant's own events change is not."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env['product.product']
        Workcenter = cls.env['mrp.workcenter']
        cls.saw = Workcenter.create({'name': 'PB Saw', 'code': 'PB-SAW'})
        cls.saw_2 = Workcenter.create({'name': 'PB Saw 2', 'code': 'PB-SAW-2'})
        cls.frame = Product.create({'name': 'PB Frame', 'default_code': 'PB_FRAME', 'is_storable': True})
        cls.steel = Product.create({'name': 'PB Steel', 'default_code': 'PB_STEEL', 'is_storable': True,
                                    'tracking': 'lot'})
        cls.bolt = Product.create({'name': 'PB Bolt', 'default_code': 'PB_BOLT', 'is_storable': True})
        cls.offcut = Product.create({'name': 'PB Offcut', 'default_code': 'PB_OFFCUT', 'is_storable': True})
        cls.bom = cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.frame.product_tmpl_id.id, 'product_qty': 1,
            'operation_ids': [Command.create({'name': 'Cutting', 'workcenter_id': cls.saw.id,
                                              'time_cycle_manual': 10})],
        })
        cls.cutting = cls.bom.operation_ids
        cls.bom.bom_line_ids = [Command.create({'product_id': cls.steel.id, 'product_qty': 2,
                                                'operation_id': cls.cutting.id})]
        cls.bom.byproduct_ids = [Command.create({'product_id': cls.offcut.id, 'product_qty': 0.5,
                                                 'operation_id': cls.cutting.id})]
        stock = cls.site.warehouse_id.lot_stock_id
        cls.shelf = cls.env['stock.location'].create({'name': 'PB Shelf', 'location_id': stock.id})
        cls.lot = cls.env['stock.lot'].create({'name': 'STEEL-1', 'product_id': cls.steel.id})
        cls.env['stock.quant']._update_available_quantity(cls.steel, cls.shelf, 10, lot_id=cls.lot)
        cls.env['stock.quant']._update_available_quantity(cls.bolt, stock, 100)

    def new_frame_order(self, qty=3):
        form = Form(self.env['mrp.production'])
        form.product_id = self.frame
        form.product_qty = qty
        form.priority = '1'
        production = form.save()
        production.origin = 'SO/0042'
        production.action_confirm()
        return production

    def outbox(self, production):
        self.env.cr.flush()  # the transaction ends: changes gathered in it are sent
        rows = self.env['plant_bridge.outbound'].search([('production_id', '=', production.id)], order='id')
        return [(row.event_type, json.loads(row.payload)) for row in rows]

    def test_release_carries_quantities_components_reservations_work_orders_byproducts(self):
        mo = self.new_frame_order()
        [(kind, release)] = self.outbox(mo)
        self.assertEqual(kind, 'order_release')
        self.assertEqual({k: release[k] for k in ('order', 'product', 'quantity', 'remaining', 'uom', 'priority',
                                                  'origin', 'tracking')}, {
            'order': mo.name, 'product': 'PB_FRAME', 'quantity': 3.0, 'remaining': 3.0, 'uom': 'Units',
            'priority': 1, 'origin': 'SO/0042', 'tracking': 'none'})
        self.assertEqual(release['components'], [{
            'product': 'PB_STEEL', 'quantity': 6.0, 'uom': 'Units', 'operation': 'Cutting', 'tracking': 'lot',
            'lots': ['STEEL-1'],
            'reserved': [{'lot': 'STEEL-1', 'quantity': 6.0, 'location': 'WH/Stock/PB Shelf', 'package': None}]}])
        workorder = mo.workorder_ids
        self.assertEqual(release['operations'], [{
            'name': 'Cutting', 'workcenter': 'PB-SAW', 'sequence': self.cutting.sequence,
            'duration_expected': workorder.duration_expected, 'start': utc_iso(workorder.date_start),
            'end': utc_iso(workorder.date_finished), 'state': workorder.state}])
        self.assertFalse(release['operations'][0]['start'])  # not planned yet

        # planned: the work orders' dates go out
        mo.button_plan()
        self.assertTrue(workorder.date_start)
        kind, change = self.outbox(mo)[-1]
        self.assertEqual(kind, 'order_change')
        self.assertEqual((change['operations'][0]['start'], change['operations'][0]['end']),
                         (utc_iso(workorder.date_start), utc_iso(workorder.date_finished)))
        self.assertEqual(release['byproducts'], [
            {'product': 'PB_OFFCUT', 'quantity': 1.5, 'uom': 'Units', 'operation': 'Cutting'}])

    def test_reservation_component_and_work_order_edits_are_sent(self):
        mo = self.new_frame_order()
        mo.do_unreserve()
        outbox = self.outbox(mo)
        self.assertEqual([kind for kind, _payload in outbox], ['order_release', 'order_change'])
        self.assertEqual(outbox[1][1]['components'][0]['reserved'], [])
        self.assertEqual(outbox[1][1]['id'], f'order_change:{mo.name}:2')
        mo.action_assign()
        outbox = self.outbox(mo)
        self.assertEqual(outbox[2][1]['components'][0]['reserved'][0]['quantity'], 6.0)
        # nothing changed since: nothing more to send
        mo.action_assign()
        self.assertEqual(len(self.outbox(mo)), 3)

        # a person adds a component on the order's form: one change with the final state
        with Form(mo) as form:
            with form.move_raw_ids.new() as line:
                line.product_id = self.bolt
                line.product_uom_qty = 4
        outbox = self.outbox(mo)
        self.assertEqual(len(outbox), 4)
        self.assertEqual([(c['product'], c['quantity'], c['reserved'][0]['quantity'] if c['reserved'] else None)
                          for c in outbox[3][1]['components']], [('PB_STEEL', 6.0, 6.0), ('PB_BOLT', 4.0, 4.0)])

        # the work order moved to another work center
        mo.workorder_ids.workcenter_id = self.saw_2
        outbox = self.outbox(mo)
        self.assertEqual([kind for kind, _payload in outbox][-1], 'order_change')
        self.assertEqual(outbox[-1][1]['operations'][0]['workcenter'], 'PB-SAW-2')
        self.assertEqual(len(outbox), 5)

    def test_plant_events_change_nothing_sent_back(self):
        mo = self.new_frame_order()
        self.assertApplied(self.post_one('consumption', order=mo.name, product='PB_STEEL', quantity=4,
                                         lot='STEEL-1'), 'stock.move')
        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Cutting',
                                         status='started'), 'mrp.workorder')
        self.assertApplied(self.post_one('production', order=mo.name, quantity=2, finish=True), 'mrp.production')
        self.assertEqual(mo.state, 'done')
        self.assertEqual([(kind, payload['order']) for kind, payload in self.outbox(mo)],
                         [('order_release', mo.plant_bridge_order_key)])

    def test_order_closed_in_odoo_is_sent_done(self):
        mo = self.new_frame_order(qty=2)
        with Form(mo) as form:
            form.qty_producing = 2
        mo.move_raw_ids.picked = True  # the form's Consumed checkbox
        mo.button_mark_done()
        self.assertEqual(mo.state, 'done')
        outbox = self.outbox(mo)
        self.assertEqual([kind for kind, _payload in outbox], ['order_release', 'order_done'])
        self.assertEqual(outbox[1][1], {
            'type': 'order_done', 'site': 'main', 'id': f'order_done:{mo.name}:2', 'order': mo.name,
            'name': mo.name, 'product': 'PB_FRAME', 'quantity': 2.0, 'produced': 2.0, 'uom': 'Units',
            'state': 'done', 'finished': utc_iso(mo.date_finished), 'lots': [], 'backorder': None})

    def test_short_close_in_odoo_is_sent_done_with_its_backorder(self):
        mo = self.new_frame_order(qty=3)
        key = mo.name
        with Form(mo) as form:
            form.qty_producing = 1
        mo.move_raw_ids.picked = True  # the form's Consumed checkbox
        action = mo.button_mark_done()
        Form(self.env[action['res_model']].with_context(**action['context'])).save().action_backorder()
        backorder = mo.plant_bridge_successor_id
        self.assertTrue(backorder)
        outbox = self.outbox(mo)
        self.assertEqual([kind for kind, _payload in outbox], ['order_release', 'order_done'])
        self.assertEqual({k: outbox[1][1][k] for k in ('order', 'name', 'produced', 'backorder')},
                         {'order': key, 'name': f'{key}-001', 'produced': 1.0, 'backorder': f'{key}-002'})
        [(kind, release)] = self.outbox(backorder)
        self.assertEqual((kind, release['quantity'], release['remaining'], release['backorder_of']),
                         ('order_release', 2.0, 2.0, key))
        self.assertEqual(release['components'][0]['quantity'], 4.0)
