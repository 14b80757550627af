import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .plant_bridge_mapping import EVENT_TYPES

TIME_RE = re.compile(r'^([01]\d|2[0-3]):([0-5]\d)$')

# Lanes of the sidecar's outbox (README "Priority lanes"), then each event type.
EVENT_CLASSES = [
    ('all', 'All events'),
    ('critical', 'Critical lane'),
    ('bulk', 'Bulk lane (machine states)'),
] + list(EVENT_TYPES)


class PlantBridgePostingWindow(models.Model):
    """When the sidecars of a site post a class of events to Odoo.

    Without a window, events post in real time. A *batched* window gathers them and posts them
    at the next of its daily times (shift end, warehouse cutoff), read in the site's time zone.
    A *hold* window (period close, Odoo maintenance) keeps them waiting, not failed, from its
    start to its end; they post once it ends. Delivered to the sidecars with the site's
    configuration, next to the system-of-record matrix.
    """
    _name = 'plant_bridge.posting.window'
    _description = 'Plant Bridge Posting Window'
    _inherit = ['plant_bridge.config.mixin']
    _order = 'site_id, sequence, id'

    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, help="What the window is for, e.g. Shift end, Period close.")
    active = fields.Boolean(default=True)
    event_class = fields.Selection(EVENT_CLASSES, required=True, default='all',
                                   help="The events it applies to: a posting lane or one event type.")
    mode = fields.Selection([('batched', 'Batched'), ('hold', 'Hold')], required=True, default='batched',
                            help="Batched: post at the next of the daily times. Hold: wait from start "
                                 "to end, then post.")
    post_times = fields.Char(
        'Daily Times', help="Batched: comma-separated HH:MM in the site's time zone, e.g. 06:00, 14:00, 22:00.")
    hold_start = fields.Datetime('Hold From')
    hold_end = fields.Datetime('Hold Until')
    timezone = fields.Selection(related='site_id.timezone')

    @api.constrains('mode', 'post_times', 'hold_start', 'hold_end')
    def _check_window(self):
        for window in self:
            if window.mode == 'batched':
                times = window._post_time_list()
                if not times or not all(TIME_RE.match(t) for t in times):
                    raise ValidationError(_(
                        "Posting window %(name)s: daily times must be HH:MM, comma-separated (got %(times)s).",
                        name=window.name, times=window.post_times or ''))
            elif not (window.hold_start and window.hold_end and window.hold_start < window.hold_end):
                raise ValidationError(_("Posting window %(name)s: a hold needs a start before its end.",
                                        name=window.name))

    def _post_time_list(self):
        self.ensure_one()
        return [t.strip() for t in (self.post_times or '').split(',') if t.strip()]

    def _get_config_vals(self):
        self.ensure_one()
        vals = {'id': self.id, 'name': self.name, 'event_class': self.event_class, 'mode': self.mode}
        if self.mode == 'batched':
            vals['times'] = sorted(self._post_time_list())
        else:
            vals['start'] = self.hold_start.isoformat() + 'Z'
            vals['end'] = self.hold_end.isoformat() + 'Z'
        return vals
