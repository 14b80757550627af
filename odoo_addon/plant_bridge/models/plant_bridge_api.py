import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import reading
from ..posting import MAX_BATCH, PostingBatch, parse_datetime
from ..exceptions import EventRejected


#: system parameter naming this database's environment (production, test, ...)
ENVIRONMENT_PARAM = 'plant_bridge.environment'


class PlantBridgeApi(models.AbstractModel):
    """The sidecar <-> Odoo API (docs/odoo-api.md), called over JSON-2 or JSON-RPC.

    Every public method checks the caller's group and sites first; business effects then run
    as superuser on records resolved from validated business keys within those sites.
    """
    _name = 'plant_bridge.api'
    _description = 'Plant Bridge API'

    # ------------------------------------------------------------------ access
    @api.model
    def _check_caller(self):
        user = self.env.user
        if not (self.env.su or user.has_group('plant_bridge.group_connector')
                or user.has_group('plant_bridge.group_manager')):
            raise AccessError(_("Plant Bridge API: %s is not a connector or a Plant Bridge manager.", user.login))

    @api.model
    def _environment(self):
        """This database's environment: the `plant_bridge.environment` system parameter when set,
        else `test` on a neutralized copy (Odoo's own marker of a database copied for testing),
        else `production`."""
        params = self.env['ir.config_parameter'].sudo()
        declared = (params.get_param(ENVIRONMENT_PARAM) or '').strip().lower()
        if declared:
            return declared
        return 'test' if params.get_param('database.is_neutralized') else 'production'

    @api.model
    def _check_environment(self, environment):
        """A sidecar that declares its environment posts, configures and releases only within it:
        a test sidecar never posts into production, a production plant never takes a test
        database's releases. An AccessError (403): the sidecar pauses and alerts, and buffers."""
        if environment is None:
            return
        mine = self._environment()
        if not isinstance(environment, str) or environment.strip().lower() != mine:
            raise AccessError(_(
                "Plant Bridge API: this database is a '%(database)s' environment and the sidecar "
                "declares '%(sidecar)s': nothing crosses environments.",
                database=mine, sidecar=environment))

    @api.model
    def _caller_sites(self, codes):
        """({code: site as superuser} of the existing sites the caller may use, the codes of the
        existing sites it may not: the site record rules decide)."""
        Site = self.env['plant_bridge.site']
        sites = Site.sudo().search([('code', 'in', list(codes))])
        allowed = sites if self.env.su else Site.search([('id', 'in', sites.ids)]).sudo()
        return {site.code: site for site in allowed}, set((sites - allowed).mapped('code'))

    @api.model
    def _sites_by_code(self, codes):
        """{code: site as superuser} for existing sites; AccessError if one is not the caller's."""
        sites, forbidden = self._caller_sites(codes)
        if forbidden:
            raise AccessError(_("Plant Bridge API: no access to site(s) %s.", ', '.join(sorted(forbidden))))
        return sites

    @api.model
    def _get_site(self, code):
        if not isinstance(code, str):
            raise UserError(_("'site' must be a site code."))
        site = self._sites_by_code([code]).get(code)
        if not site:
            raise UserError(_("Unknown site %s.", code))
        return site

    # ------------------------------------------------------------------ posting
    @api.model
    def post_events(self, events, sidecar=None, environment=None):
        """Apply a batch of canonical events; one result per event, in input order."""
        self._check_caller()
        self._check_environment(environment)
        if not isinstance(events, list):
            raise UserError(_("'events' must be a list."))
        if len(events) > MAX_BATCH:
            raise UserError(_("At most %s events per call.", MAX_BATCH))
        return self._post(events, sidecar=sidecar)

    @api.model
    def _post(self, events, sidecar=None, source=None):
        """Events of a site the caller may not use are rejected one by one (`unauthorized`, no
        trace row in that site), so one misrouted event does not stop the plant's other events."""
        codes = {e['site'] for e in events if isinstance(e, dict) and isinstance(e.get('site'), str)}
        sites, forbidden = self._caller_sites(codes)
        env = self.env(su=True)
        results = PostingBatch(env, sidecar=sidecar, source=source).run(events, sites)
        for result in results:
            if result['status'] == 'rejected' and result.get('code') == 'unknown_site' \
                    and result.get('site') in forbidden:
                result.update(code='unauthorized', message=_("No access to site %s.", result['site']))
        return results

    # ------------------------------------------------------------------ configuration
    @api.model
    def get_config(self, site, known_revision=0, environment=None):
        """The site's configuration, or only its revision when the caller already has it."""
        self._check_caller()
        self._check_environment(environment)
        site = self._get_site(site)
        revision = self.env['plant_bridge.config.revision']._current()
        result = {'site': site.code, 'revision': revision, 'changed': known_revision != revision,
                  'environment': self._environment()}
        if not result['changed']:
            return result
        site = site.with_context(active_test=False)
        result.update({
            'site_info': {
                'code': site.code, 'name': site.name, 'timezone': site.timezone,
                'warehouse': site.warehouse_id.code,
            },
            'connectors': [c._get_config_vals() for c in site.connector_ids],
            'mappings': [m._get_config_vals() for m in site.mapping_ids],
            'schedules': [s._get_config_vals() for s in self.env['plant_bridge.schedule'].sudo().with_context(
                active_test=False).search([('site_id', '=', site.id)])],
            'sor': {row.domain: row.owner for row in site.sor_ids},
            'posting_windows': [w._get_config_vals() for w in site.posting_window_ids.filtered('active')],
        })
        return result

    # ------------------------------------------------------------------ outbound
    @api.model
    def fetch_outbound(self, site, limit=100, environment=None):
        """Pending outbound events of the site, oldest first."""
        self._check_caller()
        self._check_environment(environment)
        site = self._get_site(site)
        if not isinstance(limit, int) or limit < 1:
            raise UserError(_("'limit' must be a positive integer."))
        rows = self.env['plant_bridge.outbound'].sudo().search(
            [('site_id', '=', site.id), ('state', '=', 'pending')], order='id', limit=min(limit, 1000))
        return [row._get_fetch_vals() for row in rows]

    @api.model
    def ack_outbound(self, acks):
        """Record what the plant did with outbound events (acknowledged or failed)."""
        self._check_caller()
        if not isinstance(acks, list) or not all(isinstance(a, dict) and isinstance(a.get('id'), int) for a in acks):
            raise UserError(_("'acks' must be a list of objects with an integer 'id'."))
        rows = self.env['plant_bridge.outbound'].sudo().browse([a['id'] for a in acks]).exists()
        self._sites_by_code(set(rows.site_id.mapped('code')))
        by_id = {row.id: row for row in rows}
        counts = {'acknowledged': 0, 'failed': 0}
        now = fields.Datetime.now()
        for ack in acks:
            state = ack.get('state')
            if state not in counts:
                raise UserError(_("ack state must be 'acknowledged' or 'failed'."))
            if row := by_id.get(ack['id']):
                row.write({'state': state, 'sink': ack.get('sink') or False,
                           'ack_message': ack.get('message') or False, 'ack_date': now})
                counts[state] += 1
        return counts

    # ------------------------------------------------------------------ health
    @api.model
    def heartbeat(self, sidecar, snapshots=None):
        """Register the sidecar, store its metric snapshots, hand it pending replays."""
        self._check_caller()
        if not isinstance(sidecar, dict) or not isinstance(sidecar.get('name'), str):
            raise UserError(_("'sidecar' must be an object with a 'name'."))
        site = self._get_site(sidecar.get('site'))
        Sidecar = self.env['plant_bridge.sidecar'].sudo()
        registration = Sidecar.search([('site_id', '=', site.id), ('name', '=', sidecar['name'])])
        vals = {
            'hostname': sidecar.get('hostname') or False,
            'version': sidecar.get('version') or False,
            'config_revision': int(sidecar.get('config_revision') or 0),
            'last_heartbeat': fields.Datetime.now(),
            'is_stale': False,
        }
        if sidecar.get('started_at'):
            vals['started_at'] = self._parse_time(sidecar['started_at'], 'started_at')
        if registration:
            registration.write(vals)
        else:
            registration = Sidecar.create(dict(vals, name=sidecar['name'], site_id=site.id))
        if snapshots:
            self._store_snapshots(registration, snapshots)
        replays = self.env['plant_bridge.replay'].sudo().search(
            [('site_id', '=', site.id), ('state', '=', 'pending')], order='id', limit=100)
        return {'ok': True, 'replays': [
            {'replay_id': r.id, 'fingerprint': r.fingerprint or None, 'payload': r.payload,
             'edited': r.edited, 'code': r.code or None} for r in replays]}

    def _store_snapshots(self, registration, snapshots):
        if not isinstance(snapshots, list):
            raise UserError(_("'snapshots' must be a list."))
        numbers = ('received', 'applied', 'rejected', 'duplicate', 'outbox_depth', 'dead_letters',
                   'critical_pending', 'bulk_pending', 'held')
        floats = ('oldest_pending_age', 'latency_p50', 'latency_p95', 'latency_p99', 'critical_lag', 'bulk_lag')
        vals_list = []
        for snapshot in snapshots:
            if not isinstance(snapshot, dict):
                raise UserError(_("A snapshot must be an object."))
            vals = {'sidecar_id': registration.id,
                    'at': self._parse_time(snapshot.get('at'), 'at') if snapshot.get('at') else fields.Datetime.now(),
                    'connector': snapshot.get('connector') or False,
                    'odoo_up': bool(snapshot.get('odoo_up', True))}
            vals.update({name: int(snapshot.get(name) or 0) for name in numbers})
            vals.update({name: float(snapshot.get(name) or 0.0) for name in floats})
            if snapshot.get('held_until'):
                vals['held_until'] = self._parse_time(snapshot['held_until'], 'held_until')
            vals_list.append(vals)
        self.env['plant_bridge.metric.snapshot'].sudo().create(vals_list)

    @api.model
    def _parse_time(self, value, name):
        try:
            return parse_datetime(value, name)
        except EventRejected as e:
            raise UserError(e.message) from None

    # ------------------------------------------------------------------ sidecar rejections
    @api.model
    def report_rejections(self, site, items):
        """Sidecar-side rejections become `rejected` trace rows, idempotent by fingerprint."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get('code') for i in items):
            raise UserError(_("'items' must be a list of objects with a 'code'."))
        Message = self.env['plant_bridge.message'].sudo().with_context(
            tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True)
        keyed = {}
        for item in items:
            payload = item.get('payload')
            payload_text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
            fingerprint = str(item.get('fingerprint') or hashlib.sha1(
                f"{item.get('origin')}|{payload_text}".encode()).hexdigest())
            keyed.setdefault(f'rejection:{fingerprint}'[:200], (item, fingerprint, payload_text))
        existing = Message.search([('site_id', '=', site.id), ('key', 'in', list(keyed))])
        known = set(existing.mapped('key'))
        vals_list, large = [], []
        for key, (item, fingerprint, payload_text) in keyed.items():
            if key in known:
                continue
            payload_vals, large_text = Message._prepare_payload_vals(payload_text)
            source = item.get('source')
            received = item.get('received_at')
            vals_list.append(dict(
                payload_vals, key=key, site_id=site.id, state='rejected', rejected_by='sidecar',
                fingerprint=fingerprint, event_type='other', attempts=1,
                error_code=str(item['code'])[:64], error_message=item.get('message') or False,
                source=source if source in dict(Message._fields['source'].selection) else 'other',
                origin=str(item.get('origin') or '')[:500] or False,
                received_at=self._parse_time(received, 'received_at') if received else False,
                processed_at=fields.Datetime.now(), sidecar=item.get('sidecar') or False))
            large.append(large_text)
        messages = Message.create(vals_list)
        messages._store_large_payloads([(m, t) for m, t in zip(messages, large) if t])
        return {'recorded': len(messages), 'duplicate': len(items) - len(messages),
                'message_ids': [existing.filtered(lambda m, k=k: m.key == k).id or
                                messages.filtered(lambda m, k=k: m.key == k).id for k in keyed]}

    @api.model
    def ack_replays(self, items):
        """The sidecar ran queued replays through its pipeline: settle them."""
        self._check_caller()
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get('replay_id'), int)
                                                  for i in items):
            raise UserError(_("'items' must be a list of objects with an integer 'replay_id'."))
        replays = self.env['plant_bridge.replay'].sudo().browse([i['replay_id'] for i in items]).exists()
        self._sites_by_code(set(replays.site_id.mapped('code')))
        by_id = {replay.id: replay for replay in replays}
        done = failed = 0
        for item in items:
            replay = by_id.get(item['replay_id'])
            if not replay or replay.state != 'pending':
                continue
            ok = item.get('status') in ('accepted', 'applied', 'duplicate', 'done')
            replay.write({'state': 'done' if ok else 'failed', 'result_code': item.get('code') or False,
                          'done_at': fields.Datetime.now()})
            message = replay.message_id
            history = message._prepare_failure_history_vals()
            attempt = {'attempts': message.attempts + 1, 'processed_at': fields.Datetime.now()}
            if ok:
                message.write(dict(history, **attempt, state='discarded',
                                   discard_reason=_("Replayed through the sidecar (#%s)", replay.id)))
            else:
                code = item.get('code') or message.error_code
                # the reason goes with its code: a new code without a message keeps no stale one
                reason = item.get('message') or (message.error_message if code == message.error_code else False)
                message.write(dict(history, **attempt, error_code=code, error_message=reason))
            message.message_post(body=_("Sidecar replay #%(id)s: %(status)s %(code)s", id=replay.id,
                                        status=item.get('status'), code=item.get('code') or ''))
            done, failed = done + ok, failed + (not ok)
        self.env['plant_bridge.message'].sudo()._release_parked(replays.filtered(
            lambda r: r.state == 'done').message_id.production_id)
        return {'done': done, 'failed': failed}

    # ------------------------------------------------------------------ read side (GraphQL)
    # Read-only views of the canonical manufacturing model for the sidecar's GraphQL API.
    # The connector has no ACL on MRP, stock or maintenance: these methods check its group and
    # site, then read as superuser only the fields they return (see reading.py).
    @api.model
    def _read_env(self, site):
        self._check_caller()
        return self.env(su=True), self._get_site(site)

    @api.model
    def read_sites(self):
        """The caller's sites: [{code, name, timezone, warehouse}]."""
        self._check_caller()
        return [reading.site_vals(site) for site in self.env['plant_bridge.site'].search([]).sudo()]

    @api.model
    def read_orders(self, site, filter=None, limit=50, after=None):  # noqa: A002 - the API's word
        """Manufacturing orders of the site, by name descending: {orders: [header], has_more}.

        `filter`: {states: [...], product: ref, names: [...], workcenter: code or name,
        startFrom, startTo (ISO)}; `after`: the last order name of the previous page.
        """
        env, site = self._read_env(site)
        return reading.read_orders(env, site, filter, reading.check_limit(self.env, limit), after)

    @api.model
    def read_order_details(self, site, names):
        """Components (with lots and consumed quantities), work orders, finished lots and quality
        results of the named orders of the site; unknown names are left out."""
        env, site = self._read_env(site)
        return reading.read_order_details(env, site, reading.check_names(self.env, names))

    @api.model
    def read_workcenters(self, site, names=None):
        """Work centers of the site (all, or those whose code or name is in `names`) with their live
        status and current downtime. The site's are the company's, unless the company has plants on
        other warehouses: then those of the site's warehouse (see `reading.site_workcenter_ids`)."""
        env, site = self._read_env(site)
        return reading.read_workcenters(env, site, None if names is None else reading.check_names(self.env, names))

    @api.model
    def read_oee(self, site, names, date_from, date_to):
        """Odoo's OEE figures of each work center for the period [`date_from`, `date_to`): its
        OEE, Performance, productive and blocked time and the OEE report's minutes per loss type
        (productive, performance, quality, availability), as Odoo computes them for the last
        month (`reading.read_oee`)."""
        env, site = self._read_env(site)
        return reading.read_oee(env, site, reading.check_names(self.env, names), date_from, date_to)

    @api.model
    def read_lots(self, site, names):
        """Lots / serials with their genealogy: the orders that produced them and what those
        consumed, and where each lot went (orders, deliveries, scrap). When the company has plants
        on other warehouses, only lots that moved through the site's warehouse."""
        env, site = self._read_env(site)
        return reading.read_lots(env, site, reading.check_names(self.env, names))

    @api.model
    def read_quality_results(self, site, filter=None, limit=50, after=None):  # noqa: A002
        """Quality results of the site, newest first: {items, has_more}."""
        env, site = self._read_env(site)
        return reading.read_quality_results(env, site, filter, reading.check_limit(self.env, limit), after)

    @api.model
    def read_records(self, site, filter=None, limit=50, after=None):  # noqa: A002
        """Compliance records of the site, newest first: {items, has_more}. `filter`: {lot, order,
        delivery, kind, customer, shippedTo} (`shippedTo`: records for what was delivered to that
        customer)."""
        env, site = self._read_env(site)
        return reading.read_records(env, site, filter, reading.check_limit(self.env, limit), after)

    @api.model
    def read_maintenance_requests(self, site, filter=None, limit=50, after=None):  # noqa: A002
        """Maintenance requests of the site's work centers (and their equipment), newest first:
        {items, has_more}."""
        env, site = self._read_env(site)
        return reading.read_maintenance_requests(env, site, filter, reading.check_limit(self.env, limit), after)

    # ------------------------------------------------------------------ API tokens
    @api.model
    def list_api_tokens(self):
        """Valid bearer tokens of the GraphQL API usable on the caller's sites, as hashes only:
        [{name, hash, scopes, sites (None: every site), expires_at}]. Sidecars poll it, so a revoked
        token stops working within one poll interval."""
        self._check_caller()
        sites = self.env['plant_bridge.site'].search([]).sudo()
        return self.env['plant_bridge.api.token']._list_for_sidecar(sites)

    # ------------------------------------------------------------------ legacy pulls
    @api.model
    def report_runs(self, site, runs):
        """Run history of scheduled legacy pulls, filed under their schedule; idempotent by `key`:
        `runs`: [{key, schedule_id, started_at, ended_at, state (done|failed), rows, accepted,
        duplicates, rejected, skipped, code?, message?, sidecar?}]."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(runs, list) or len(runs) > 1000 or not all(
                isinstance(r, dict) and isinstance(r.get('key'), str) and r['key']
                and isinstance(r.get('schedule_id'), int) for r in runs):
            raise UserError(_("'runs' must be a list (at most 1000) of objects with a 'key' and an "
                              "integer 'schedule_id'."))
        Run = self.env['plant_bridge.schedule.run'].sudo()
        schedules = self.env['plant_bridge.schedule'].sudo().with_context(active_test=False).search(
            [('id', 'in', [r['schedule_id'] for r in runs]), ('site_id', '=', site.id)])
        known = set(Run.search([('key', 'in', [r['key'][:200] for r in runs])]).mapped('key'))
        vals_list, unknown = [], 0
        for run in runs:
            key = run['key'][:200]
            if key in known:
                continue
            if run['schedule_id'] not in schedules.ids:
                unknown += 1
                continue
            if run.get('state') not in ('done', 'failed'):
                raise UserError(_("A run's state is 'done' or 'failed'."))
            known.add(key)
            vals_list.append({
                'key': key,
                'schedule_id': run['schedule_id'],
                'sidecar': str(run.get('sidecar') or '')[:200] or False,
                'started_at': self._parse_time(run.get('started_at'), 'started_at'),
                'ended_at': self._parse_time(run['ended_at'], 'ended_at') if run.get('ended_at') else False,
                'state': run['state'],
                'rows_read': int(run.get('rows') or 0),
                'rows_accepted': int(run.get('accepted') or 0),
                'rows_duplicate': int(run.get('duplicates') or 0),
                'rows_rejected': int(run.get('rejected') or 0),
                'skipped': int(run.get('skipped') or 0),
                'error_code': str(run.get('code') or '')[:64] or False,
                'message': str(run.get('message') or '')[:4000] or False,
            })
        Run.create(vals_list)
        return {'recorded': len(vals_list), 'duplicate': len(runs) - len(vals_list) - unknown,
                'unknown_schedule': unknown}

    @api.model
    def reconcile(self, site, key, lines, source=None, sidecar=None):
        """Compare the legacy side's totals with Odoo and file the differences as a
        `plant_bridge.reconciliation` with proposed corrections; idempotent by (site, key).
        `lines`: [{order, shift?, shift_start?, shift_end?, produced?, scrapped?, product?, lot?,
        consumed?}]. Returns {reconciliation_id, compared, differences}."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(key, str) or not 0 < len(key) <= 200:
            raise UserError(_("'key' must be a string of 1 to 200 characters."))
        reconciliation = self.env['plant_bridge.reconciliation'].sudo()._reconcile(
            site, key, source if isinstance(source, str) else None, lines,
            sidecar=sidecar if isinstance(sidecar, str) else None)
        return {'reconciliation_id': reconciliation.id, 'compared': reconciliation.compared_count,
                'differences': reconciliation.difference_count}
