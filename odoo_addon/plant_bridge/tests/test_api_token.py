import hashlib
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestApiToken(PlantBridgeCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env['res.users'].create({
            'name': 'PB Token Manager', 'login': 'pb_token_manager',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_manager').ids)]})
        cls.other_site = cls.env['plant_bridge.site'].create({
            'name': 'Other plant', 'code': 'other_tok', 'warehouse_id': cls.site.warehouse_id.id})
        cls.Token = cls.env['plant_bridge.api.token']

    def create_with_wizard(self, **vals):
        form = Form(self.env['plant_bridge.api.token.create'].with_user(self.manager))
        form.name = vals.get('name', 'MES screen')
        form.scopes = vals.get('scopes', 'read:orders write:events')
        for site in vals.get('sites', []):
            form.site_ids.add(site)
        if 'expires_at' in vals:
            form.expires_at = vals['expires_at']
        wizard = form.save()
        wizard.action_create()
        return wizard

    def listed(self):
        return {t['name']: t for t in self.api.list_api_tokens()}

    def test_wizard_shows_the_token_once_and_keeps_only_its_hash(self):
        wizard = self.create_with_wizard(sites=[self.site])
        token = wizard.token
        self.assertTrue(token.startswith('pbt_') and len(token) > 40)
        record = wizard.token_id
        self.assertRecordValues(record, [{
            'name': 'MES screen', 'token_hash': hashlib.sha256(token.encode()).hexdigest(),
            'token_hint': token[:8], 'state': 'valid'}])
        stored = [v for v in record.read()[0].values() if isinstance(v, str)]
        self.assertNotIn(token, stored)
        wizard.action_done()
        self.assertFalse(wizard.token)
        self.assertEqual(self.listed()['MES screen'], {
            'name': 'MES screen', 'hash': record.token_hash, 'scopes': ['read:orders', 'write:events'],
            'sites': ['main'], 'expires_at': None})

    def test_revoked_and_expired_tokens_are_not_listed(self):
        revoked = self.create_with_wizard(name='revoked').token_id
        expired = self.create_with_wizard(name='expired').token_id
        expiring = self.create_with_wizard(name='expiring', expires_at=fields.Datetime.now() + timedelta(days=1))
        expired.sudo().expires_at = fields.Datetime.now() - timedelta(minutes=1)
        self.assertEqual({'revoked', 'expired', 'expiring'} & set(self.listed()), {'revoked', 'expiring'})
        revoked.with_user(self.manager).action_revoke()
        self.assertRecordValues(revoked, [{'state': 'revoked', 'revoked_by_id': self.manager.id}])
        self.assertRecordValues(expired, [{'state': 'expired'}])
        listed = self.listed()
        self.assertNotIn('revoked', listed)
        self.assertTrue(listed['expiring']['expires_at'].endswith('+00:00'))
        self.assertNotIn(expiring.token, str(listed))

    def test_site_restriction_follows_the_callers_sites(self):
        self.create_with_wizard(name='everywhere')
        self.create_with_wizard(name='other only', sites=[self.other_site])
        self.create_with_wizard(name='both', sites=[self.site, self.other_site])
        listed = self.listed()
        self.assertIsNone(listed['everywhere']['sites'])
        self.assertNotIn('other only', listed)
        self.assertEqual(listed['both']['sites'], ['main'])

    def test_scopes_are_validated(self):
        with self.assertRaises(ValidationError):
            self.create_with_wizard(scopes='read:everything')
        with self.assertRaises(ValidationError):
            self.create_with_wizard(scopes='  ')

    def test_only_managers_manage_tokens(self):
        self.create_with_wizard()
        for user in (self.connector_user, self.env['res.users'].create({
                'name': 'Mon', 'login': 'pb_tok_user',
                'group_ids': [Command.set(self.env.ref('plant_bridge.group_user').ids)]})):
            with self.assertRaises(AccessError):
                self.Token.with_user(user).search([])
            with self.assertRaises(AccessError):
                self.env['plant_bridge.api.token.create'].with_user(user).create({'name': 'x', 'scopes': 'admin'})
        clerk = self.env['res.users'].create({
            'name': 'Clerk', 'login': 'pb_tok_clerk', 'group_ids': [Command.set(self.env.ref('base.group_user').ids)]})
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(clerk).list_api_tokens()
