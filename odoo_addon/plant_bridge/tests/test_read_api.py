from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestReadApi(PlantBridgeCase):
    """The read side for the GraphQL API, called as the connector service account."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_site = cls.env['plant_bridge.site'].create({
            'name': 'Other plant', 'code': 'other_read', 'warehouse_id': cls.site.warehouse_id.id})

    def demo_orders(self):
        warehouse = self.site.warehouse_id
        return self.env['mrp.production'].search(
            [('picking_type_id.warehouse_id', '=', warehouse.id)], order='name desc')

    def test_orders_are_the_sites_orders_by_name(self):
        answer = self.api.read_orders('main', limit=500)
        self.assertEqual([o['name'] for o in answer['orders']], self.demo_orders().mapped('name'))
        self.assertFalse(answer['has_more'])
        desk = next(o for o in answer['orders'] if o['name'] == self.mo_desk.name)
        self.assertEqual(desk['state'], 'confirmed')
        self.assertEqual(desk['product'], {'reference': 'FURN_7800', 'name': self.mo_desk.product_id.name,
                                           'tracking': 'none'})
        self.assertEqual((desk['quantity_planned'], desk['quantity_produced'], desk['quantity_scrapped']),
                         (3.0, 0.0, 0.0))
        self.assertFalse(desk['on_hold'])
        self.assertTrue(desk['planned_start'].endswith('+00:00'))
        self.assertNotIn('id', desk)

    def test_orders_paging_and_filters(self):
        names = self.demo_orders().mapped('name')
        first = self.api.read_orders('main', limit=2)
        self.assertEqual([o['name'] for o in first['orders']], names[:2])
        self.assertTrue(first['has_more'])
        rest = self.api.read_orders('main', limit=500, after=names[1])
        self.assertEqual([o['name'] for o in rest['orders']], names[2:])
        done = self.api.read_orders('main', filter={'states': ['done']})['orders']
        self.assertEqual([o['name'] for o in done], self.demo_orders().filtered(
            lambda p: p.state == 'done').mapped('name'))
        by_product = self.api.read_orders('main', filter={'product': 'FURN_8855'})['orders']
        self.assertIn(self.mo_done.name, [o['name'] for o in by_product])
        self.assertTrue(all(o['product']['reference'] == 'FURN_8855' for o in by_product))
        by_wc = self.api.read_orders('main', filter={'workcenter': 'Assembly 1', 'states': ['confirmed']})['orders']
        self.assertIn(self.mo_desk.name, [o['name'] for o in by_wc])
        for bad in ({'states': ['nope']}, {'colour': 'red'}, {'startFrom': 'yesterday'}, 'x'):
            with self.assertRaises(UserError):
                self.api.read_orders('main', filter=bad)
        with self.assertRaises(UserError):
            self.api.read_orders('main', limit=10_000)

    def test_order_details(self):
        details = self.api.read_order_details('main', [self.mo_desk.name, self.mo_done.name, 'WH/MO/NOPE'])
        by_name = {d['name']: d for d in details}
        self.assertEqual(set(by_name), {self.mo_desk.name, self.mo_done.name})
        desk = by_name[self.mo_desk.name]
        expected = self.mo_desk.move_raw_ids.filtered(lambda m: m.state != 'cancel')
        self.assertEqual(sorted((c['product']['reference'], c['quantity_planned']) for c in desk['components']),
                         sorted((m.product_id.default_code, m.product_uom_qty) for m in expected))
        self.assertEqual([(w['name'], w['workcenter'], w['state']) for w in desk['work_orders']],
                         [(w.name, w.workcenter_id.name, w.state) for w in self.mo_desk.workorder_ids])
        done = by_name[self.mo_done.name]
        self.assertEqual(done['finished_lots'], sorted(self.mo_done.lot_producing_ids.mapped('name')))
        consumed = {(c['product']['reference'], c['quantity_consumed'], tuple(lot['lot'] for lot in c['lots']))
                    for c in done['components']}
        self.assertEqual(consumed, {
            (m.product_id.default_code, m.quantity, tuple(m.move_line_ids.lot_id.mapped('name')))
            for m in self.mo_done.move_raw_ids})

    def test_production_shows_up_in_the_read_model(self):
        mo = self.mo_desk
        self.assertApplied(self.post_one('production', order=mo.name, quantity=1), 'mrp.production')
        self.assertApplied(self.post_one('scrap', order=mo.name, product='FURN_7800', quantity=1), 'stock.scrap')
        header = self.api.read_orders('main', filter={'names': [mo.name]})['orders'][0]
        self.assertEqual((header['state'], header['quantity_producing'], header['quantity_scrapped']),
                         ('progress', 1.0, 1.0))
        self.assertApplied(self.post_one('quality', test='visual', result='fail', order=mo.name, hold=True),
                           'plant_bridge.quality.result')
        header = self.api.read_orders('main', filter={'names': [mo.name]})['orders'][0]
        self.assertTrue(header['on_hold'])
        quality = self.api.read_order_details('main', [mo.name])[0]['quality']
        self.assertEqual([(q['test'], q['result'], q['hold_state']) for q in quality], [('visual', 'fail', 'held')])

    def test_an_order_is_read_by_the_key_it_was_released_with(self):
        """Split in two, the order is renamed -001: asked by its released name it is still found."""
        mo = self.new_mo('product.product_product_3', qty=4)
        key = mo.name
        action = mo.action_split()
        wizard = self.env['mrp.production.split'].with_context(**action['context']).create({})
        wizard.max_batch_size = 2
        wizard.action_split()
        orders = self.api.read_orders('main', filter={'names': [key]})['orders']
        self.assertEqual([(o['name'], o['key']) for o in orders], [(f'{key}-001', key)])
        other = self.api.read_orders('main', filter={'names': [f'{key}-002']})['orders']
        self.assertEqual([(o['name'], o['key']) for o in other], [(f'{key}-002', f'{key}-002')])
        self.assertEqual([d['name'] for d in self.api.read_order_details('main', [key])], [f'{key}-001'])

    def test_workcenters_live_status_and_downtime(self):
        self.post_one('machine_status', workcenter='Drill 1', status='down',
                      occurredAt='2026-11-26T09:00:00+00:00', counters={'good': 7})
        self.env['mrp.workcenter.productivity'].create({
            'workcenter_id': self.drill_1.id, 'loss_id': self.env.ref('mrp.block_reason0').id,
            'date_start': fields.Datetime.now() - timedelta(minutes=5), 'description': 'jam'})
        rows = {w['key']: w for w in self.api.read_workcenters('main')}
        self.assertEqual(set(rows) >= {'Assembly 1', 'Drill 1', 'Assembly 2'}, True)
        drill = rows['Drill 1']
        self.assertEqual((drill['status'], drill['status_since'], drill['counters']),
                         ('down', '2026-11-26T09:00:00+00:00', {'good': 7}))
        self.assertEqual(drill['current_downtime']['description'], 'jam')
        self.assertIsNone(drill['current_downtime']['end'])
        self.assertEqual([w['key'] for w in self.api.read_workcenters('main', ['Drill 1', 'nope'])], ['Drill 1'])

    def test_oee_minutes_per_loss_type(self):
        Productivity = self.env['mrp.workcenter.productivity']
        productive = self.env['mrp.workcenter.productivity.loss'].search([('loss_type', '=', 'productive')], limit=1)
        start = fields.Datetime.from_string('2030-01-01 08:00:00')
        Productivity.create([
            {'workcenter_id': self.assembly_2.id, 'loss_id': productive.id,
             'date_start': start, 'date_end': start + timedelta(minutes=90)},
            {'workcenter_id': self.assembly_2.id, 'loss_id': self.env.ref('mrp.block_reason0').id,
             'date_start': start + timedelta(minutes=90), 'date_end': start + timedelta(minutes=150)},
        ])
        # as Odoo's OEE and its report: a time log counts whole in the period it started in
        [row] = self.api.read_oee('main', ['Assembly 2'], '2030-01-01T08:00:00+00:00', '2030-01-01T09:00:00Z')
        self.assertEqual(row['key'], 'Assembly 2')
        self.assertEqual(row['minutes'], {'productive': 90.0, 'performance': 0.0, 'quality': 0.0,
                                          'availability': 0.0})
        self.assertEqual((row['oee'], row['productive_time'], row['blocked_time']), (100.0, 1.5, 0.0))
        [row] = self.api.read_oee('main', ['Assembly 2'], '2030-01-01T08:00:00+00:00', '2030-01-01T10:00:00Z')
        self.assertEqual((row['minutes']['availability'], row['oee']), (60.0, 60.0))
        with self.assertRaises(UserError):
            self.api.read_oee('main', ['Assembly 2'], '2030-01-02T00:00:00Z', '2030-01-01T00:00:00Z')

    def test_lot_genealogy(self):
        finished = self.mo_done.lot_producing_ids[:1]
        [lot] = self.api.read_lots('main', [finished.name])
        self.assertEqual(lot['produced_by'], [self.mo_done.name])
        self.assertEqual(lot['product']['reference'], 'FURN_8855')
        components = sorted((c['lot'], c['product']['reference']) for c in lot['components'])
        self.assertEqual(components, sorted(
            (line.lot_id.name, line.product_id.default_code)
            for line in self.mo_done.move_raw_ids.move_line_ids if line.lot_id))
        # where a component lot went: into the drawer order, producing the finished lot
        component = self.mo_done.move_raw_ids.move_line_ids.lot_id[:1]
        [used] = self.api.read_lots('main', [component.name])
        self.assertIn({'kind': 'production', 'reference': self.mo_done.name,
                       'lots': sorted(self.mo_done.lot_producing_ids.mapped('name'))},
                      [{k: u[k] for k in ('kind', 'reference', 'lots')} for u in used['used_in']])
        self.assertEqual(self.api.read_lots('main', ['NO-SUCH-LOT']), [])

    def test_quality_and_maintenance_pages(self):
        for n in range(3):
            self.post_one('quality', test=f'torque-{n}', result='pass', order=self.mo_desk.name)
        first = self.api.read_quality_results('main', filter={'order': self.mo_desk.name}, limit=2)
        self.assertEqual([q['test'] for q in first['items']], ['torque-2', 'torque-1'])
        self.assertTrue(first['has_more'])
        rest = self.api.read_quality_results('main', filter={'order': self.mo_desk.name},
                                             after=first['items'][-1]['id'])
        self.assertEqual([q['test'] for q in rest['items']], ['torque-0'])
        self.drill_1.plant_bridge_equipment_ids = [Command.create({'name': 'Drill press DP-1'})]
        result = self.post_one('maintenance', workcenter='Drill 1', kind='corrective', description='<b>noisy</b>')
        self.assertEqual(result['status'], 'applied', result)
        page = self.api.read_maintenance_requests('main', filter={'workcenter': 'Drill 1', 'open': True})
        self.assertEqual(page['items'][0]['workcenter'], 'Drill 1')
        self.assertEqual(page['items'][0]['kind'], 'corrective')
        self.assertFalse(page['items'][0]['done'])

    def test_site_checks_and_least_privilege(self):
        for call in (lambda: self.api.read_orders('other_read'),
                     lambda: self.api.read_order_details('other_read', [self.mo_desk.name]),
                     lambda: self.api.read_workcenters('other_read'),
                     lambda: self.api.read_lots('other_read', ['x']),
                     lambda: self.api.read_quality_results('other_read'),
                     lambda: self.api.read_maintenance_requests('other_read')):
            with self.assertRaises(AccessError):
                call()
        self.assertEqual([s['code'] for s in self.api.read_sites()], ['main'])
        # reading through the API grants nothing on the ERP models themselves
        with self.assertRaises(AccessError):
            self.env['mrp.production'].with_user(self.connector_user).search([])
        with self.assertRaises(AccessError):
            self.env['res.partner'].with_user(self.connector_user).search([])
        clerk = self.env['res.users'].create({
            'name': 'Clerk', 'login': 'pb_read_clerk',
            'group_ids': [Command.set(self.env.ref('mrp.group_mrp_user').ids)]})
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(clerk).read_orders('main')
        with self.assertRaises(UserError):
            self.api.read_orders('nope')
        with self.assertRaises(UserError):
            self.api.read_order_details('main', 'WH/MO/00001')
