import json

from odoo import fields

from ..exceptions import EventRejected
from .base import Handler

STATUSES = ('running', 'idle', 'down', 'setup', 'offline')


class MachineStatusHandler(Handler):
    """`machine_status`: the live state of a work center (status, since, counters).

    Out-of-order events (older than the current state) are recorded but change nothing.
    With automatic downtime on the work center, `down` opens a downtime interval (the work
    center shows blocked) and the next other status closes it.
    """
    event_type = 'machine_status'
    required = ('workcenter', 'status')

    def object_key(self, event):
        return ('workcenter', event.get('workcenter'))

    def apply(self, item):
        event = item.event
        status = self.get_str(event, 'status')
        if status not in STATUSES:
            raise EventRejected('schema', f"status must be one of {', '.join(STATUSES)}")
        counters = event.get('counters')
        if counters is not None and not isinstance(counters, dict):
            raise EventRejected('schema', "'counters' must be an object")
        workcenter = self.resolve_workcenter(item, self.get_str(event, 'workcenter'))
        occurred = self.get_datetime(event, 'occurredAt')
        self.check_period(workcenter.company_id or item.site.company_id, occurred)
        if workcenter.plant_bridge_status_at and occurred < workcenter.plant_bridge_status_at:
            return workcenter
        vals = {'plant_bridge_status': status, 'plant_bridge_status_at': occurred}
        if status != workcenter.plant_bridge_status:
            vals['plant_bridge_status_since'] = occurred
        if counters is not None:
            vals['plant_bridge_counters'] = json.dumps(counters, sort_keys=True)
        if workcenter.plant_bridge_auto_downtime:
            vals.update(self._auto_downtime_vals(workcenter, status, occurred))
        workcenter.write(vals)
        return workcenter

    def _auto_downtime_vals(self, workcenter, status, occurred):
        interval = workcenter.plant_bridge_open_downtime_id
        if status == 'down' and not interval:
            loss = workcenter.plant_bridge_downtime_loss_id or self.env['mrp.workcenter.productivity.loss'].search(
                [('loss_type', '=', 'availability')], limit=1)
            interval = self.env['mrp.workcenter.productivity'].create({
                'workcenter_id': workcenter.id,
                'company_id': workcenter.company_id.id or self.env.company.id,
                'loss_id': loss.id,
                'date_start': occurred,
                'description': 'Plant Bridge: machine down',
            })
            return {'plant_bridge_open_downtime_id': interval.id}
        if status != 'down' and interval:
            interval.date_end = max(occurred, interval.date_start or fields.Datetime.now())
            return {'plant_bridge_open_downtime_id': False}
        return {}
