from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSecurity(PlantBridgeCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_site = cls.env['plant_bridge.site'].create({
            'name': 'Other plant', 'code': 'other', 'warehouse_id': cls.site.warehouse_id.id})
        cls.pb_user = cls.env['res.users'].create({
            'name': 'PB Monitor', 'login': 'pb_monitor_sec',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_user').ids)],
            'plant_bridge_site_ids': [Command.set(cls.site.ids)]})
        cls.pb_manager = cls.env['res.users'].create({
            'name': 'PB Manager', 'login': 'pb_manager_sec',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_manager').ids)]})
        cls.internal = cls.env['res.users'].create({
            'name': 'Shop clerk', 'login': 'pb_clerk_sec',
            'group_ids': [Command.set(cls.env.ref('mrp.group_mrp_user').ids)]})

    def test_connector_is_a_service_account(self):
        user = self.connector_user
        self.assertTrue(user.share, "the connector account must not be an internal user")
        self.assertEqual(self.env.ref('plant_bridge.group_connector').api_key_duration, 90.0)
        # posts and reads its configuration, secrets included
        self.assertEqual(self.post_one('scrap', product='FURN_7800', quantity=1)['status'], 'applied')
        connectors = self.api.get_config('main')['connectors']
        self.assertEqual(next(c for c in connectors if c['name'] == 'Plant broker')['secrets']['password'], 'demo-only')
        connector = self.env.ref('plant_bridge.demo_connector_mqtt')
        self.assertEqual(connector.with_user(user).secrets, connector.sudo().secrets)
        # ... and nothing else of the ERP
        with self.assertRaises(AccessError):
            self.env['res.partner'].with_user(user).search([])
        with self.assertRaises(AccessError):
            self.env.ref('base.main_partner').with_user(user).read(['name'])
        with self.assertRaises(AccessError):
            self.mo_desk.with_user(user).write({'qty_producing': 1})
        with self.assertRaises(AccessError):
            self.mo_desk.with_user(user).read(['name'])
        with self.assertRaises(AccessError):
            self.env['plant_bridge.connector'].with_user(user).create({
                'name': 'rogue', 'site_id': self.site.id, 'kind': 'mqtt'})
        with self.assertRaises(AccessError):
            self.env['plant_bridge.message'].with_user(user).browse(
                self.Message.search([], limit=1).ids).write({'state': 'applied'})

    def test_connector_api_key_lifetime(self):
        Keys = self.env['res.users.apikeys'].with_user(self.connector_user)
        key = Keys._generate(None, 'sidecar', fields.Datetime.now() + timedelta(days=80))
        self.assertEqual(self.env['res.users.apikeys']._check_credentials(scope='rpc', key=key), self.connector_user.id)
        with self.assertRaises(ValidationError):
            Keys._generate(None, 'too long', fields.Datetime.now() + timedelta(days=120))

    def test_sites_are_restricted(self):
        Site = self.env['plant_bridge.site']
        self.assertEqual(Site.with_user(self.connector_user).search([]), self.site)
        self.assertEqual(Site.with_user(self.pb_user).search([]), self.site)
        self.assertEqual(Site.with_user(self.pb_manager).search([]), Site.search([]))
        with self.assertRaises(AccessError):
            self.api.get_config('other')
        with self.assertRaises(AccessError):
            self.api.fetch_outbound('other')
        with self.assertRaises(AccessError):
            self.api.heartbeat({'name': 'edge', 'site': 'other'})
        with self.assertRaises(AccessError):
            self.api.report_rejections('other', [{'code': 'schema', 'payload': '{}'}])
        message = self.env['plant_bridge.message'].create({'key': 'other-1', 'site_id': self.other_site.id})
        self.assertFalse(self.env['plant_bridge.message'].with_user(self.pb_user).search([('id', '=', message.id)]))
        self.assertFalse(self.env['plant_bridge.message'].with_user(self.connector_user).search(
            [('id', '=', message.id)]))

    def test_api_needs_the_connector_or_manager_group(self):
        for user in (self.internal, self.pb_user):
            api = self.env['plant_bridge.api'].with_user(user)
            with self.assertRaises(AccessError):
                api.post_events([])
            with self.assertRaises(AccessError):
                api.get_config('main')
        manager_api = self.env['plant_bridge.api'].with_user(self.pb_manager)
        self.assertEqual(manager_api.post_events([self.event('scrap', product='FURN_7800', quantity=1)])[0]['status'],
                         'applied')

    def test_secrets_hidden_from_plain_users(self):
        connector = self.env.ref('plant_bridge.demo_connector_mqtt')
        self.assertEqual(connector.with_user(self.pb_user).params, connector.params)
        with self.assertRaises(AccessError):
            connector.with_user(self.pb_user).read(['secrets'])
        self.assertTrue(connector.with_user(self.pb_manager).secrets)

    def test_users_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.env['plant_bridge.mapping'].with_user(self.pb_user).create({
                'name': 'x', 'site_id': self.site.id, 'selector': 'a', 'event_type': 'scrap', 'expression': '1'})
        mapping = self.env['plant_bridge.mapping'].with_user(self.pb_manager).create({
            'name': 'x', 'site_id': self.site.id, 'selector': 'a', 'event_type': 'scrap', 'expression': '1'})
        self.assertEqual(mapping.version, 1)

    def test_mappings_menu_manager_creates_user_reads(self):
        """Configuration › Mappings: a manager creates a mapping from the list's form (a database
        without demo data needs no other way); a plain user neither sees the menu nor writes."""
        action = self.env['ir.actions.act_window']._for_xml_id('plant_bridge.action_plant_bridge_mapping')
        self.assertEqual((action['res_model'], action['view_mode']), ('plant_bridge.mapping', 'list,form'))
        menu = self.env.ref('plant_bridge.menu_plant_bridge_mapping')
        Menu = self.env['ir.ui.menu']
        # what the web client loads (a menu under a hidden parent is not shown)
        self.assertIn(menu.id, Menu.with_user(self.pb_manager).load_menus(False))
        self.assertNotIn(menu.id, Menu.with_user(self.pb_user).load_menus(False))
        self.assertNotIn(menu.id, Menu.with_user(self.internal).load_menus(False))

        Mapping = self.env['plant_bridge.mapping'].with_user(self.pb_manager).with_context(
            {'search_default_current': 1})
        form = Form(Mapping)
        form.name = 'Line 1 counts'
        form.site_id = self.site
        form.connector_id = self.env.ref('plant_bridge.demo_connector_mqtt')
        form.selector = 'plant/{site}/{line}/{machine}/count'
        form.event_type = 'production'
        form.expression = '{"workcenter": $machine, "quantity": good}'
        mapping = form.save()
        self.assertRecordValues(mapping, [{'state': 'draft', 'version': 1, 'create_uid': self.pb_manager.id,
                                           'event_type': 'production'}])
        # the list the action opens shows it with its version, state, selector and target type
        found = Mapping.search_read([('state', '!=', 'archived'), ('id', '=', mapping.id)],
                                    ['version', 'state', 'selector', 'event_type'])
        self.assertEqual(found[0]['selector'], 'plant/{site}/{line}/{machine}/count')

        # ... and from the connector form's Mappings tab
        connector = self.env.ref('plant_bridge.demo_connector_mqtt').with_user(self.pb_manager)
        with Form(connector) as connector_form:
            with connector_form.mapping_ids.new() as line:
                line.name = 'Line 1 status'
                line.selector = 'plant/{site}/{line}/{machine}/status2'
                line.event_type = 'machine_status'
                line.expression = '{"workcenter": $machine, "status": "running"}'
        added = connector.mapping_ids.filtered(lambda m: m.name == 'Line 1 status')
        self.assertRecordValues(added, [{'site_id': self.site.id, 'connector_id': connector.id, 'state': 'draft'}])

        as_user = self.env['plant_bridge.mapping'].with_user(self.pb_user)
        self.assertIn(mapping.id, as_user.search([]).ids)
        with self.assertRaises(AccessError):
            as_user.create({'name': 'x', 'site_id': self.site.id, 'selector': 'x', 'event_type': 'scrap',
                            'expression': '$'})
        with self.assertRaises(AccessError):
            mapping.with_user(self.pb_user).write({'expression': '$'})
        with self.assertRaises(UserError):
            mapping.with_user(self.pb_user).action_activate()


@tagged('post_install', '-at_install', 'plant_bridge')
class TestEnvironmentSegregation(PlantBridgeCase):
    """A sidecar that declares its environment never posts, configures or releases across it."""

    def _scrap(self, event_id):
        return {'id': event_id, 'type': 'scrap', 'site': 'main', 'occurredAt': '2026-11-26T08:00:00Z',
                'product': 'FURN_7800', 'quantity': 1}

    def test_declared_environment_and_odoo_marker(self):
        params = self.env['ir.config_parameter'].sudo()
        self.assertEqual(self.api._environment(), 'production')
        params.set_param('database.is_neutralized', True)  # what Odoo writes on a neutralized copy
        self.assertEqual(self.api._environment(), 'test')
        params.set_param('plant_bridge.environment', 'Staging')
        self.assertEqual(self.api._environment(), 'staging')
        self.assertEqual(self.api.get_config('main', environment='staging')['environment'], 'staging')

    def test_a_sidecar_of_another_environment_is_refused_and_nothing_is_booked(self):
        self.env['ir.config_parameter'].sudo().set_param('plant_bridge.environment', 'test')
        Scrap = self.env['stock.scrap']
        before = Scrap.search_count([])
        with self.assertRaisesRegex(AccessError, "'test' environment and the sidecar declares 'production'"):
            self.api.post_events([self._scrap('env-1')], environment='production')
        with self.assertRaises(AccessError):
            self.api.get_config('main', environment='production')
        with self.assertRaises(AccessError):
            self.api.fetch_outbound('main', environment='production')
        self.assertEqual(Scrap.search_count([]), before)
        self.assertFalse(self.env['plant_bridge.message'].search([('key', '=', 'env-1')]))
        # the same environment, or a sidecar that declares none, posts
        self.assertEqual(self.api.post_events([self._scrap('env-2')], environment='test')[0]['status'], 'applied')
        self.assertEqual(self.api.post_events([self._scrap('env-3')])[0]['status'], 'applied')
