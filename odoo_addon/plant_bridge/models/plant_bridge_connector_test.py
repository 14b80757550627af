from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

#: A request no sidecar answered within this delay is reported as unanswered.
ANSWER_TIMEOUT = timedelta(minutes=2)


class PlantBridgeConnectorTest(models.Model):
    """A "test connection" request: Odoo cannot reach the plant network, the sidecar can.

    A pending request is handed to the site's sidecars with their next heartbeat
    (`heartbeat` answers `connector_tests`); the first answer (`report_connector_tests`) wins.
    """
    _name = 'plant_bridge.connector.test'
    _description = 'Plant Bridge Connector Test'
    _order = 'id desc'

    connector_id = fields.Many2one('plant_bridge.connector', required=True, ondelete='cascade', index=True)
    site_id = fields.Many2one(related='connector_id.site_id', store=True, index=True)
    state = fields.Selection([
        ('pending', 'Waiting for a sidecar'),
        ('ok', 'Connected'),
        ('failed', 'Failed'),
        ('timeout', 'No answer'),
    ], default='pending', required=True, index=True)
    requested_by_id = fields.Many2one('res.users', default=lambda self: self.env.uid, readonly=True)
    answered_at = fields.Datetime(readonly=True)
    sidecar = fields.Char(readonly=True, help="The sidecar that ran the test.")
    duration_ms = fields.Float('Duration (ms)', digits=(16, 1), readonly=True)
    result = fields.Text(readonly=True, help="What the sidecar saw (error text or a short success note).")
    is_late = fields.Boolean(compute='_compute_is_late',
                             help="Still pending after the answer delay: no sidecar of the site answered.")

    @api.model
    def _expire(self):
        """Pending requests nobody answered in time become `timeout`."""
        late = self.sudo().search([('state', '=', 'pending'),
                                   ('create_date', '<', fields.Datetime.now() - ANSWER_TIMEOUT)])
        late.write({'state': 'timeout', 'result': _("No sidecar of the site answered within %s minutes: "
                                                    "is one running and sending heartbeats?",
                                                    int(ANSWER_TIMEOUT.total_seconds() // 60))})
        return late

    @api.depends('state', 'create_date')
    def _compute_is_late(self):
        limit = fields.Datetime.now() - ANSWER_TIMEOUT
        for test in self:
            test.is_late = test.state == 'pending' and bool(test.create_date) and test.create_date < limit


class PlantBridgeConnector(models.Model):
    _inherit = 'plant_bridge.connector'

    test_ids = fields.One2many('plant_bridge.connector.test', 'connector_id', string='Connection Tests')

    def action_test_connection(self):
        """Ask the site's sidecars to try this connector; returns the request id."""
        self.ensure_one()
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can test connectors."))
        Test = self.env['plant_bridge.connector.test']
        Test._expire()
        return Test.create({'connector_id': self.id}).id


class PlantBridgeApi(models.AbstractModel):
    _inherit = 'plant_bridge.api'

    @api.model
    def heartbeat(self, sidecar, snapshots=None):
        """Also hand the sidecar the pending connection tests of its site."""
        answer = super().heartbeat(sidecar, snapshots)
        site = self._get_site(sidecar.get('site'))
        Test = self.env['plant_bridge.connector.test'].sudo()
        Test._expire()
        tests = Test.search([('site_id', '=', site.id), ('state', '=', 'pending')], order='id', limit=20)
        answer['connector_tests'] = [{
            'test_id': test.id, 'connector_id': test.connector_id.id, 'connector': test.connector_id.name,
            'kind': test.connector_id.kind,
        } for test in tests]
        return answer

    @api.model
    def report_connector_tests(self, results, sidecar=None):
        """Answers of `connector_tests`: [{test_id, ok, message?, duration_ms?}]."""
        self._check_caller()
        if not isinstance(results, list) or not all(
                isinstance(r, dict) and isinstance(r.get('test_id'), int) for r in results):
            raise UserError(_("'results' must be a list of objects with an integer 'test_id'."))
        tests = self.env['plant_bridge.connector.test'].sudo().browse([r['test_id'] for r in results]).exists()
        self._sites_by_code(set(tests.site_id.mapped('code')))
        by_id = {test.id: test for test in tests}
        recorded = 0
        for item in results:
            test = by_id.get(item['test_id'])
            if not test or test.state != 'pending':
                continue
            test.write({
                'state': 'ok' if item.get('ok') else 'failed',
                'result': str(item.get('message') or '')[:4000] or False,
                'duration_ms': float(item.get('duration_ms') or 0.0),
                'sidecar': sidecar or item.get('sidecar') or False,
                'answered_at': fields.Datetime.now(),
            })
            recorded += 1
        return {'recorded': recorded}
