"""The posting loop behind `plant_bridge.api.post_events` (docs/odoo-api.md).

Per batch: one query preloads the trace rows of all keys; events apply in input order, each
in its own savepoint, except batchable types (downtime) whose prepared values are created
with one `create(vals_list)` in one savepoint (halved on failure until the failing events
are alone); the new trace rows are inserted with one SQL statement at the end
(plant_bridge.message._insert_trace_rows). Two concurrent batches with the same key: the
second insert waits on the unique index and fails with a serialization failure (or a
`ConcurrencyError`), so Odoo's own retry (JSON-2 / JSON-RPC) reruns the call, which then sees
the committed row and answers `duplicate`. Nothing here has effects outside the database.
"""
import hashlib
import json
import logging
import time
from datetime import datetime

from psycopg2 import IntegrityError, errorcodes

from odoo import fields
from odoo.exceptions import ConcurrencyError, UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from .exceptions import EventDeferred, EventRejected
from .handlers import HANDLERS
from .handlers.base import EventItem, parse_datetime
from .models.plant_bridge_message import SOURCES as MESSAGE_SOURCES
from .models.plant_bridge_sor import SOR_DOMAINS

_logger = logging.getLogger(__name__)

MAX_BATCH = 5000
MAX_KEY_LENGTH = 200
SOURCES = {code for code, _label in MESSAGE_SOURCES} - {'other'}
LINK_FIELDS = ('production_id', 'workcenter_id', 'lot_id', 'product_id')
SETTLED = ('applied', 'discarded')
#: the system-of-record domain an event type reports (a quality event with `hold` is 'quality_hold')
SOR_DOMAIN_OF = {'consumption': 'consumption', 'production': 'confirmation', 'workorder_status': 'confirmation',
                 'labor': 'confirmation'}
SOR_LABELS = dict(SOR_DOMAINS)
#: events that move an order's stock: one rejected holds the order's later ones (parked)
STOCK_MOVING = ('production', 'consumption', 'scrap')
#: rejections that hold nothing back: the site's setup refused the event (not its data), or its
#: quantity is not one Odoo could book (none, negative, a finish with nothing reported)
NOT_HOLDING = ('not_system_of_record', 'unauthorized', 'bad_quantity')
PARKED = 'parked_behind_rejection'
#: deferrals that do not make the object's later events in the batch wait (`waiting_for_earlier`):
#: parked events hold only stock-moving ones, and a finish under a quality hold holds nothing else;
#: a work order finish waiting for its start must not hold back the start behind it
NOT_BLOCKING_DEFERRALS = (PARKED, 'quality_hold', 'workorder_not_started', 'workcenter_blocked')


