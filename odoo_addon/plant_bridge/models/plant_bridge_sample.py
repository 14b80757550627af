import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

#: Samples kept per connector (per site for samples without a connector): the newest win.
SAMPLES_PER_CONNECTOR = 50
#: A sample larger than this (bytes of text) is not kept: it is for trying mappings, not archiving.
MAX_SAMPLE_BYTES = 64 * 1024


class PlantBridgeSample(models.Model):
    """Recent real source messages (a topic's payload, a file line, a row), reported by
    sidecars, so that the Mapping Studio can try an expression on what the plant really sends."""
    _name = 'plant_bridge.sample'
    _description = 'Plant Bridge Source Sample'
    _order = 'at desc, id desc'
    _rec_name = 'source'

    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    connector_id = fields.Many2one('plant_bridge.connector', ondelete='cascade', index='btree_not_null')
    source = fields.Char(required=True, help="Topic, file name + line, or table + key.")
    payload = fields.Text(required=True, help="The source message as received (usually JSON).")
    at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)

    @api.model
    def _trim(self, sites, connectors):
        """Keep the newest SAMPLES_PER_CONNECTOR rows per connector (and per site without one)."""
        groups = [[('connector_id', '=', connector.id)] for connector in connectors]
        groups += [[('site_id', '=', site.id), ('connector_id', '=', False)] for site in sites]
        for domain in groups:
            old = self.sudo().search(domain, offset=SAMPLES_PER_CONNECTOR)
            old.unlink()


class PlantBridgeApi(models.AbstractModel):
    _inherit = 'plant_bridge.api'

    @api.model
    def report_samples(self, site, samples):
        """Store recent source messages of a site for the Mapping Studio (docs/odoo-api.md)."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(samples, list) or not all(isinstance(s, dict) and s.get('source') for s in samples):
            raise UserError(_("'samples' must be a list of objects with a 'source'."))
        connectors = self.env['plant_bridge.connector'].sudo().with_context(active_test=False).search(
            [('site_id', '=', site.id)])
        by_id = {c.id: c for c in connectors}
        by_name = {c.name: c for c in connectors}
        # only the newest are kept anyway: do not create what the trim would delete at once
        recent = samples[-SAMPLES_PER_CONNECTOR * 4:]
        vals_list, skipped = [], len(samples) - len(recent)
        for sample in recent:
            payload = sample.get('payload')
            text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
            if len(text.encode()) > MAX_SAMPLE_BYTES:
                skipped += 1
                continue
            ref = sample.get('connector_id', sample.get('connector'))
            connector = by_id.get(ref) if isinstance(ref, int) else by_name.get(ref)
            vals_list.append({
                'site_id': site.id,
                'connector_id': connector.id if connector else False,
                'source': str(sample['source'])[:500],
                'payload': text,
                'at': self._parse_time(sample['at'], 'at') if sample.get('at') else fields.Datetime.now(),
            })
        records = self.env['plant_bridge.sample'].sudo().create(vals_list)
        self.env['plant_bridge.sample']._trim(site, records.connector_id)
        return {'recorded': len(records), 'skipped': skipped}
