from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.service.model import call_kw
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from ..models.plant_bridge_audit import APPEND_LOCK
from .common import PlantBridgeCase

SECRET = 'pb-audit-secret-Zq81'


@tagged('post_install', '-at_install', 'plant_bridge')
class TestAudit(PlantBridgeCase):
    """The audit trail: one chained row per governance action, with who did it; tampering shows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env['res.users'].create({
            'name': 'PB Audit Manager', 'login': 'pb_audit_manager',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_manager').ids)]})
        cls.Audit = cls.env['plant_bridge.audit']

    def setUp(self):
        super().setUp()
        self.start = self.last_seq()

    def last_seq(self):
        self.env.cr.execute("SELECT COALESCE(MAX(seq), 0) FROM plant_bridge_audit")
        return self.env.cr.fetchone()[0]

    def new_rows(self, action=None):
        rows = self.Audit.sudo().search([('seq', '>', self.start)], order='seq')
        return rows.filtered(lambda r: r.action == action) if action else rows

    def assertOneRow(self, action, record, actor):
        rows = self.new_rows(action)
        self.assertEqual(len(rows), 1, f"{action}: {self.new_rows().mapped('action')}")
        self.assertRecordValues(rows, [{'actor_id': actor.id, 'actor_login': actor.login,
                                        'res_model': record._name, 'res_id': record.id}])
        return rows

    def assertNoSecret(self, *secrets):
        self.env.cr.execute("SELECT payload, res_name, payload_hash FROM plant_bridge_audit WHERE seq > %s",
                            [self.start])
        text = repr(self.env.cr.fetchall())
        for secret in secrets:
            self.assertNotIn(secret, text)

    # ------------------------------------------------------------------ hooks

    def test_connector_changes_are_audited_with_secrets_hashed(self):
        Connector = self.env['plant_bridge.connector'].with_user(self.manager)
        connector = Connector.create({'name': 'Audited broker', 'site_id': self.site.id, 'kind': 'mqtt',
                                      'secrets': '{"password": "%s"}' % SECRET})
        created = self.assertOneRow('config.create', connector, self.manager)
        self.assertIn('"secrets":{"sha256":', created.payload)
        connector.write({'params': '{"url": "mqtt://broker:1883"}', 'secrets': '{"password": "%s-2"}' % SECRET})
        written = self.assertOneRow('config.write', connector, self.manager)
        self.assertIn('mqtt://broker:1883', written.payload)
        connector.unlink()
        self.assertOneRow('config.unlink', connector, self.manager)
        self.assertNoSecret(SECRET)

    def test_sites_schedules_system_of_record_are_audited(self):
        site = self.env['plant_bridge.site'].with_user(self.manager).create({
            'name': 'Audit plant', 'code': 'audit_site', 'warehouse_id': self.site.warehouse_id.id})
        connector = self.env['plant_bridge.connector'].with_user(self.manager).create(
            {'name': 'Broker', 'site_id': site.id, 'kind': 'mqtt'})
        schedule = self.env['plant_bridge.schedule'].with_user(self.manager).create(
            {'name': 'Every 5 min', 'site_id': site.id, 'connector_id': connector.id})
        created = self.new_rows('config.create')
        for record in (site, connector, schedule):
            row = created.filtered(lambda r: (r.res_model, r.res_id) == (record._name, record.id))
            self.assertEqual(row.mapped('actor_id'), self.manager, record._name)
        schedule.write({'cron': '*/10 * * * *'})
        self.assertOneRow('config.write', schedule, self.manager)
        sor = self.env.ref('plant_bridge.sor_main_items')
        sor.with_user(self.manager).write({'note': 'audited'})
        self.assertEqual(self.new_rows('config.write').mapped('res_model'),
                         ['plant_bridge.schedule', 'plant_bridge.sor'])
        self.assertIn('"note":"audited"', self.new_rows('config.write')[-1].payload)

    def test_mapping_new_version_and_activation_are_audited(self):
        mapping = self.env['plant_bridge.mapping'].search([('state', '=', 'active')], limit=1)
        self.assertTrue(mapping, "the demo data has an active mapping")
        new = mapping.browse(mapping.with_user(self.manager).action_new_version({'name': 'v2'}))
        self.assertOneRow('config.create', new, self.manager)
        new.with_user(self.manager).action_activate()
        activations = self.new_rows('config.write').filtered(lambda r: r.res_id == new.id)
        self.assertTrue(activations.filtered(lambda r: '"state":"active"' in r.payload))
        archived = self.new_rows('config.write').filtered(lambda r: r.res_id == mapping.id)
        self.assertTrue(archived.filtered(lambda r: '"state":"archived"' in r.payload))

    def test_replay_and_discard_are_audited(self):
        message = self.message_of(self.post_one('scrap', product='PB-AUDIT-1', quantity=1))
        message.with_user(self.manager).action_retry()
        row = self.assertOneRow('message.replay', message, self.manager)
        self.assertIn(message.key, row.payload)
        message.with_user(self.manager)._discard('not ours')
        row = self.assertOneRow('message.discard', message, self.manager)
        self.assertIn('not ours', row.payload)

    def test_quality_hold_placed_and_released_are_audited(self):
        quality = self.assertApplied(self.post_one('quality', test='Leak test', result='fail', hold=True,
                                                   order=self.mo_desk.name), 'plant_bridge.quality.result')
        self.assertEqual(quality.hold_state, 'held')
        self.assertOneRow('hold.place', quality, self.connector_user)
        quality.with_user(self.manager).action_release_hold()
        self.assertOneRow('hold.release', quality, self.manager)

    def test_api_token_created_and_revoked_are_audited_without_the_token(self):
        form = Form(self.env['plant_bridge.api.token.create'].with_user(self.manager))
        form.name, form.scopes = 'MES screen', 'read:orders'
        wizard = form.save()
        wizard.action_create()
        token = wizard.token_id
        self.assertOneRow('token.create', token, self.manager)
        token.with_user(self.manager).action_revoke()
        self.assertOneRow('token.revoke', token, self.manager)
        self.assertNoSecret(wizard.token)

    def test_connector_api_key_issued_and_removed_are_audited_without_the_key(self):
        Keys = self.env['res.users.apikeys'].with_user(self.connector_user)
        key = Keys._generate('rpc', 'sidecar main', fields.Datetime.now() + timedelta(days=30))
        self.assertOneRow('apikey.issue', self.connector_user, self.connector_user)
        # a person issuing the key for the service account is named as the actor
        Keys.with_context(plant_bridge_audit_uid=self.manager.id)._generate(
            'rpc', 'sidecar main 2', fields.Datetime.now() + timedelta(days=30))
        self.assertEqual(self.new_rows('apikey.issue').actor_id, self.connector_user | self.manager)
        self.env['res.users.apikeys'].sudo().search([('user_id', '=', self.connector_user.id)])._remove()
        self.assertEqual(len(self.new_rows('apikey.revoke')), 2)
        self.assertNoSecret(key)

    def test_keys_of_people_are_not_connector_keys(self):
        self.env['res.users.apikeys'].with_user(self.manager)._generate(
            'rpc', 'my script', fields.Datetime.now() + timedelta(days=1))
        self.assertFalse(self.new_rows('apikey.issue'))

    # ------------------------------------------------------------------ chain

    def make_rows(self, n=4):
        rows = self.Audit
        for i in range(n):  # one append (one transaction step) each, as actions come
            rows |= self.Audit._log('test.row', None, {'n': i})
        return rows

    def test_chain_verifies_and_links_each_row_to_the_previous_one(self):
        rows = self.make_rows().sorted('seq')
        self.assertEqual(rows.mapped('seq'), list(range(self.start + 1, self.start + 5)))
        for before, after in zip(rows, rows[1:]):
            self.assertEqual(after.prev_hash, before.row_hash)
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['head_seq'], report['head_hash']),
                         (True, rows[-1].seq, rows[-1].row_hash), report)
        action = self.Audit.with_user(self.manager).action_verify()
        self.assertEqual(action['params']['type'], 'success')

    def test_verify_button_of_the_list_answers(self):
        # the list's header button sends the selected ids, as the web client does
        self.make_rows(1)
        action = call_kw(self.Audit.with_user(self.manager), 'action_verify', [[]], {})
        self.assertEqual((action['tag'], action['params']['type']), ('display_notification', 'success'))

    def test_row_altered_in_sql_is_detected_at_that_row(self):
        rows = self.make_rows().sorted('seq')
        self.env.cr.execute("UPDATE plant_bridge_audit SET action = 'test.other' WHERE seq = %s", [rows[1].seq])
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[1].seq), report)
        self.assertEqual(self.Audit.with_user(self.manager).action_verify()['params']['type'], 'danger')

    def test_payload_altered_in_sql_is_detected_at_that_row(self):
        rows = self.make_rows().sorted('seq')
        self.env.cr.execute("UPDATE plant_bridge_audit SET payload = '{\"n\":9}' WHERE seq = %s", [rows[2].seq])
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[2].seq), report)

    def test_rehashed_row_breaks_the_next_link(self):
        # whoever alters a row and recomputes its hash still breaks the link of the row after it
        rows = self.make_rows().sorted('seq')
        self.env.cr.execute("UPDATE plant_bridge_audit SET row_hash = %s WHERE seq = %s", ['f' * 64, rows[1].seq])
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[1].seq), report)
        self.env.cr.execute("UPDATE plant_bridge_audit SET action = 'x', row_hash = %s WHERE seq = %s",
                            [rows[1].row_hash, rows[1].seq])
        self.assertEqual(self.Audit._verify_chain()['broken_seq'], rows[1].seq)

    def test_row_deleted_in_sql_is_detected_at_the_next_row(self):
        rows = self.make_rows().sorted('seq')
        self.env.cr.execute("DELETE FROM plant_bridge_audit WHERE seq = %s", [rows[1].seq])
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[2].seq), report)
        # renumbering the rows after the gap does not hide it: the link is broken
        self.env.cr.execute("UPDATE plant_bridge_audit SET seq = seq - 1 WHERE seq > %s", [rows[1].seq])
        report = self.Audit._verify_chain()
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[1].seq), report)

    def test_rows_cut_off_the_end_are_detected_against_a_noted_head(self):
        rows = self.make_rows().sorted('seq')
        head = (rows[-1].seq, rows[-1].row_hash)
        self.assertTrue(self.Audit._verify_chain(known_head=head)['ok'])
        self.env.cr.execute("DELETE FROM plant_bridge_audit WHERE seq >= %s", [rows[2].seq])
        self.assertTrue(self.Audit._verify_chain()['ok'], "no gap: the chain alone cannot tell")
        report = self.Audit._verify_chain(known_head=head)
        self.assertEqual((report['ok'], report['broken_seq']), (False, rows[-1].seq), report)

    def test_appends_are_serialised_across_transactions(self):
        # an append holds the chain's lock until its transaction ends: another transaction
        # appending meanwhile waits for it, then links to the row it committed
        self.Audit._log('test.row', None, {'n': 1})
        other = self.env.registry.cursor()
        try:
            other.execute("SELECT pg_try_advisory_xact_lock(%s)", [APPEND_LOCK])
            self.assertFalse(other.fetchone()[0], "another transaction could append meanwhile")
            other.execute("SET LOCAL lock_timeout = '300ms'")
            env = api.Environment(other, SUPERUSER_ID, {})
            with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.errors.LockNotAvailable):
                env['plant_bridge.audit']._log('test.row', None, {'n': 2})
        finally:
            other.rollback()
            other.close()

    def test_append_only_even_for_the_superuser(self):
        row = self.Audit._log('test.row', None, {'n': 1})
        with self.assertRaises(UserError):
            row.sudo().write({'action': 'other'})
        with self.assertRaises(UserError):
            row.sudo().unlink()
        with self.assertRaises(UserError):
            self.Audit.sudo().create({'action': 'forged'})
        self.assertFalse(self.Audit.with_user(self.manager).has_access('write'))
        self.assertTrue(self.Audit.with_user(self.manager).has_access('read'))
        self.assertFalse(self.Audit.with_user(self.connector_user).has_access('read'))

    def test_purge_keeps_the_chain_verifiable(self):
        self.make_rows()
        self.env.cr.execute("UPDATE plant_bridge_audit SET at = at - interval '400 days' WHERE seq <= %s",
                            [self.start + 3])
        # only system administrators purge
        with self.assertRaises(UserError):
            self.Audit.with_user(self.manager)._purge(fields.Datetime.now() - timedelta(days=365))
        purge = self.Audit._purge(fields.Datetime.now() - timedelta(days=365))
        self.assertEqual(purge.action, 'audit.purge')
        self.assertIn(f'"through_seq":{self.start + 3}', purge.payload)
        self.env.cr.execute("SELECT MIN(seq) FROM plant_bridge_audit")
        self.assertEqual(self.env.cr.fetchone()[0], self.start + 4)
        report = self.Audit._verify_chain()
        self.assertTrue(report['ok'], report)
        self.assertEqual(report['head_seq'], purge.seq)

    # ------------------------------------------------------------------ scheduled verification

    def audit_notices(self):
        return self.env['mail.message'].search([('model', '=', 'plant_bridge.audit'),
                                                ('message_type', '=', 'user_notification')])

    def test_cron_records_a_broken_chain_for_managers_and_the_dashboard(self):
        cron = self.env.ref('plant_bridge.ir_cron_verify_audit')
        self.assertEqual((cron.interval_number, cron.interval_type, cron.active), (1, 'days', True))
        rows = self.make_rows().sorted('seq')
        self.Audit._cron_verify()
        self.assertFalse(self.audit_notices())
        status = self.Audit.with_user(self.manager).audit_status()
        self.assertEqual((status['ok'], status['broken_seq']), (True, False), status)
        self.assertTrue(status['checked_at'])

        self.env.cr.execute("UPDATE plant_bridge_audit SET action = 'test.other' WHERE seq = %s", [rows[1].seq])
        self.Audit._cron_verify()
        status = self.Audit.with_user(self.manager).audit_status()
        self.assertEqual((status['ok'], status['broken_seq']), (False, rows[1].seq), status)
        [notice] = self.audit_notices()
        self.assertIn(self.manager.partner_id, notice.notification_ids.res_partner_id)
        self.assertEqual(notice.res_id, rows[1].id)
        self.assertIn(f'#{rows[1].seq}', notice.subject)
        # the next run does not pile up a second notice for the same break
        self.Audit._cron_verify()
        self.assertEqual(self.audit_notices(), notice)
        # monitors see no such flag: the trail is the managers'
        monitor = self.env['res.users'].create({
            'name': 'PB Audit Monitor', 'login': 'pb_audit_monitor',
            'group_ids': [Command.set(self.env.ref('plant_bridge.group_user').ids)]})
        with self.assertRaises(AccessError):
            self.Audit.with_user(monitor).audit_status()
