from odoo import _, fields, models

MACHINE_STATUSES = [
    ('running', 'Running'),
    ('idle', 'Idle'),
    ('down', 'Down'),
    ('setup', 'Setup'),
    ('offline', 'Offline'),
]


class MrpWorkcenter(models.Model):
    _inherit = 'mrp.workcenter'

    plant_bridge_status = fields.Selection(MACHINE_STATUSES, string='Machine Status', readonly=True,
                                           help="Live state reported by the plant (machine_status events).")
    plant_bridge_status_since = fields.Datetime('Status Since', readonly=True)
    plant_bridge_status_at = fields.Datetime('Last Status Event', readonly=True)
    plant_bridge_counters = fields.Text('Machine Counters', readonly=True, help="Last counters reported (JSON).")
    plant_bridge_auto_downtime = fields.Boolean(
        'Automatic Downtime',
        help="Open a downtime interval when the machine reports `down`, close it on the next status.")
    plant_bridge_downtime_loss_id = fields.Many2one(
        'mrp.workcenter.productivity.loss', 'Automatic Downtime Reason',
        help="Loss used for automatic downtime; empty: the first availability loss.")
    plant_bridge_open_downtime_id = fields.Many2one('mrp.workcenter.productivity', readonly=True,
                                                    ondelete='set null')
    plant_bridge_equipment_ids = fields.One2many('maintenance.equipment', 'plant_bridge_workcenter_id',
                                                 string='Equipment')

    def unblock(self):
        res = super().unblock()
        if not self.env.context.get('plant_bridge_no_change'):
            # unblocked in Odoo's screens: the plant's finishes waiting for it apply now
            self.env['plant_bridge.message']._release_waiting_finishes(workcenters=self)
        return res

    # answers at a glance, on the work center form (Plant Bridge users); no sudo: site record
    # rules decide what a user may count
    plant_bridge_last_event_at = fields.Datetime(
        'Last Plant Event', compute='_compute_plant_bridge_glance',
        help="When the last event the plant reported for this work center happened.")
    plant_bridge_last_event_type = fields.Selection(
        selection=lambda self: self.env['plant_bridge.message']._fields['event_type'].selection,
        string='Last Event Type', compute='_compute_plant_bridge_glance')
    plant_bridge_last_event_state = fields.Selection(
        selection=lambda self: self.env['plant_bridge.message']._fields['state'].selection,
        string='Last Event State', compute='_compute_plant_bridge_glance',
        help="What became of the last event: applied, rejected, deferred...")
    plant_bridge_message_count = fields.Integer('Plant Events', compute='_compute_plant_bridge_glance')
    plant_bridge_exception_count = fields.Integer(
        'Open Plant Exceptions', compute='_compute_plant_bridge_glance',
        help="Events of this work center waiting in the Exception Queue.")
    plant_bridge_site_ids = fields.Many2many(
        'plant_bridge.site', string='Plant Bridge Sites', compute='_compute_plant_bridge_glance',
        help="The sites whose events name this work center, or that bind a Sparkplug device to it.")

    def _compute_plant_bridge_glance(self):
        counts, exceptions, last, sites = {}, {}, {}, {}
        if self.ids and self.env.user.has_group('plant_bridge.group_user'):
            Message = self.env['plant_bridge.message']
            domain = [('workcenter_id', 'in', self.ids)]
            for workcenter, site, count, last_id in Message._read_group(
                    domain, ['workcenter_id', 'site_id'], ['__count', 'id:max']):
                counts[workcenter] = counts.get(workcenter, 0) + count
                sites.setdefault(workcenter, set()).add(site.id)
                last[workcenter] = max(last.get(workcenter, 0), last_id)
            exceptions = dict(Message._read_group(
                domain + [('state', '=', 'rejected')], ['workcenter_id'], ['__count']))
            for workcenter, site in self.env['plant_bridge.binding']._read_group(
                    [('workcenter_id', 'in', self.ids), ('state', '=', 'confirmed')], ['workcenter_id', 'site_id']):
                sites.setdefault(workcenter, set()).add(site.id)
            # the last rows themselves, in one read
            Message.browse(last.values()).fetch(['occurred_at', 'event_type', 'state'])
        Message = self.env['plant_bridge.message']
        for workcenter in self:
            message = Message.browse(last.get(workcenter, []))
            workcenter.plant_bridge_last_event_at = message.occurred_at
            workcenter.plant_bridge_last_event_type = message.event_type
            workcenter.plant_bridge_last_event_state = message.state
            workcenter.plant_bridge_message_count = counts.get(workcenter, 0)
            workcenter.plant_bridge_exception_count = exceptions.get(workcenter, 0)
            workcenter.plant_bridge_site_ids = sorted(sites.get(workcenter, ()))

    def action_plant_bridge_exceptions(self):
        """The Exception Queue, on this work center's events."""
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_exception_queue')
        action['context'] = {'plant_bridge_workcenter_id': self.id}
        return action

    def action_plant_bridge_messages(self):
        """The plant events of this work center, newest first (the message trace)."""
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_plant_bridge_message')
        action.update({'name': _("Plant Events: %s", self.display_name),
                       'domain': [('workcenter_id', '=', self.id)], 'context': {}})
        return action
