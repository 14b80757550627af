from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestScheduleRun(PlantBridgeCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connector = cls.env['plant_bridge.connector'].create({
            'name': 'MES export', 'site_id': cls.site.id, 'kind': 'file_drop',
            'params': '{"path": "/srv/mes/out", "pattern": "*.csv"}'})
        cls.schedule = cls.env['plant_bridge.schedule'].create({
            'name': 'MES every 5 minutes', 'site_id': cls.site.id, 'connector_id': cls.connector.id,
            'cron': '*/5 * * * *'})

    def run_vals(self, key, **vals):
        run = {'key': key, 'schedule_id': self.schedule.id, 'sidecar': 'edge-1',
               'started_at': '2026-11-26T08:00:00+01:00', 'ended_at': '2026-11-26T08:00:02.500+01:00',
               'state': 'done', 'rows': 120, 'accepted': 118, 'duplicates': 0, 'rejected': 2,
               'skipped': 0, 'message': 'prod.csv: archived'}
        run.update(vals)
        return run

    def test_runs_are_filed_under_their_schedule_once(self):
        runs = [self.run_vals('run-1'),
                self.run_vals('run-2', state='failed', rows=0, accepted=0, rejected=0, skipped=3,
                              code='legacy_unavailable', message='legacy database unavailable',
                              started_at='2026-11-26T08:05:00+01:00', ended_at='2026-11-26T08:05:01+01:00')]
        self.assertEqual(self.api.report_runs('main', runs),
                         {'recorded': 2, 'duplicate': 0, 'unknown_schedule': 0})
        # sent again after a lost answer: nothing twice
        self.assertEqual(self.api.report_runs('main', runs),
                         {'recorded': 0, 'duplicate': 2, 'unknown_schedule': 0})
        failed, done = self.schedule.run_ids  # newest first
        self.assertRecordValues(failed, [
            {'key': 'run-2', 'state': 'failed', 'error_code': 'legacy_unavailable', 'skipped': 3,
             'rows_read': 0, 'sidecar': 'edge-1', 'site_id': self.site.id}])
        self.assertRecordValues(done, [
            {'key': 'run-1', 'state': 'done', 'rows_read': 120, 'rows_accepted': 118, 'rows_rejected': 2,
             'duration': 2.5, 'message': 'prod.csv: archived'}])
        self.assertEqual(str(self.schedule.run_ids[1].started_at), '2026-11-26 07:00:00')
        self.assertRecordValues(self.schedule, [{
            'run_count': 2, 'last_run_state': 'failed', 'last_run_message': 'legacy database unavailable'}])
        action = self.schedule.action_view_runs()
        self.assertEqual(self.env[action['res_model']].search(action['domain']), self.schedule.run_ids)

    def test_runs_of_unknown_or_foreign_schedules_are_not_filed(self):
        other_site = self.env['plant_bridge.site'].create({
            'name': 'Plant 2', 'code': 'plant2', 'warehouse_id': self.site.warehouse_id.id})
        other = self.env['plant_bridge.schedule'].create({
            'name': 'elsewhere', 'site_id': other_site.id, 'cron': '* * * * *',
            'connector_id': self.env['plant_bridge.connector'].create({
                'name': 'x', 'site_id': other_site.id, 'kind': 'sql_source'}).id})
        answer = self.api.report_runs('main', [self.run_vals('a', schedule_id=other.id),
                                               self.run_vals('b', schedule_id=987654321)])
        self.assertEqual(answer, {'recorded': 0, 'duplicate': 0, 'unknown_schedule': 2})
        self.assertFalse(self.env['plant_bridge.schedule.run'].search([('key', 'in', ['a', 'b'])]))
        # and the connector of site main cannot report for plant2 at all
        with self.assertRaises(AccessError):
            self.api.report_runs('plant2', [self.run_vals('c', schedule_id=other.id)])

    def test_malformed_reports_are_refused(self):
        for runs in ({'key': 'x'}, [{'key': 'x'}], [self.run_vals('x', state='maybe')],
                     [self.run_vals('x', started_at='yesterday')]):
            with self.subTest(runs=runs), self.assertRaises(UserError):
                self.api.report_runs('main', runs)

    def test_only_connectors_and_managers_report(self):
        user = self.env['res.users'].create({
            'name': 'Operator', 'login': 'pb_operator_runs',
            'group_ids': [Command.set(self.env.ref('plant_bridge.group_user').ids)],
            'plant_bridge_site_ids': [Command.set(self.site.ids)]})
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(user).report_runs('main', [self.run_vals('z')])
        # a Plant Bridge user of the site reads its history, cannot write it
        self.api.report_runs('main', [self.run_vals('z')])
        run = self.env['plant_bridge.schedule.run'].with_user(user).search([('key', '=', 'z')])
        self.assertEqual(run.rows_read, 120)
        with self.assertRaises(AccessError):
            run.write({'state': 'failed'})
