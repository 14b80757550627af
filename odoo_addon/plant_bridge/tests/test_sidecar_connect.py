import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSidecarConnect(PlantBridgeCase):
    """"Connect a sidecar": one wizard gives a sidecar everything it needs to become ready — a
    service account in the connector group only, allowed on the chosen sites, an API key with an
    expiry — and shows the environment to paste, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login='pb_connect_manager',
                                    groups='base.group_user,plant_bridge.group_manager')
        cls.Keys = cls.env['res.users.apikeys'].sudo()
        cls.lyon = cls.env['plant_bridge.site'].create({
            'name': 'Lyon', 'code': 'lyon', 'warehouse_id': cls.env.ref('stock.warehouse0').id})

    def connect(self, site, **values):
        """The wizard as opened from the site form's button, filled in and confirmed."""
        action = site.with_user(self.manager).action_connect_sidecar()
        Wizard = self.env[action['res_model']].with_user(self.manager).with_context(action['context'])
        with Form(Wizard) as form:
            for name, value in values.items():
                setattr(form, name, value)
        wizard = form.record
        wizard.action_connect()
        return wizard

    def env_of(self, wizard):
        return dict(line.split('=', 1) for line in wizard.env_text.splitlines() if '=' in line)

    def test_creates_the_service_account_and_prints_the_environment(self):
        wizard = self.connect(self.lyon)
        user = wizard.user_id
        self.assertRecordValues(user, [{'login': 'plant-bridge-lyon', 'share': True, 'active': True}])
        self.assertEqual(user.group_ids, self.env.ref('plant_bridge.group_connector'))
        self.assertFalse(user._is_internal())
        self.assertIn(user, self.lyon.user_ids)
        env = self.env_of(wizard)
        self.assertEqual(env['PLANT_BRIDGE_ODOO_URL'], self.env['ir.config_parameter'].sudo().get_param('web.base.url'))
        self.assertEqual(env['PLANT_BRIDGE_ODOO_DB'], self.env.cr.dbname)
        self.assertEqual(env['PLANT_BRIDGE_SITE'], 'lyon')
        self.assertNotIn('PLANT_BRIDGE_SITES', env)
        self.assertEqual(env['PLANT_BRIDGE_ENVIRONMENT'], 'production')
        issued = self.env['plant_bridge.audit'].search([('action', '=', 'apikey.issue')], order='seq desc', limit=1)
        self.assertEqual(issued.actor_id, self.manager, "the audit names who connected the sidecar")
        # the key is the service account's, valid for JSON-2 calls, with the expiry asked for
        key = env['PLANT_BRIDGE_ODOO_API_KEY']
        self.assertEqual(self.Keys._check_credentials(scope='rpc', key=key), user.id)
        self.assertEqual(wizard.api_key, key)
        expiry = self.Keys.search([('user_id', '=', user.id)]).expiration_date
        self.assertAlmostEqual(expiry, fields.Datetime.now() + timedelta(days=90), delta=timedelta(minutes=5))
        # the same in the config file format (`plant-bridge start --config <file>`)
        self.assertIn(f'"PLANT_BRIDGE_ODOO_API_KEY": "{key}"', wizard.config_json)
        # and what made the README's path fail: the account may read its site's configuration
        config = self.env['plant_bridge.api'].with_user(user).get_config('lyon')
        self.assertEqual(config['site_info']['code'], 'lyon')
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(user).get_config('main')

    def test_prints_the_folders_of_the_sites_file_connectors_as_roots(self):
        """Without PLANT_BRIDGE_LEGACY_ROOTS the sidecar refuses folders configured in Odoo
        (roots_required): the environment names exactly the folders the site's file drops and file
        sinks use, not another site's, not a relative one, a folder inside another once."""
        Connector = self.env['plant_bridge.connector']
        self.assertNotIn('PLANT_BRIDGE_LEGACY_ROOTS', self.env_of(self.connect(self.lyon)))
        Connector.create({'name': 'Lyon MES export', 'site_id': self.lyon.id, 'kind': 'file_drop',
                          'params': json.dumps({'path': '/srv/lyon/drop', 'pattern': '*.csv', 'format': 'csv',
                                                'archivePath': '/srv/lyon/drop/done', 'errorPath': '/srv/errors'})})
        Connector.create({'name': 'Lyon releases', 'site_id': self.lyon.id, 'kind': 'sink_file',
                          'params': json.dumps({'path': '/srv/lyon/out', 'format': 'csv'})})
        Connector.create({'name': 'Lyon relative', 'site_id': self.lyon.id, 'kind': 'sink_file',
                          'params': json.dumps({'path': 'data/out', 'format': 'csv'})})
        other = self.env['plant_bridge.site'].create({
            'name': 'Other', 'code': 'other', 'warehouse_id': self.env.ref('stock.warehouse0').id})
        Connector.create({'name': 'Other drop', 'site_id': other.id, 'kind': 'file_drop',
                          'params': json.dumps({'path': '/srv/other', 'pattern': '*.csv', 'format': 'csv'})})
        env = self.env_of(self.connect(self.lyon))
        self.assertEqual(env['PLANT_BRIDGE_LEGACY_ROOTS'], '/srv/errors,/srv/lyon/drop,/srv/lyon/out')

    def test_several_sites_and_a_shorter_key(self):
        wizard = self.connect(self.lyon, duration='30')
        wizard2 = self.env['plant_bridge.sidecar.connect'].with_user(self.manager).create({
            'site_ids': [(6, 0, (self.lyon | self.site).ids)], 'user_id': wizard.user_id.id})
        wizard2.action_connect()
        env = self.env_of(wizard2)
        self.assertEqual((env['PLANT_BRIDGE_SITE'], env['PLANT_BRIDGE_SITES']), ('lyon', 'lyon,main'))
        self.assertIn(wizard.user_id, self.site.user_ids)
        expiries = self.Keys.search([('user_id', '=', wizard.user_id.id)], order='id').mapped('expiration_date')
        self.assertAlmostEqual(expiries[0], fields.Datetime.now() + timedelta(days=30), delta=timedelta(minutes=5))

    def test_run_again_rotates_the_key_with_overlap(self):
        first = self.connect(self.lyon)
        old_key = first.api_key
        second = self.connect(self.lyon)
        self.assertEqual(second.user_id, first.user_id, "the service account is reused")
        new_key = second.api_key
        self.assertNotEqual(new_key, old_key)
        # both work until the sidecar has switched: no downtime
        self.assertEqual(self.Keys._check_credentials(scope='rpc', key=old_key), first.user_id.id)
        self.assertEqual(self.Keys._check_credentials(scope='rpc', key=new_key), first.user_id.id)
        self.assertEqual(second.previous_key_count, 1)
        second.action_revoke_previous_keys()
        self.assertFalse(self.Keys._check_credentials(scope='rpc', key=old_key))
        self.assertEqual(self.Keys._check_credentials(scope='rpc', key=new_key), first.user_id.id)

    def test_the_key_is_shown_once(self):
        wizard = self.connect(self.lyon)
        wizard.action_done()
        self.assertRecordValues(wizard, [{'api_key': False, 'env_text': False, 'config_json': False}])

    def test_refuses_an_internal_user_as_service_account(self):
        internal = new_test_user(self.env, login='plant-bridge-lyon', groups='base.group_user')
        with self.assertRaises(UserError):
            self.connect(self.lyon)
        self.assertNotIn(internal, self.lyon.user_ids)
        self.assertFalse(self.Keys.search([('user_id', '=', internal.id)]))

    def test_only_managers(self):
        with self.assertRaises(AccessError):
            self.env['plant_bridge.sidecar.connect'].with_user(self.pb_user_plain()).create(
                {'site_ids': [(6, 0, self.lyon.ids)]})

    def pb_user_plain(self):
        return new_test_user(self.env, login='pb_connect_user', groups='base.group_user,plant_bridge.group_user')
