from odoo import Command, fields
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSiteScoping(PlantBridgeCase):
    """Two plants of one company on two warehouses: each site's users and connector see only
    their site's run history, reconciliations, configuration revisions, work centers, lots and
    maintenance requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_b = cls.env['stock.warehouse'].create({'name': 'Plant B', 'code': 'PLB'})
        cls.site_b = cls.env['plant_bridge.site'].create({
            'name': 'Plant B', 'code': 'plant_b', 'warehouse_id': cls.warehouse_b.id})
        cls.connector_b = cls.env['res.users'].create({
            'name': 'Plant B sidecar', 'login': 'pb_sidecar_b',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_connector').ids)],
            'plant_bridge_site_ids': [Command.set(cls.site_b.ids)]})
        cls.api_b = cls.env['plant_bridge.api'].with_user(cls.connector_b)
        cls.user_a, cls.user_b = cls.env['res.users'].create([{
            'name': f'Monitor {code}', 'login': f'pb_scope_{code}',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_user').ids)],
            'plant_bridge_site_ids': [Command.set(site.ids)]} for code, site in (('a', cls.site), ('b', cls.site_b))])

    def history(self, site, tag):
        """A schedule run, a reconciliation with a line and a configuration revision of `site`."""
        connector = self.env['plant_bridge.connector'].create({
            'name': f'drop {tag}', 'site_id': site.id, 'kind': 'file_drop',
            'params': '{"path": "/srv/in", "pattern": "*.csv"}'})
        schedule = self.env['plant_bridge.schedule'].create({
            'name': f'pull {tag}', 'site_id': site.id, 'connector_id': connector.id, 'cron': '*/5 * * * *'})
        run = self.env['plant_bridge.schedule.run'].create({
            'key': f'run-{tag}', 'schedule_id': schedule.id, 'started_at': fields.Datetime.now(), 'state': 'done'})
        reconciliation = self.env['plant_bridge.reconciliation'].create({
            'name': f'totals {tag}', 'key': f'rec-{tag}', 'site_id': site.id,
            'line_ids': [Command.create({'order': 'WH/MO/1', 'measure': 'produced'})]})
        revision = self.env['plant_bridge.config.revision'].search(
            [('site_id', '=', site.id), ('model', '=', 'plant_bridge.schedule')], limit=1)
        self.assertTrue(revision)
        return {'plant_bridge.schedule.run': run, 'plant_bridge.reconciliation': reconciliation,
                'plant_bridge.reconciliation.line': reconciliation.line_ids, 'plant_bridge.config.revision': revision}

    def test_history_rows_are_per_site(self):
        rows_a, rows_b = self.history(self.site, 'a'), self.history(self.site_b, 'b')
        for model in rows_a:
            for user, own, foreign in ((self.user_a, rows_a, rows_b), (self.user_b, rows_b, rows_a)):
                seen = self.env[model].with_user(user).search([('id', 'in', (own[model] | foreign[model]).ids)])
                self.assertEqual(seen, own[model].with_user(user), f"{user.login} on {model}")
        revisions = self.env['plant_bridge.config.revision']
        for user, own, foreign in ((self.connector_user, rows_a, rows_b), (self.connector_b, rows_b, rows_a)):
            both = (own[revisions._name] | foreign[revisions._name]).ids
            self.assertEqual(revisions.with_user(user).search([('id', 'in', both)]).ids, own[revisions._name].ids)
        # a revision that concerns every site stays visible to every site
        everyone = revisions.sudo().create({'model': 'plant_bridge.sor', 'operation': 'write'})
        for user in (self.user_a, self.user_b, self.connector_b):
            self.assertTrue(revisions.with_user(user).search([('id', '=', everyone.id)]))

    def test_workcenters_lots_and_maintenance_are_per_site(self):
        press, cell_a = self.env['mrp.workcenter'].create([
            {'name': 'Press B', 'code': 'PRB'}, {'name': 'Cell A', 'code': 'CLA'}])
        for site, workcenter in ((self.site_b, press), (self.site, cell_a)):
            self.env['plant_bridge.binding'].create({
                'site_id': site.id, 'group_id': 'plant', 'edge_node': workcenter.code,
                'workcenter_id': workcenter.id}).action_confirm()
        keys_a = {w['key'] for w in self.api.read_workcenters('main')}
        keys_b = {w['key'] for w in self.api_b.read_workcenters('plant_b')}
        # the demo routings have no operation type: any warehouse may use their work centers
        self.assertTrue({'Drill 1', 'CLA'} <= keys_a)
        self.assertNotIn('PRB', keys_a)
        self.assertIn('PRB', keys_b)
        self.assertNotIn('CLA', keys_b)
        self.assertEqual(self.api.read_workcenters('main', ['PRB']), [])
        self.assertEqual(self.api.read_oee('main', ['PRB'], '2030-01-01T00:00:00Z', '2030-01-02T00:00:00Z'), [])

        # maintenance: requests for the equipment of the site's work centers
        press.plant_bridge_equipment_ids = [Command.create({'name': 'Hydraulic press HP-1'})]
        # (an API model is an empty recordset: `post(api=...)` would fall back to site A's account)
        [result] = self.api_b.post_events([self.event(
            'maintenance', site='plant_b', workcenter='PRB', kind='corrective', description='leak')])
        self.assertEqual(result['status'], 'applied', result)
        self.assertEqual(self.post_one('maintenance', workcenter='CLA', kind='corrective',
                                       description='noisy')['status'], 'applied')
        seen_b = {r['workcenter'] for r in self.api_b.read_maintenance_requests('plant_b', limit=500)['items']}
        self.assertIn('PRB', seen_b)
        self.assertNotIn('CLA', seen_b)
        seen_a = {r['workcenter'] for r in self.api.read_maintenance_requests('main', limit=500)['items']}
        self.assertIn('CLA', seen_a)
        self.assertNotIn('PRB', seen_a)

        # lots: those that moved through the site's warehouse
        product = self.env['product.product'].create({
            'name': 'Plate B', 'default_code': 'PLATE_B', 'is_storable': True, 'tracking': 'lot'})
        lot = self.env['stock.lot'].create({'name': 'LOT-PLB-1', 'product_id': product.id})
        self.env['stock.quant'].create({
            'product_id': product.id, 'lot_id': lot.id, 'location_id': self.warehouse_b.lot_stock_id.id,
            'inventory_quantity': 5}).action_apply_inventory()
        demo_lot = self.mo_done.lot_producing_ids[:1]
        self.assertEqual([x['name'] for x in self.api_b.read_lots('plant_b', [lot.name, demo_lot.name])], [lot.name])
        self.assertEqual([x['name'] for x in self.api.read_lots('main', [lot.name, demo_lot.name])], [demo_lot.name])

    def test_a_single_warehouse_company_keeps_company_scope(self):
        """Sites sharing one warehouse cannot be told apart by stock: they share its work centers."""
        self.env['plant_bridge.site'].create({
            'name': 'Same floor', 'code': 'same_floor', 'warehouse_id': self.site.warehouse_id.id})
        self.site_b.unlink()
        fresh = self.env['mrp.workcenter'].create({'name': 'New cell', 'code': 'NEWC'})
        self.assertEqual([w['key'] for w in self.api.read_workcenters('main', ['NEWC'])], [fresh.code])
