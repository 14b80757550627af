import json
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.fields import Domain
from odoo.exceptions import ConcurrencyError, UserError
from odoo.tools import SQL

from .plant_bridge_audit import sha256 as sha256_text
from .plant_bridge_mapping import EVENT_TYPES

#: Payloads above this size (bytes of JSON) are stored as an attachment, not in the row.
LARGE_PAYLOAD = 64 * 1024

MESSAGE_STATES = [
    ('received', 'Received'),
    ('applied', 'Applied'),
    ('deferred', 'Deferred'),
    ('rejected', 'Rejected'),
    ('discarded', 'Discarded'),
]
SOURCES = [
    ('mqtt', 'MQTT'), ('graphql', 'GraphQL'), ('file', 'File'), ('sql', 'SQL'),
    ('http', 'HTTP'), ('sparkplug', 'Sparkplug B'), ('webhook', 'Webhook'), ('sim', 'Simulator'),
    ('replay', 'Replay'), ('other', 'Other'),
]


class PlantBridgeMessage(models.Model):
    """The message trace: one row per event key and site, with its outcome.

    The unique (site, key) constraint is the idempotency guarantee of `post_events`.
    Rows in state `rejected` form the exception queue.
    """
    _name = 'plant_bridge.message'
    _description = 'Plant Bridge Message'
    _inherit = ['mail.thread']
    _order = 'id desc'
    _rec_name = 'key'

    key = fields.Char('Idempotency Key', required=True, readonly=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, readonly=True, ondelete='restrict')
    event_type = fields.Selection(EVENT_TYPES + [('other', 'Other')], string='Type', readonly=True, index=True)
    source = fields.Selection(SOURCES, readonly=True)
    origin = fields.Char(readonly=True, help="Topic, file name + line, table + key.")
    sidecar = fields.Char(readonly=True)
    state = fields.Selection(MESSAGE_STATES, required=True, default='received', readonly=True, index=True,
                             tracking=True)
    rejected_by = fields.Selection([('odoo', 'Odoo'), ('sidecar', 'Sidecar')], readonly=True,
                                   help="Sidecar: no valid event existed (bad JSON, mapping error...); "
                                        "a replay goes back through the sidecar pipeline.")
    fingerprint = fields.Char(readonly=True, index='btree_not_null')
    attempts = fields.Integer(readonly=True, default=0)
    occurred_at = fields.Datetime(readonly=True)
    received_at = fields.Datetime(readonly=True, help="When the sidecar received it.")
    processed_at = fields.Datetime(readonly=True, help="Last attempt in Odoo.")
    duration_ms = fields.Float('Processing (ms)', readonly=True, digits=(16, 2))
    latency = fields.Float('Latency (s)', readonly=True, digits=(16, 3),
                           help="From reception by the sidecar to the last attempt in Odoo.")
    error_code = fields.Char(readonly=True, index='btree_not_null')
    error_message = fields.Text(readonly=True)
    failure_history = fields.Json(
        readonly=True, copy=False,
        help="The earlier failures of this event, oldest first: a retry or replay updates the row in "
             "place, so the code of a failure it fixed is kept here "
             "(a list of {state, code, message, at}, at most the last 50).")
    payload = fields.Text(help="The canonical event (JSON); empty when stored as an attachment.")
    payload_attachment_id = fields.Many2one('ir.attachment', readonly=True, ondelete='set null')
    payload_edited = fields.Boolean(
        readonly=True, copy=False,
        help="Someone changed the payload in Odoo since it was recorded. A request that failed "
             "authentication (code signature) is replayed only once its payload was checked and edited.")
    res_model = fields.Char('Resulting Model', readonly=True, index='btree_not_null')
    res_id = fields.Many2oneReference('Resulting Record Id', model_field='res_model', readonly=True)
    res_name = fields.Char('Resulting Record', readonly=True)
    ref = fields.Reference(selection='_selection_ref', compute='_compute_ref', string='Result')
    production_id = fields.Many2one('mrp.production', readonly=True, index='btree_not_null',
                                    ondelete='set null')
    workcenter_id = fields.Many2one('mrp.workcenter', readonly=True, index='btree_not_null',
                                    ondelete='set null')
    lot_id = fields.Many2one('stock.lot', readonly=True, index='btree_not_null', ondelete='set null')
    product_id = fields.Many2one('product.product', readonly=True, index='btree_not_null',
                                 ondelete='set null')
    discard_reason = fields.Text(readonly=True)
    replay_ids = fields.One2many('plant_bridge.replay', 'message_id')

    _site_key_unique = models.Constraint('unique(site_id, key)',
                                         'An event key is unique per site (idempotency).')
    _site_state_idx = models.Index('(site_id, state, id)')

    @api.model
    def _selection_ref(self):
        return [(model, model) for model in (
            'mrp.production', 'mrp.workorder', 'mrp.workcenter', 'mrp.workcenter.productivity',
            'stock.scrap', 'stock.move', 'plant_bridge.quality.result', 'maintenance.request')]

    @api.depends('res_model', 'res_id')
    def _compute_ref(self):
        allowed = dict(self._selection_ref())
        for message in self:
            if message.res_model in allowed and message.res_id:
                message.ref = f'{message.res_model},{message.res_id}'
            else:
                message.ref = False

    # ------------------------------------------------------------------ bulk insert

    #: the columns `_insert_trace_rows` writes (the other stored fields start empty)
    TRACE_COLUMNS = (
        'key', 'site_id', 'event_type', 'source', 'origin', 'sidecar', 'state', 'rejected_by',
        'attempts', 'occurred_at', 'received_at', 'processed_at', 'duration_ms', 'latency',
        'error_code', 'error_message', 'payload', 'res_model', 'res_id', 'res_name',
        'production_id', 'workcenter_id', 'lot_id', 'product_id',
    )

    @api.model
    def _insert_trace_rows(self, vals_list):
        """Insert new trace rows with one SQL statement; returns {(site_id, key): id}.

        Why not `create()`: for the 1,000 rows of a posted batch, the ORM's create (mail.thread
        included, even with tracking off) cost about as much as creating the business records
        themselves (profiled: ~0.3-0.4 s of a ~0.9 s call). These rows need none of what create
        does: no defaults beyond the values given, no stored computes depend on them, no
        followers or tracking (posting created them with mail_create_nolog/nosubscribe and
        tracking off anyway). So the values go in as one array per column through `unnest`.

        `vals_list`: dicts of TRACE_COLUMNS values (missing, False or None: empty). The unique (site, key)
        index still decides: a row that another transaction is inserting or has committed
        since our snapshot makes PostgreSQL raise a serialization failure (ON CONFLICT DO
        NOTHING under REPEATABLE READ), which Odoo's retry loop reruns - the rerun sees the
        committed row and answers duplicate. A row skipped for a conflict with a visible row
        (the caller preloads those, so it should never happen) raises ConcurrencyError too.
        """
        if not vals_list:
            return {}
        self.check_access('create')
        self.flush_model(['site_id', 'key'])
        columns = list(self.TRACE_COLUMNS) + ['create_uid', 'write_uid', 'create_date', 'write_date']
        now, uid = self.env.cr.now(), self.env.uid
        arrays = [[None if (value := vals.get(name)) is False else value for vals in vals_list]
                  for name in self.TRACE_COLUMNS]
        arrays += [[uid] * len(vals_list), [uid] * len(vals_list), [now] * len(vals_list), [now] * len(vals_list)]
        query = SQL(
            """INSERT INTO %(table)s (%(columns)s)
               SELECT * FROM unnest(%(arrays)s)
               ON CONFLICT (site_id, key) DO NOTHING
               RETURNING site_id, key, id""",
            table=SQL.identifier(self._table),
            columns=SQL(', ').join(SQL.identifier(name) for name in columns),
            arrays=SQL(', ').join(
                SQL('%s::%s[]', array, SQL(self._fields[name].column_type[1]))
                for name, array in zip(columns, arrays)),
        )
        # a concurrent insert of the same keys is expected (it becomes a retry): not a "bad query"
        self.env.cr.execute(query, log_exceptions=False)
        ids = {(site_id, key): id_ for site_id, key, id_ in self.env.cr.fetchall()}
        if len(ids) != len(vals_list):
            raise ConcurrencyError("plant_bridge: trace rows of these keys were inserted concurrently")
        # what create() would do for dependents (none today, but e.g. a future stored count)
        self.browse(ids.values()).modified(columns, create=True)
        return ids

    # ------------------------------------------------------------------ failure history

    #: failures kept per message (a deferral retried every minute for a day would grow without end)
    FAILURE_HISTORY_LIMIT = 50

    def _prepare_failure_history_vals(self):
        """Values that keep the current failure (rejected or deferred with a code) in the history,
        before a new attempt overwrites state and error in place; {} when there is none."""
        self.ensure_one()
        if self.state not in ('rejected', 'deferred') or not self.error_code:
            return {}
        failure = {
            'state': self.state,
            'code': self.error_code,
            'message': self.error_message or '',
            'at': fields.Datetime.to_string(self.processed_at or self.create_date),
        }
        history = list(self.failure_history or [])
        last = history[-1] if history else None
        if failure['state'] == 'deferred' and last and (last['state'], last['code']) == ('deferred', failure['code']):
            # an event waiting for the same reason, attempt after attempt: one entry, counted
            history[-1] = dict(last, repeats=last.get('repeats', 1) + 1)
        else:
            history.append(failure)
        return {'failure_history': history[-self.FAILURE_HISTORY_LIMIT:]}

    # ------------------------------------------------------------------ payload

    @api.model
    def _prepare_payload_vals(self, payload_text):
        """Small payloads stay in the row; large ones go to an attachment after create."""
        if payload_text is not None and len(payload_text.encode()) > LARGE_PAYLOAD:
            return {'payload': False}, payload_text
        return {'payload': payload_text}, None

    def _store_large_payloads(self, large_by_message):
        if not large_by_message:
            return
        attachments = self.env['ir.attachment'].sudo().create([{
            'name': f'{message.key}.json',
            'res_model': self._name,
            'res_id': message.id,
            'mimetype': 'application/json',
            'raw': text.encode(),
        } for message, text in large_by_message])
        for (message, _text), attachment in zip(large_by_message, attachments):
            message.payload_attachment_id = attachment

    def _get_payload_text(self):
        self.ensure_one()
        if self.payload_attachment_id:
            return self.payload_attachment_id.sudo().raw.decode()
        return self.payload or ''

    def _get_event(self):
        """The stored payload as an event dict (raises UserError when not a JSON object)."""
        try:
            event = json.loads(self._get_payload_text())
        except ValueError as e:
            raise UserError(_("The payload of %s is not valid JSON: %s", self.key, e)) from e
        if not isinstance(event, dict):
            raise UserError(_("The payload of %s is not a JSON object.", self.key))
        return event

    # ------------------------------------------------------------------ parked events

    @api.model
    def _holding_domain(self, productions):
        """Messages that hold the later stock movements of these orders: a stock-moving event
        Odoo rejected for what it said (not for the site's setup), or one parked itself."""
        from ..posting import NOT_HOLDING, PARKED, STOCK_MOVING
        return [
            ('production_id', 'in', productions.ids), ('event_type', 'in', STOCK_MOVING),
            '|', '&', '&', ('state', '=', 'rejected'), ('rejected_by', '=', 'odoo'),
            ('error_code', 'not in', NOT_HOLDING),
            '&', ('state', '=', 'deferred'), ('error_code', '=', PARKED),
        ]

    @api.model
    def _release_parked(self, productions):
        """Post again, in their original order, the events parked behind a rejection on these
        orders, once no rejected stock movement of the order is open any more."""
        from ..posting import PARKED
        for production in productions:
            if self.search_count(self._holding_domain(production) + [('state', '=', 'rejected')], limit=1):
                continue
            self.search([('production_id', '=', production.id), ('state', '=', 'deferred'),
                         ('error_code', '=', PARKED)], order='id')._post_again()

    #: deferrals of a work order finish that wait for something Odoo sees happen (a start, an unblock)
    WAITING_FOR_WORK = ('workorder_not_started', 'workcenter_blocked')

    @api.model
    def _release_waiting_finishes(self, productions=None, workcenters=None):
        """Post again the work order finishes deferred on these orders or work centers
        (`workorder_not_started`, `workcenter_blocked`) whose work order has started meanwhile and
        whose work center is not blocked. Called after a batch and by Odoo's own Start / Unblock;
        the events posted again release nothing themselves (no chain of posts within posts)."""
        if self.env.context.get('plant_bridge_releasing') or not (productions or workcenters):
            return []
        where = [('state', '=', 'deferred'), ('error_code', 'in', self.WAITING_FOR_WORK)]
        scope = []
        if productions:
            scope.append([('production_id', 'in', productions.ids)])
        if workcenters:
            scope.append([('workcenter_id', 'in', workcenters.ids)])
        waiting = self.sudo().search(Domain.AND([where, Domain.OR(scope)]), order='id')
        ready = waiting.filtered(lambda message: message._finish_can_apply())
        return ready.with_context(plant_bridge_releasing=True)._post_again()

    def _finish_can_apply(self):
        """The work order this deferred finish names has started, on a work center not blocked
        (or it is gone / closed: posting it again settles it with its own outcome)."""
        self.ensure_one()
        try:
            operation = self._get_event().get('operation')
        except UserError:
            return False
        workorder = self.production_id.workorder_ids.filtered(lambda wo: wo.name == operation)[:1]
        if not workorder or workorder.state in ('done', 'cancel'):
            return True
        return workorder.state == 'progress' and workorder.workcenter_id.working_state != 'blocked'

    def _post_again(self):
        """Post these (deferred) events again as one batch, oldest first."""
        if not self:
            return []
        events = []
        for message in self.sorted('id'):
            event = message._get_event()
            event['id'], event['site'] = message.key, message.site_id.code
            events.append(event)
        return self.env['plant_bridge.api'].sudo()._post(events, source='replay')

    # ------------------------------------------------------------------ actions

    def action_retry(self):
        """Apply again (Odoo-side rejections, deferrals) or queue a sidecar replay."""
        self._check_can_replay()
        for message in self:
            message._replay(message._get_payload_text(), _("Retried"))
        return True

    def action_replay_edited(self):
        """Replay the payload as edited in the form (its text is validated as JSON first)."""
        self._check_can_replay()
        for message in self:
            message._replay(message._get_payload_text(), _("Payload edited and replayed"))
        return True

    def action_open_discard_wizard(self):
        return {
            'type': 'ir.actions.act_window',
            'name': _("Discard Messages"),
            'res_model': 'plant_bridge.message.discard',
            'view_mode': 'form',
            # the Exception Queue opens it from an ORM call, which (unlike a button) does not
            # complete the action: the web client needs its views
            'views': [(False, 'form')],
            'target': 'new',
            'context': {'default_message_ids': self.ids},
        }

    def _check_can_replay(self):
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can replay messages."))
        if bad := self.filtered(lambda m: m.state not in ('rejected', 'deferred')):
            raise UserError(_("Only rejected or deferred messages can be replayed: %s",
                              ', '.join(bad.mapped('key'))))

    def _replay(self, payload_text, label):
        self.ensure_one()
        self.env['plant_bridge.audit']._log('message.replay', self, {
            'key': self.key, 'label': label, 'edited': self.payload_edited, 'payload_sha256': sha256_text(payload_text)})
        if self.rejected_by == 'sidecar':
            # Nobody vouched for a request that failed authentication: replaying it as it is
            # would book events through an operator's click.
            if self.error_code == 'signature' and not self.payload_edited:
                raise UserError(_(
                    "%s failed authentication: check its payload and edit it before replaying it.",
                    self.key))
            replay = self.env['plant_bridge.replay'].sudo().create({
                'message_id': self.id, 'payload': payload_text, 'edited': self.payload_edited})
            self.message_post(body=_("%(label)s: queued for the sidecar (replay #%(id)s).",
                                     label=label, id=replay.id))
            return
        event = self._get_event()
        event['id'], event['site'] = self.key, self.site_id.code
        result = self.env['plant_bridge.api'].sudo()._post(
            [event], sidecar=False, source='replay')[0]
        self.message_post(body=_("%(label)s by %(user)s: %(status)s %(code)s",
                                 label=label, user=self.env.user.name,
                                 status=result['status'], code=result.get('code', '')))

    def action_discard(self, reason):
        """Discard these open messages with `reason`, all or none (one chunk of a bulk discard:
        the Exception Queue sends a long selection in chunks, each its own transaction, the way
        it retries, so an interruption keeps the chunks done and leaves the rest open)."""
        self._discard(reason)
        return True

    def _discard(self, reason):
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can discard messages."))
        reason = (reason or '').strip()
        if not reason:
            raise UserError(_("Say why the messages are discarded."))
        if self.filtered(lambda m: m.state not in ('rejected', 'deferred')):
            raise UserError(_("Only rejected or deferred messages can be discarded."))
        self.sudo().write({'state': 'discarded', 'discard_reason': reason})
        self.env['plant_bridge.audit']._log('message.discard', self, lambda message: {
            'key': message.key, 'reason': reason})
        for message in self:
            message.message_post(body=_("Discarded by %(user)s: %(reason)s",
                                        user=self.env.user.name, reason=reason))
        # the order's movements parked behind a discarded rejection go on
        self.sudo()._release_parked(self.production_id)

    def write(self, vals):
        """Editing the payload (before a replay) is allowed on open messages only, as JSON."""
        if 'payload' in vals:
            if self.filtered(lambda m: m.state not in ('rejected', 'deferred')):
                raise UserError(_("Only the payload of a rejected or deferred message can be edited."))
            if vals['payload']:
                try:
                    json.loads(vals['payload'])
                except ValueError as e:
                    raise UserError(_("The edited payload is not valid JSON: %s", e)) from e
        changed = self.filtered(lambda m: 'payload' in vals and (m.payload or '') != (vals['payload'] or ''))
        res = super().write(vals)
        if changed:
            super(PlantBridgeMessage, changed).write({'payload_edited': True})
        if 'payload' in vals:
            for message in self:
                message.message_post(body=_("Payload edited by %s.", self.env.user.name))
        return res

    # ------------------------------------------------------------------ crons

    @api.model
    def _cron_purge(self, batch_size=10000):
        """Retention: delete settled trace rows older than `plant_bridge.retention_days` (30).

        Rejected and deferred rows stay until someone deals with them.
        """
        days = int(self.env['ir.config_parameter'].sudo().get_param('plant_bridge.retention_days', 30))
        limit = fields.Datetime.now() - timedelta(days=days)
        old = self.search([('state', 'in', ('applied', 'discarded')), ('create_date', '<', limit)],
                          limit=batch_size)
        old.payload_attachment_id.unlink()
        old.unlink()
        self.env['plant_bridge.outbound'].search(
            [('state', '=', 'acknowledged'), ('create_date', '<', limit)], limit=batch_size).unlink()
        self.env['plant_bridge.metric.snapshot'].search([('at', '<', limit)], limit=batch_size).unlink()
        self._evict_over_budget()
        if len(old) == batch_size and self.env.context.get('cron_id'):
            self.env['ir.cron']._commit_progress(len(old), remaining=1)
        return len(old)

    @api.model
    def _evict_over_budget(self):
        """Bounds the exception queue against a flood of distinct bad input.

        Of the open rejections the sidecar reported (bad JSON, mapping errors...: input that never
        was an event), each site and code keeps the newest `plant_bridge.dead_letter_budget`
        (10000); older ones are discarded with the reason, then purged with the other discarded
        rows. Events Odoo itself rejected are business documents waiting for a fix: never evicted.
        Returns the number of rows evicted.
        """
        budget = int(self.env['ir.config_parameter'].sudo().get_param(
            'plant_bridge.dead_letter_budget', 10000))
        domain = [('state', '=', 'rejected'), ('rejected_by', '=', 'sidecar')]
        evicted = 0
        for site, code, count in self._read_group(domain, ['site_id', 'error_code'], ['__count']):
            if count <= budget:
                continue
            oldest = self.search(domain + [('site_id', '=', site.id), ('error_code', '=', code)],
                                 order='id asc', limit=count - budget)
            oldest.sudo().write({
                'state': 'discarded',
                'discard_reason': _(
                    "Evicted: more than %(budget)s open sidecar rejections with code %(code)s at "
                    "site %(site)s; the oldest go first.", budget=budget, code=code, site=site.code),
            })
            evicted += len(oldest)
        return evicted
