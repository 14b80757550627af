import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

#: hash of "nothing before": the first row of a database links to it
GENESIS_HASH = '0' * 64
#: keys whose values never enter the audit trail in clear: their SHA-256 does
SECRET_KEYS = frozenset({'secrets', 'token', 'password', 'api_key', 'webhook_secret'})
#: the columns a row's hash covers, in this order (besides the previous row's hash)
HASHED_COLUMNS = ('seq', 'at', 'actor_id', 'actor_login', 'action', 'res_model', 'res_id', 'res_name',
                  'payload_hash')
#: advisory lock key serialising appends (any constant; pg_advisory_xact_lock takes a bigint)
APPEND_LOCK = 0x706c616e74  # "plant"
#: system parameter holding the outcome of the last scheduled verification (JSON)
CHECK_PARAM = 'plant_bridge.audit_check'


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_json(value):
    """One text for one value: sorted keys, no spaces, non-JSON values (dates...) as strings."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)


def redact(value, secret_keys=SECRET_KEYS):
    """`value` with every secret (by key, at any depth) replaced by its SHA-256."""
    if isinstance(value, dict):
        return {key: ({'sha256': sha256(canonical_json(item))} if key in secret_keys and item
                      else redact(item, secret_keys))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, secret_keys) for item in value]
    return value


def row_hash(prev_hash, row):
    """SHA-256 of the previous row's hash followed by the canonical content of this row.

    Empty values (False, '', 0, NULL) hash alike: what the ORM writes and what SQL reads back agree.
    """
    return sha256(prev_hash + canonical_json({column: row[column] or None for column in HASHED_COLUMNS}))


class PlantBridgeAudit(models.Model):
    """Append-only, hash-chained trail of governance actions: configuration changes, replays,
    discards, quality holds, API tokens and connector API keys.

    Each row stores the SHA-256 of the canonical JSON of what changed (secrets hashed, never in
    clear), the previous row's hash and its own: the hash of the previous hash and its content.
    Appends are serialised by a transaction-scoped advisory lock, so two transactions cannot fork
    the chain. Nobody writes or deletes rows through the ORM, administrators included; the only
    way out is `_purge`, which appends a row saying what it removed. `_verify_chain` walks the
    chain and names the first row altered or missing.
    """
    _name = 'plant_bridge.audit'
    _description = 'Plant Bridge Audit Trail'
    _order = 'seq desc'
    _rec_name = 'seq'

    seq = fields.Integer('#', required=True, readonly=True, index=True,
                         help="Position in the chain: 1, 2, 3... with no gap.")
    at = fields.Datetime('When', required=True, readonly=True)
    actor_id = fields.Many2one('res.users', 'Who', required=True, readonly=True, ondelete='restrict')
    actor_login = fields.Char('Login', required=True, readonly=True)
    action = fields.Char(required=True, readonly=True, index=True,
                         help="e.g. config.write, message.discard, hold.release, token.revoke, apikey.issue")
    res_model = fields.Char('Model', readonly=True, index=True)
    res_id = fields.Integer('Record ID', readonly=True)
    res_name = fields.Char('Record', readonly=True)
    payload = fields.Text(readonly=True, help="Canonical JSON of what changed; secrets appear as their SHA-256.")
    payload_hash = fields.Char(required=True, readonly=True, help="SHA-256 of the payload.")
    prev_hash = fields.Char('Previous Hash', required=True, readonly=True)
    row_hash = fields.Char('Hash', required=True, readonly=True)

    _seq_unique = models.Constraint('unique(seq)', 'The audit trail cannot fork: positions are unique.')

    # ------------------------------------------------------------------ append

    @api.model
    def _log(self, action, records=None, payload=None):
        """Append one row per record of `records` (or one row without a target) for `action`.

        `payload` is what changed: a dict, or a callable(record) -> dict; secrets in it are hashed.
        The actor is the current user (`sudo` keeps it), or `plant_bridge_audit_uid` in the context
        when a service account acts for a person. Returns the rows.
        """
        self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
        self.env.cr.execute("SELECT seq, row_hash FROM plant_bridge_audit ORDER BY seq DESC LIMIT 1")
        seq, prev = self.env.cr.fetchone() or (0, None)
        prev = prev or self._purge_anchor(seq + 1)
        actor = self.env['res.users'].sudo().browse(self.env.context.get('plant_bridge_audit_uid') or self.env.uid)
        at = fields.Datetime.to_string(fields.Datetime.now())
        vals_list = []
        for record in (records if records is not None else [None]):
            data = payload(record) if callable(payload) else payload
            # fields restricted to groups (connector secrets...) are secrets too
            restricted = {name for name, field in record._fields.items() if field.groups} if record is not None else ()
            text = canonical_json(redact(data or {}, SECRET_KEYS.union(restricted)))
            seq += 1
            vals = {
                'seq': seq, 'at': at, 'actor_id': actor.id, 'actor_login': actor.login,
                'action': action,
                'res_model': record._name if record is not None else False,
                'res_id': record.id if record is not None else 0,
                'res_name': (record.sudo().display_name or '') if record is not None else False,
                'payload': text, 'payload_hash': sha256(text), 'prev_hash': prev,
            }
            vals['row_hash'] = prev = row_hash(vals['prev_hash'], vals)
            vals_list.append(vals)
        return self.sudo().with_context(plant_bridge_audit_append=True).create(vals_list)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get('plant_bridge_audit_append'):
            raise UserError(_("The audit trail is written by Plant Bridge itself, not by hand."))
        return super().create(vals_list)

    def write(self, vals):
        raise UserError(_("The audit trail is append-only: its rows cannot be changed."))

    def unlink(self):
        raise UserError(_("The audit trail is append-only: its rows cannot be deleted "
                          "(see the documented purge)."))

    # ------------------------------------------------------------------ purge

    @api.model
    def _purge(self, before):
        """Delete the rows older than `before` (a datetime), keeping the chain verifiable:
        a `audit.purge` row records how many rows went, up to which position, and the hash
        of the last one removed, which the first kept row links to. System administrators only."""
        if not self.env.is_superuser() and not self.env.user.has_group('base.group_system'):
            raise UserError(_("Only system administrators can purge the audit trail."))
        self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
        self.env.cr.execute("""SELECT COUNT(*), MAX(seq) FROM plant_bridge_audit WHERE at < %s
                               AND seq < (SELECT MAX(seq) FROM plant_bridge_audit)""", [before])
        count, through = self.env.cr.fetchone()
        if not count:
            return self.browse()
        self.env.cr.execute("SELECT row_hash FROM plant_bridge_audit WHERE seq = %s", [through])
        anchor = self.env.cr.fetchone()[0]
        self.env.cr.execute("DELETE FROM plant_bridge_audit WHERE seq <= %s", [through])
        self.invalidate_model()
        return self._log('audit.purge', payload={
            'before': before, 'count': count, 'through_seq': through, 'anchor_hash': anchor})

    @api.model
    def _purge_anchor(self, first_seq):
        """The hash row `first_seq` links to when the rows before it were purged (or genesis)."""
        if first_seq <= 1:
            return GENESIS_HASH
        self.env.cr.execute("""SELECT payload FROM plant_bridge_audit WHERE action = 'audit.purge'
                               ORDER BY seq DESC""")
        for (text,) in self.env.cr.fetchall():
            data = json.loads(text or '{}')
            if data.get('through_seq') == first_seq - 1:
                return data.get('anchor_hash')
        return None

    # ------------------------------------------------------------------ verify

    @api.model
    def _verify_chain(self, batch_size=5000, known_head=None):
        """Walk the chain from its first row, straight from the table (no cache).

        Returns {'ok', 'count', 'head_seq', 'head_hash', 'broken_seq', 'reason'}: `broken_seq`
        is the first row whose payload, content or link does not hold — a row altered in SQL is
        named itself; a deleted row is named by the row after the gap. Rows cut off the end leave
        no gap: pass `known_head`, a (seq, hash) noted earlier outside the database, to check
        that the chain still holds it.
        """
        cr = self.env.cr
        report = {'ok': True, 'count': 0, 'head_seq': 0, 'head_hash': GENESIS_HASH,
                  'broken_seq': False, 'reason': False}
        columns = ', '.join(HASHED_COLUMNS + ('payload', 'prev_hash', 'row_hash'))
        expected_seq, expected_prev, last_seq = None, None, 0
        while True:
            cr.execute(f"SELECT {columns} FROM plant_bridge_audit WHERE seq > %s ORDER BY seq LIMIT %s",
                       [last_seq, batch_size])
            rows = cr.dictfetchall()
            if not rows:
                return self._check_known_head(report, known_head)
            for row in rows:
                row['at'] = fields.Datetime.to_string(row['at'])
                if expected_seq is None:
                    expected_seq, expected_prev = row['seq'], self._purge_anchor(row['seq'])
                reason = False
                if row['seq'] != expected_seq:
                    reason = _("rows %(first)s to %(last)s are missing", first=expected_seq, last=row['seq'] - 1)
                elif row['prev_hash'] != expected_prev:
                    reason = _("does not link to the row before it (a row was deleted or re-chained)")
                elif sha256(row['payload'] or '') != row['payload_hash']:
                    reason = _("its payload does not match its payload hash (altered)")
                elif row_hash(row['prev_hash'], row) != row['row_hash']:
                    reason = _("its content does not match its hash (altered)")
                if reason:
                    report.update(ok=False, broken_seq=row['seq'], reason=reason)
                    return report
                report.update(count=report['count'] + 1, head_seq=row['seq'], head_hash=row['row_hash'])
                expected_seq, expected_prev, last_seq = row['seq'] + 1, row['row_hash'], row['seq']

    @api.model
    def _check_known_head(self, report, known_head):
        if not report['ok'] or not known_head:
            return report
        seq, hash_ = known_head
        if seq > report['head_seq']:
            report.update(ok=False, broken_seq=seq,
                          reason=_("the chain ends at row %s: the rows after it were deleted", report['head_seq']))
        else:
            self.env.cr.execute("SELECT row_hash FROM plant_bridge_audit WHERE seq = %s", [seq])
            found = self.env.cr.fetchone()
            if not found or found[0] != hash_:
                report.update(ok=False, broken_seq=seq, reason=_("it is not the row noted with this hash"))
        return report

    @api.model
    def _cron_verify(self):
        """Daily scheduled action: verify the chain, keep the outcome for the dashboard
        (`audit_status`) and, when it is broken, notify the Plant Bridge managers once per break."""
        report = self._verify_chain()
        Param = self.env['ir.config_parameter'].sudo()
        previous = json.loads(Param.get_param(CHECK_PARAM) or '{}')
        status = {
            'ok': report['ok'], 'checked_at': fields.Datetime.to_string(fields.Datetime.now()),
            'count': report['count'], 'head_seq': report['head_seq'],
            'broken_seq': report['broken_seq'], 'reason': report['reason'],
        }
        Param.set_param(CHECK_PARAM, json.dumps(status))
        already = (previous.get('broken_seq'), previous.get('reason')) == (status['broken_seq'], status['reason'])
        if not report['ok'] and not already:
            self._notify_broken(report)
        return status

    @api.model
    def _notify_broken(self, report):
        """An inbox notification (or e-mail, as each manager chose) linked to the row named."""
        managers = self.env.ref('plant_bridge.group_manager').sudo().all_user_ids.filtered(
            lambda u: u.active and not u.share)
        if not managers:
            return
        row = self.sudo().search([('seq', '=', report['broken_seq'])], limit=1)
        subject = _("Audit trail broken at row #%s", report['broken_seq'])
        self.env['mail.thread'].sudo().message_notify(
            partner_ids=managers.partner_id.ids,
            model=self._name if row else False, res_id=row.id or False,
            subject=subject,
            body=_("The scheduled verification of the Plant Bridge audit trail found row #%(seq)s "
                   "broken: %(reason)s. Compare with the head you noted outside the database "
                   "(see the audit documentation) and find out who changed the table.",
                   seq=report['broken_seq'], reason=report['reason']),
        )

    @api.model
    def audit_status(self):
        """The last scheduled verification for the dashboard (managers): {ok, checked_at, count,
        head_seq, broken_seq, reason}; `ok` None when it has not run yet."""
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise AccessError(_("Only Plant Bridge managers can see the audit trail."))
        status = json.loads(self.env['ir.config_parameter'].sudo().get_param(CHECK_PARAM) or '{}')
        return {'ok': None, 'checked_at': False, 'count': 0, 'head_seq': 0, 'broken_seq': False,
                'reason': False, **status}

    def action_verify(self):
        """Button and menu for managers: verify the chain and say the outcome in a notification.

        Not `@api.model`: the list's header button sends the selected ids (none or some), which
        an `@api.model` method would receive as an unexpected argument."""
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can verify the audit trail."))
        report = self._verify_chain()
        if report['ok']:
            message = _("The audit trail holds: %(count)s rows, head #%(seq)s %(hash)s.",
                        count=report['count'], seq=report['head_seq'], hash=report['head_hash'])
        else:
            message = _("The audit trail is broken at row #%(seq)s: %(reason)s.",
                        seq=report['broken_seq'], reason=report['reason'])
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': _("Audit trail verification"),
                'message': message,
                'type': 'success' if report['ok'] else 'danger',
                'sticky': not report['ok'],
            },
        }
