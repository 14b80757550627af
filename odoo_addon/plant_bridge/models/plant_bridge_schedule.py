import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

# One cron field: *, a value or range with an optional step, or lists of those; names for
# months and weekdays (node-cron syntax, optional leading seconds field).
_NAMES = 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat'
_ATOM = rf'(?:\*|(?:\d+|{_NAMES})(?:-(?:\d+|{_NAMES}))?)(?:/\d+)?'
_FIELD_RE = re.compile(rf'^{_ATOM}(?:,{_ATOM})*$', re.IGNORECASE)
# (min, max) for second, minute, hour, day of month, month, day of week
_BOUNDS = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def check_cron_expression(env, expression):
    """Return an error message for an invalid 5- or 6-field cron expression, else None."""
    parts = (expression or '').split()
    if len(parts) not in (5, 6):
        return env._("A cron expression has 5 fields (or 6 with seconds), got %s.", len(parts))
    bounds = _BOUNDS if len(parts) == 6 else _BOUNDS[1:]
    for part, (low, high) in zip(parts, bounds):
        if not _FIELD_RE.match(part):
            return env._("Invalid cron field %r.", part)
        for number in re.findall(r'(?<![/\d])\d+', part):
            if not low <= int(number) <= high:
                return env._("Value %(value)s out of range %(low)s-%(high)s in %(field)r.",
                         value=number, low=low, high=high, field=part)
    return None


class PlantBridgeSchedule(models.Model):
    """A scheduled legacy pull (file drop scan, SQL query, HTTP poll) run by one sidecar."""
    _name = 'plant_bridge.schedule'
    _description = 'Plant Bridge Schedule'
    _inherit = ['plant_bridge.config.mixin']
    _order = 'site_id, name'

    name = fields.Char(required=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    connector_id = fields.Many2one('plant_bridge.connector', required=True, ondelete='cascade',
                                   domain="[('site_id', '=', site_id)]")
    mapping_id = fields.Many2one('plant_bridge.mapping', ondelete='set null',
                                 domain="[('site_id', '=', site_id)]")
    cron = fields.Char(required=True, default='*/5 * * * *',
                       help="Cron expression (5 fields, or 6 with seconds), in the schedule's time zone.")
    timezone = fields.Selection(related='site_id.timezone')
    active = fields.Boolean(default=True)
    run_ids = fields.One2many('plant_bridge.schedule.run', 'schedule_id', string='Runs')
    run_count = fields.Integer(compute='_compute_last_run')
    last_run_at = fields.Datetime('Last Run', compute='_compute_last_run')
    last_run_state = fields.Selection([('done', 'Done'), ('failed', 'Failed')], compute='_compute_last_run')
    last_run_message = fields.Text(compute='_compute_last_run')

    def _compute_last_run(self):
        Run = self.env['plant_bridge.schedule.run']
        counts = dict(Run._read_group([('schedule_id', 'in', self.ids)], ['schedule_id'], ['__count']))
        for schedule in self:
            last = Run.search([('schedule_id', '=', schedule.id)], limit=1) if schedule.id else Run
            schedule.run_count = counts.get(schedule, 0)
            schedule.last_run_at = last.started_at
            schedule.last_run_state = last.state
            schedule.last_run_message = last.message

    def action_view_runs(self):
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_plant_bridge_schedule_run')
        action['domain'] = [('schedule_id', '=', self.id)]
        action['context'] = {'default_schedule_id': self.id}
        return action

    @api.constrains('cron')
    def _check_cron(self):
        for schedule in self:
            if error := check_cron_expression(self.env, schedule.cron):
                raise ValidationError(error)

    def _get_config_vals(self):
        self.ensure_one()
        return {
            'id': self.id,
            'name': self.name,
            'connector_id': self.connector_id.id,
            'mapping_id': self.mapping_id.id or None,
            'cron': self.cron,
            'timezone': self.timezone,
            'active': self.active,
        }
