"""The parameters of the legacy source connectors, checked in Odoo with the rules the sidecar
applies: `data/connector_params.schema.json` is generated from the sidecar's own checks
(`npm run schema:connectors`), and validated here with the small part of JSON Schema it uses."""
import json
import math
import re
from functools import cache

from odoo.tools.misc import file_path

SCHEMA_FILE = 'plant_bridge/data/connector_params.schema.json'
_TYPES = {
    'string': lambda v: isinstance(v, str),
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    'boolean': lambda v: isinstance(v, bool),
    'object': lambda v: isinstance(v, dict),
    'array': lambda v: isinstance(v, list),
    'null': lambda v: v is None,
}


@cache
def connector_schemas():
    with open(file_path(SCHEMA_FILE), encoding='utf-8') as f:
        return json.load(f)


def params_schema(kind):
    """The JSON Schema of a connector kind's parameters, or None (not checked field by field)."""
    return connector_schemas()['params'].get(kind)


def param_property(kind, name):
    return (params_schema(kind) or {}).get('properties', {}).get(name, {})


def validate(schema, value, path=''):
    """The problems of `value` against `schema`: a list of (path, message), empty when valid."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [(path, "is not allowed")]
    for keyword in ('anyOf', 'oneOf'):
        if keyword in schema:
            options = schema[keyword]
            # a discriminated union ({"kind": "page", ...}): the problems of the form it names
            if isinstance(value, dict):
                named = [o for o in options if o.get('properties', {}).get('kind', {}).get('const') == value.get('kind')]
                options = named or options
            results = [validate(option, value, path) for option in options]
            passing = sum(1 for r in results if not r)
            if passing == 0 or (keyword == 'oneOf' and passing > 1):
                return min(results, key=len) if passing == 0 else [(path, "matches more than one form")]
    kind = schema.get('type')
    if kind:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](value) for k in kinds):
            return [(path, f"must be {' or '.join(kinds)}")]
    if 'const' in schema and value != schema['const']:
        return [(path, f"must be {json.dumps(schema['const'])}")]
    if 'enum' in schema and value not in schema['enum']:
        return [(path, "must be one of " + ', '.join(json.dumps(e) for e in schema['enum']))]
    problems = []
    if isinstance(value, str):
        if len(value) < schema.get('minLength', 0):
            problems.append((path, "is required" if not value else f"needs at least {schema['minLength']} characters"))
        if 'maxLength' in schema and len(value) > schema['maxLength']:
            problems.append((path, f"has at most {schema['maxLength']} characters"))
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            problems.append((path, "is not in the expected form"))
        if schema.get('format') == 'uri' and not re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://\S+$', value):
            problems.append((path, "must be a URL (e.g. https://mes.example.com/api/orders)"))
    if _TYPES['number'](value):
        if 'minimum' in schema and value < schema['minimum']:
            problems.append((path, f"must be at least {schema['minimum']}"))
        if 'maximum' in schema and value > schema['maximum']:
            problems.append((path, f"must be at most {schema['maximum']}"))
        if 'exclusiveMinimum' in schema and value <= schema['exclusiveMinimum']:
            problems.append((path, f"must be more than {schema['exclusiveMinimum']}"))
    if isinstance(value, list):
        if len(value) < schema.get('minItems', 0):
            problems.append((path, f"needs at least {schema['minItems']} item(s)"))
        for i, item in enumerate(value):
            problems += validate(schema.get('items', {}), item, f'{path}[{i}]')
    if isinstance(value, dict):
        properties = schema.get('properties', {})
        if 'propertyNames' in schema:
            # the names an object may use (a SQL sink's columns: the release fields)
            for name in value:
                problems += [(_join(path, name), message)
                             for __, message in validate(schema['propertyNames'], name, _join(path, name))]
        for name in schema.get('required', []):
            if name not in value:
                problems.append((_join(path, name), "is required"))
        for name, item in value.items():
            if name in properties:
                problems += validate(properties[name], item, _join(path, name))
            elif 'additionalProperties' in schema:
                extra = schema['additionalProperties']
                if extra is False:
                    problems.append((_join(path, name), "is not a parameter of this kind"))
                else:
                    problems += validate(extra, item, _join(path, name))
    return problems


def _join(path, name):
    return f'{path}.{name}' if path else name
