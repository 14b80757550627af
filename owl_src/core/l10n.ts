/**
 * `_t` re-exported once (OWL.md pitfall 3): imported in several files of one bundle, esbuild would
 * rename it `_t2`, which Odoo's translation extraction does not see. Import `_t` from here.
 */
export { _t } from "@web/core/l10n/translation";
