from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


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