class PostingBatch:
    def __init__(self, env, sidecar=None, source=None):
        self.env = env
        self.sidecar = sidecar if isinstance(sidecar, str) else None
        self.source = source
        self.cache = {}
        # what the plant's own events change on an order (a work order's start writing the
        # order's start, a finish its end, a backorder its quantity) is not sent back to it
        handler_env = env(context=dict(env.context, plant_bridge_no_change=True))
        self.handlers = {event_type: cls(handler_env, self.cache) for event_type, cls in HANDLERS.items()}

    # ------------------------------------------------------------------ run
    def run(self, events, sites_by_code):
        results = [None] * len(events)
        items = []
        for index, event in enumerate(events):
            site = sites_by_code.get(event.get('site')) if isinstance(event, dict) else None
            if not site:
                code = event.get('site') if isinstance(event, dict) else None
                results[index] = {
                    'id': event.get('id') if isinstance(event, dict) else None, 'site': code,
                    'status': 'rejected', 'code': 'unknown_site' if isinstance(event, dict) else 'schema',
                    'message': f"Unknown site {code!r}" if isinstance(event, dict) else "An event must be an object",
                    'message_id': None,
                }
                continue
            item = EventItem(index, event, site)
            item.key, item.error = self._check_envelope(event)
            items.append(item)

        existing = self._preload(items)
        todo, first_of = [], {}
        for item in items:
            ident = (item.site.id, item.key)
            if ident in first_of:
                item.same_as = first_of[ident]
                continue
            first_of[ident] = item
            item.message = existing.get(ident)
            item.message_id = item.message.id if item.message else None
            if not (item.message and item.message.state in SETTLED):
                todo.append(item)
        self._prefetch(todo)

        holds = self._preload_holds(todo)
        held, released = set(), set()
        pending, blocked = [], {}
        for item in todo:
            handler = self.handlers.get(item.event.get('type'))
            if item.error is None and handler is None:
                item.error = EventRejected('schema', f"Unknown event type {item.event.get('type')!r}")
            if item.error is None:
                item.error = self._sor_refusal(item)
            if item.error is not None:
                item.outcome = ('rejected', item.error)
                continue
            obj = handler.object_key(item.event)
            if obj is not None and obj in blocked:
                item.links.update(blocked[obj])
                item.outcome = ('deferred', EventDeferred(
                    'waiting_for_earlier', f"An earlier event of {obj[1]} in this batch was deferred"))
                continue
            production = self._stock_order(item)
            if production and self._is_held(item, production, holds, held):
                item.links['production_id'] = production.id
                item.outcome = ('deferred', EventDeferred(PARKED, (
                    f"An earlier stock movement of {production.name} was rejected: this event waits until "
                    f"it is replayed or discarded in the Exception Queue"), retry_after=60))
                held.add(production.id)
                continue
            if handler.batchable:
                self._prepare(handler, item, pending)
            else:
                self._flush(pending)
                self._apply(handler, item)
            if production:
                self._update_holds(item, production, holds, held, released)
            if item.outcome and item.outcome[0] == 'deferred' and obj is not None \
                    and item.outcome[1].code not in NOT_BLOCKING_DEFERRALS:
                blocked[obj] = item.links
        self._flush(pending)
        self._record(items)
        for item in items:
            results[item.index] = self._result(item.same_as or item, repeat=item.same_as is not None)
        if released:
            # the rows of this batch are written: post what waited behind what settled here (that
            # batch's own releases find nothing left parked, or a new rejection, and stop)
            self.env['plant_bridge.message']._release_parked(self.env['mrp.production'].browse(released))
        self._release_waiting_finishes(items)
        return results

    def _release_waiting_finishes(self, items):
        """Work order finishes waiting for a start or an unblock that this batch applied are posted
        again (plant_bridge.message._release_waiting_finishes checks which can apply now)."""
        applied = [item for item in items if item.outcome and item.outcome[0] == 'applied']
        if not applied:
            return
        productions = self.env['mrp.production'].browse({
            item.links['production_id'] for item in applied if item.links.get('production_id')})
        workcenters = self.env['mrp.workcenter'].browse({
            item.links['workcenter_id'] for item in applied if item.links.get('workcenter_id')})
        self.env['plant_bridge.message']._release_waiting_finishes(productions.exists(), workcenters.exists())

    # ------------------------------------------------------------------ parking
    # A rejected stock movement of an order (a bad lot, a unit Odoo does not know...) must not let
    # the order's later movements apply around it - a finish would complete the order without it.
    # Those wait, deferred `parked_behind_rejection`, until the rejected event settles: replayed
    # after a fix (applied) or discarded; then they are posted again, in their original order
    # (plant_bridge.message._release_parked). Events that move no stock are not held.
    def _stock_order(self, item):
        """The open order a stock-moving event names (None for other events, a draft, done or
        cancelled order, an unknown one: the handler decides about those)."""
        event = item.event
        if item.error is not None or event.get('type') not in STOCK_MOVING:
            return None
        name = event.get('order')
        if not isinstance(name, str) or not name.strip():
            return None
        production = self.handlers[event['type']].find_order(item.site, name.strip())
        if not production or production.state in ('draft', 'done', 'cancel'):
            return None
        return production

    def _preload_holds(self, items):
        """{production id: ids of its open rejected or parked stock-moving messages}."""
        productions = self.env['mrp.production']
        for item in items:
            productions |= self._stock_order(item) or productions
        if not productions:
            return {}
        holds = {}
        for message in self.env['plant_bridge.message'].search(
                self.env['plant_bridge.message']._holding_domain(productions)):
            holds.setdefault(message.production_id.id, set()).add(message.id)
        return holds

    @staticmethod
    def _is_held(item, production, holds, held):
        """An earlier event of the order is rejected or parked: in this batch, or recorded before
        (for an event posted again, only rows older than its own count)."""
        if production.id in held:
            return True
        own = item.message.id if item.message else None
        return any(own is None or message_id < own for message_id in holds.get(production.id, ()))

    @staticmethod
    def _update_holds(item, production, holds, held, released):
        status, error = item.outcome or (None, None)
        own = item.message.id if item.message else None
        if status == 'rejected' and error.code not in NOT_HOLDING:
            item.links.setdefault('production_id', production.id)
            held.add(production.id)
        elif own in holds.get(production.id, ()) and (
                status == 'applied' or (status == 'deferred' and error.code != PARKED)):
            # settled, or waiting for something else than a rejection (a quality hold): no longer
            # a reason for the order's later movements to wait
            holds[production.id].discard(own)
            released.add(production.id)

    def _sor_refusal(self, item):
        """The site's system-of-record matrix: an event reporting what Odoo owns at that site
        (consumption, confirmation, quality holds) is refused rather than applied twice over."""
        event_type = item.event.get('type')
        domain = SOR_DOMAIN_OF.get(event_type)
        if event_type == 'quality' and item.event.get('hold'):
            domain = 'quality_hold'
        if domain is None:
            return None
        if item.site._sor_owner(domain) != 'odoo':
            return None
        return EventRejected('not_system_of_record', (
            f"Odoo is the system of record for {SOR_LABELS.get(domain, domain).lower()} at site "
            f"{item.site.code}: this {event_type} event is not applied (change the site's "
            f"system-of-record matrix if the plant should report it)"))

    def _check_envelope(self, event):
        key = event.get('id')
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
            digest = hashlib.sha1(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
            return f'invalid:{digest}', EventRejected('schema', f"'id' must be a string of 1-{MAX_KEY_LENGTH} characters")
        if not isinstance(event.get('type'), str):
            return key, EventRejected('schema', "missing 'type'")
        try:
            parse_datetime(event.get('occurredAt'), 'occurredAt')
        except EventRejected as e:
            return key, e
        return key, None

    def _prefetch(self, items):
        """Let each handler load what its events will look up, once for the batch. Only an
        optimization (prepare/apply check everything again), so a failure is logged, not fatal."""
        by_type = {}
        for item in items:
            if item.error is None and item.event.get('type') in self.handlers:
                by_type.setdefault(item.event['type'], []).append(item)
        for event_type, group in by_type.items():
            try:
                with self.env.cr.savepoint(flush=False):
                    self.handlers[event_type].prefetch(group)
            except Exception as e:  # noqa: BLE001
                self._reraise_concurrency(e)
                _logger.exception("plant_bridge: prefetch of %s events failed", event_type)

    def _preload(self, items):
        if not items:
            return {}
        messages = self.env['plant_bridge.message'].search([
            ('site_id', 'in', list({item.site.id for item in items})),
            ('key', 'in', list({item.key for item in items})),
        ])
        messages.fetch(['site_id', 'key', 'state', 'res_model', 'res_id', 'res_name', 'attempts'])
        return {(message.site_id.id, message.key): message for message in messages}

    # ------------------------------------------------------------------ apply
    def _apply(self, handler, item):
        start = time.perf_counter()
        try:
            with self.env.cr.savepoint():
                handler.validate(item)
                item.result = handler.apply(item)
            item.outcome = ('applied', None)
        except Exception as e:  # noqa: BLE001 - every failure becomes an outcome, see _outcome_for
            item.outcome = self._outcome_for(e, item)
            self._drop_rolled_back_links(item)
            if isinstance(e, EventRejected) and e.after_rollback:
                # what the refusal itself must leave behind (a blocked attempt under a hold)
                e.after_rollback()
        item.duration = time.perf_counter() - start

    def _drop_rolled_back_links(self, item):
        """A record created in a rolled-back savepoint (e.g. a new lot) is gone: unlink it."""
        models = {'production_id': 'mrp.production', 'workcenter_id': 'mrp.workcenter',
                  'lot_id': 'stock.lot', 'product_id': 'product.product'}
        for name, record_id in list(item.links.items()):
            if not self.env[models[name]].browse(record_id).exists():
                del item.links[name]

    def _prepare(self, handler, item, pending):
        try:
            handler.validate(item)
            item.vals = handler.prepare(item)
            pending.append(item)
        except Exception as e:  # noqa: BLE001
            item.outcome = self._outcome_for(e, item)

    def _flush(self, pending):
        """Create the prepared records of batchable events, in bulk; isolate failures."""
        if not pending:
            return
        batch, pending[:] = list(pending), []
        by_type = {}
        for item in batch:
            by_type.setdefault(item.event['type'], []).append(item)
        for event_type, group in by_type.items():
            self._create_isolated(self.handlers[event_type], group)

    def _create_isolated(self, handler, group):
        """One savepoint for the whole group; if it fails, halve the group until each failing
        event is alone (a bad event among 1,000 costs ~20 savepoints, not 1,000 single creates).
        Halves are created in input order, so events of one object keep their order."""
        start = time.perf_counter()
        try:
            with self.env.cr.savepoint():
                records = handler.create_batch(group)
        except Exception as e:  # noqa: BLE001 - every failure becomes an outcome, see _outcome_for
            self._reraise_concurrency(e)
            if len(group) == 1:
                group[0].outcome = self._outcome_for(e, group[0])
                group[0].duration = time.perf_counter() - start
                return
            middle = len(group) // 2
            self._create_isolated(handler, group[:middle])
            self._create_isolated(handler, group[middle:])
            return
        duration = (time.perf_counter() - start) / len(group)
        for item, record in zip(group, records):
            item.result, item.outcome, item.duration = record, ('applied', None), duration

    def _outcome_for(self, error, item):
        self._reraise_concurrency(error)
        if isinstance(error, EventRejected):
            return ('rejected', error)
        if isinstance(error, EventDeferred):
            return ('deferred', error)
        if isinstance(error, (UserError, ValidationError)):
            # Odoo's own flow refused (a button's check, a constraint): the state does not allow it
            return ('rejected', EventRejected('state_conflict', str(error.args[0] if error.args else error)))
        _logger.exception("plant_bridge: unexpected error on event %s", item.key)
        return ('rejected', EventRejected('unexpected', f"{type(error).__name__}: {error}"))

    @staticmethod
    def _reraise_concurrency(error):
        """Lock conflicts and serialization failures must fail the whole call: Odoo retries it."""
        if isinstance(error, (ConcurrencyError, *PG_CONCURRENCY_EXCEPTIONS_TO_RETRY)):
            raise error
        if isinstance(error, IntegrityError) and error.pgcode == errorcodes.UNIQUE_VIOLATION:
            raise ConcurrencyError(f"plant_bridge: concurrent insert ({error.diag.constraint_name})") from error

    # ------------------------------------------------------------------ trace
    def _record(self, items):
        """Write the outcome of every processed event to its trace row.

        New keys (the common case) are inserted with one SQL statement (see
        plant_bridge.message._insert_trace_rows for why and how the unique index still
        guards concurrent batches); rows that existed (a rejected or deferred event posted
        again) are updated through the ORM, one by one - the rare path.
        """
        now = fields.Datetime.now()
        Message = self.env['plant_bridge.message'].with_context(tracking_disable=True)
        new_items, new_vals, large = [], [], []
        for item in items:
            if item.same_as is not None or item.outcome is None:
                continue
            vals = self._outcome_vals(item, now)
            if item.message:
                vals['attempts'] = item.message.attempts + 1
                vals.update(item.message._prepare_failure_history_vals())
                item.message.with_context(tracking_disable=True).write(vals)
                item.message_id, item.ref = item.message.id, self._ref_of(item.message)
                continue
            payload, large_text = Message._prepare_payload_vals(
                json.dumps(item.event, separators=(',', ':'), ensure_ascii=False, default=str))
            vals.update(payload, **self._envelope_vals(item), attempts=1)
            new_items.append(item)
            new_vals.append(vals)
            large.append(large_text)
        if not new_vals:
            return
        try:
            ids = Message._insert_trace_rows(new_vals)
        except IntegrityError as e:
            self._reraise_concurrency(e)
            raise
        for item, vals in zip(new_items, new_vals):
            item.message_id = ids[(item.site.id, item.key)]
            if vals['res_model']:
                item.ref = {'model': vals['res_model'], 'id': vals['res_id'], 'name': vals['res_name']}
        if large_rows := [(Message.browse(item.message_id), text) for item, text in zip(new_items, large) if text]:
            Message._store_large_payloads(large_rows)

    def _envelope_vals(self, item):
        event = item.event
        source = self.source or event.get('source')
        received = event.get('receivedAt')
        try:
            received_at = parse_datetime(received, 'receivedAt') if received else False
        except EventRejected:
            received_at = False
        try:
            occurred_at = parse_datetime(event.get('occurredAt'))
        except EventRejected:
            occurred_at = False
        event_type = event.get('type')
        return {
            'key': item.key,
            'site_id': item.site.id,
            'event_type': event_type if event_type in HANDLERS else 'other',
            'source': source if source in SOURCES else 'other',
            'origin': str(event['origin'])[:500] if event.get('origin') else False,
            'sidecar': self.sidecar or False,
            'occurred_at': occurred_at,
            'received_at': received_at,
        }

    def _outcome_vals(self, item, now):
        status, error = item.outcome
        vals = {
            'state': status,
            'rejected_by': 'odoo' if status == 'rejected' else False,
            'error_code': error.code if error else False,
            'error_message': error.message if error else False,
            'processed_at': now,
            'duration_ms': round(item.duration * 1000.0, 2),
        }
        received = item.event.get('receivedAt')
        if received:
            try:
                vals['latency'] = round((now - parse_datetime(received, 'receivedAt')).total_seconds(), 3)
            except EventRejected:
                pass
        for name in LINK_FIELDS:
            vals[name] = item.links.get(name, False)
        record = item.result
        if status == 'applied' and record:
            vals.update(res_model=record._name, res_id=record.id, res_name=record.display_name)
        else:
            vals.update(res_model=False, res_id=False, res_name=False)
        return vals

    def _result(self, item, repeat=False):
        message = item.message
        result = {'id': item.event.get('id'), 'site': item.site.code, 'message_id': item.message_id}
        if item.outcome is None and message:
            # settled before this call: the original outcome, never posted again
            result.update(status='duplicate', original_status=message.state, ref=self._ref_of(message))
            return result
        status, error = item.outcome
        if repeat and status == 'applied':
            result.update(status='duplicate', original_status='applied', ref=item.ref)
            return result
        result['status'] = status
        if status == 'applied':
            result['ref'] = item.ref
        else:
            result.update(code=error.code, message=error.message)
            if status == 'deferred':
                result['retry_after'] = error.retry_after
        return result

    @staticmethod
    def _ref_of(message):
        if not message or not message.res_model:
            return None
        return {'model': message.res_model, 'id': message.res_id, 'name': message.res_name}


def utc_iso(value):
    """Odoo's naive UTC datetime as an ISO string with offset."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + '+00:00'
    return str(value)
