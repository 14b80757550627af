from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

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
