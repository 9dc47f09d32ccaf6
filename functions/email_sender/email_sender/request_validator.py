# fmt: off
# ruff: noqa
"""The email request's schema check: generated from email_request.REQUEST_SCHEMA by fastjsonschema.

Do not edit; run `python -m scripts.generate_request_validator` (see that script for why it is shipped).
"""
VERSION = "2.22.3"
from decimal import Decimal
import re
from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^[A-Za-z0-9_-]{1,64}$': re.compile('^[A-Za-z0-9_-]{1,64}\\Z')
}

NoneType = type(None)

def validate(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Groundskeeper email request', 'type': 'object', 'additionalProperties': False, 'required': ['template', 'to', 'data'], 'properties': {'template': {'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'}, 'to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'cc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'bcc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'data': {'type': 'object'}, 'from': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'reply_to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'idempotency_key': {'type': 'string', 'minLength': 1, 'maxLength': 256}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['template', 'to', 'data']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Groundskeeper email request', 'type': 'object', 'additionalProperties': False, 'required': ['template', 'to', 'data'], 'properties': {'template': {'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'}, 'to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'cc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'bcc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'data': {'type': 'object'}, 'from': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'reply_to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'idempotency_key': {'type': 'string', 'minLength': 1, 'maxLength': 256}}}, rule='required')
        data_keys = set(data.keys())
        if "template" in data_keys:
            data_keys.remove("template")
            data__template = data["template"]
            if not isinstance(data__template, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".template must be string", value=data__template, name="" + (name_prefix or "data") + ".template", definition={'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'}, rule='type')
            if isinstance(data__template, str):
                if not REGEX_PATTERNS['^[A-Za-z0-9_-]{1,64}$'].search(data__template):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".template must match pattern ^[A-Za-z0-9_-]{1,64}$", value=data__template, name="" + (name_prefix or "data") + ".template", definition={'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'}, rule='pattern')
        if "to" in data_keys:
            data_keys.remove("to")
            data__to = data["to"]
            if not isinstance(data__to, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".to must be array", value=data__to, name="" + (name_prefix or "data") + ".to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='type')
            data__to_is_list = isinstance(data__to, (list, tuple))
            if data__to_is_list:
                data__to_len = len(data__to)
                if data__to_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".to must contain at least 1 items", value=data__to, name="" + (name_prefix or "data") + ".to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='minItems')
                if data__to_len > 50:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".to must contain less than or equal to 50 items", value=data__to, name="" + (name_prefix or "data") + ".to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='maxItems')
                for data__to_x, data__to_item in enumerate(data__to):
                    if not isinstance(data__to_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + " must be string", value=data__to_item, name="" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='type')
                    if isinstance(data__to_item, str):
                        data__to_item_len = len(data__to_item)
                        if data__to_item_len < 3:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + " must be longer than or equal to 3 characters", value=data__to_item, name="" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='minLength')
                        if data__to_item_len > 320:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + " must be shorter than or equal to 320 characters", value=data__to_item, name="" + (name_prefix or "data") + ".to[{data__to_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='maxLength')
        if "cc" in data_keys:
            data_keys.remove("cc")
            data__cc = data["cc"]
            if not isinstance(data__cc, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".cc must be array", value=data__cc, name="" + (name_prefix or "data") + ".cc", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, rule='type')
            data__cc_is_list = isinstance(data__cc, (list, tuple))
            if data__cc_is_list:
                data__cc_len = len(data__cc)
                if data__cc_len > 50:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".cc must contain less than or equal to 50 items", value=data__cc, name="" + (name_prefix or "data") + ".cc", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, rule='maxItems')
                for data__cc_x, data__cc_item in enumerate(data__cc):
                    if not isinstance(data__cc_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + " must be string", value=data__cc_item, name="" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='type')
                    if isinstance(data__cc_item, str):
                        data__cc_item_len = len(data__cc_item)
                        if data__cc_item_len < 3:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + " must be longer than or equal to 3 characters", value=data__cc_item, name="" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='minLength')
                        if data__cc_item_len > 320:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + " must be shorter than or equal to 320 characters", value=data__cc_item, name="" + (name_prefix or "data") + ".cc[{data__cc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='maxLength')
        if "bcc" in data_keys:
            data_keys.remove("bcc")
            data__bcc = data["bcc"]
            if not isinstance(data__bcc, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".bcc must be array", value=data__bcc, name="" + (name_prefix or "data") + ".bcc", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, rule='type')
            data__bcc_is_list = isinstance(data__bcc, (list, tuple))
            if data__bcc_is_list:
                data__bcc_len = len(data__bcc)
                if data__bcc_len > 50:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bcc must contain less than or equal to 50 items", value=data__bcc, name="" + (name_prefix or "data") + ".bcc", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, rule='maxItems')
                for data__bcc_x, data__bcc_item in enumerate(data__bcc):
                    if not isinstance(data__bcc_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + " must be string", value=data__bcc_item, name="" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='type')
                    if isinstance(data__bcc_item, str):
                        data__bcc_item_len = len(data__bcc_item)
                        if data__bcc_item_len < 3:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + " must be longer than or equal to 3 characters", value=data__bcc_item, name="" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='minLength')
                        if data__bcc_item_len > 320:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + " must be shorter than or equal to 320 characters", value=data__bcc_item, name="" + (name_prefix or "data") + ".bcc[{data__bcc_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='maxLength')
        if "data" in data_keys:
            data_keys.remove("data")
            data__data = data["data"]
            if not isinstance(data__data, (dict)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".data must be object", value=data__data, name="" + (name_prefix or "data") + ".data", definition={'type': 'object'}, rule='type')
        if "from" in data_keys:
            data_keys.remove("from")
            data__from = data["from"]
            if not isinstance(data__from, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".from must be string", value=data__from, name="" + (name_prefix or "data") + ".from", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='type')
            if isinstance(data__from, str):
                data__from_len = len(data__from)
                if data__from_len < 3:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".from must be longer than or equal to 3 characters", value=data__from, name="" + (name_prefix or "data") + ".from", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='minLength')
                if data__from_len > 320:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".from must be shorter than or equal to 320 characters", value=data__from, name="" + (name_prefix or "data") + ".from", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='maxLength')
        if "reply_to" in data_keys:
            data_keys.remove("reply_to")
            data__replyto = data["reply_to"]
            if not isinstance(data__replyto, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to must be array", value=data__replyto, name="" + (name_prefix or "data") + ".reply_to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='type')
            data__replyto_is_list = isinstance(data__replyto, (list, tuple))
            if data__replyto_is_list:
                data__replyto_len = len(data__replyto)
                if data__replyto_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to must contain at least 1 items", value=data__replyto, name="" + (name_prefix or "data") + ".reply_to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='minItems')
                if data__replyto_len > 50:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to must contain less than or equal to 50 items", value=data__replyto, name="" + (name_prefix or "data") + ".reply_to", definition={'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, rule='maxItems')
                for data__replyto_x, data__replyto_item in enumerate(data__replyto):
                    if not isinstance(data__replyto_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + " must be string", value=data__replyto_item, name="" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='type')
                    if isinstance(data__replyto_item, str):
                        data__replyto_item_len = len(data__replyto_item)
                        if data__replyto_item_len < 3:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + " must be longer than or equal to 3 characters", value=data__replyto_item, name="" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='minLength')
                        if data__replyto_item_len > 320:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + " must be shorter than or equal to 320 characters", value=data__replyto_item, name="" + (name_prefix or "data") + ".reply_to[{data__replyto_x}]".format(**locals()) + "", definition={'type': 'string', 'minLength': 3, 'maxLength': 320}, rule='maxLength')
        if "idempotency_key" in data_keys:
            data_keys.remove("idempotency_key")
            data__idempotencykey = data["idempotency_key"]
            if not isinstance(data__idempotencykey, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".idempotency_key must be string", value=data__idempotencykey, name="" + (name_prefix or "data") + ".idempotency_key", definition={'type': 'string', 'minLength': 1, 'maxLength': 256}, rule='type')
            if isinstance(data__idempotencykey, str):
                data__idempotencykey_len = len(data__idempotencykey)
                if data__idempotencykey_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".idempotency_key must be longer than or equal to 1 characters", value=data__idempotencykey, name="" + (name_prefix or "data") + ".idempotency_key", definition={'type': 'string', 'minLength': 1, 'maxLength': 256}, rule='minLength')
                if data__idempotencykey_len > 256:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".idempotency_key must be shorter than or equal to 256 characters", value=data__idempotencykey, name="" + (name_prefix or "data") + ".idempotency_key", definition={'type': 'string', 'minLength': 1, 'maxLength': 256}, rule='maxLength')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Groundskeeper email request', 'type': 'object', 'additionalProperties': False, 'required': ['template', 'to', 'data'], 'properties': {'template': {'type': 'string', 'pattern': '^[A-Za-z0-9_-]{1,64}$'}, 'to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'cc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'bcc': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50}, 'data': {'type': 'object'}, 'from': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'reply_to': {'type': 'array', 'items': {'type': 'string', 'minLength': 3, 'maxLength': 320}, 'maxItems': 50, 'minItems': 1}, 'idempotency_key': {'type': 'string', 'minLength': 1, 'maxLength': 256}}}, rule='additionalProperties')
    return data
