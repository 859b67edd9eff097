"""JSON schemas of the two KEDA objects infra/k8s uses (keda.sh/v1alpha1 ScaledObject and
TriggerAuthentication), which kubernetes-validate does not know: written from KEDA's CRDs and its
RabbitMQ scaler's parameters, limited to the fields we use and closed to any other, so that a typo
fails the check instead of being ignored by the cluster."""

from __future__ import annotations

from typing import Any

import jsonschema

NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}
QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": NAME,
        "namespace": NAME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
RABBITMQ_METADATA = {
    "type": "object",
    "required": ["queueName", "mode", "value"],
    "properties": {
        "queueName": {"type": "string", "minLength": 1},
        "mode": {"enum": ["QueueLength", "MessageRate"]},
        "value": QUANTITY,
        "activationValue": QUANTITY,
        "protocol": {"enum": ["auto", "amqp", "http"]},
        "vhostName": {"type": "string"},
    },
    "additionalProperties": False,
}
TRIGGER = {
    "type": "object",
    "required": ["type", "metadata"],
    "properties": {
        "type": {"const": "rabbitmq"},
        "name": NAME,
        "metadata": RABBITMQ_METADATA,
        "authenticationRef": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": NAME, "kind": {"enum": ["TriggerAuthentication"]}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": NAME,
                        "kind": {"const": "Deployment"},
                        "apiVersion": {"const": "apps/v1"},
                    },
                    "additionalProperties": False,
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {"type": "array", "minItems": 1, "items": TRIGGER},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["secretTargetRef"],
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "properties": {
                            "parameter": {"enum": ["host", "username", "password", "vhostName"]},
                            "name": NAME,
                            "key": {"type": "string", "minLength": 1},
                        },
                        "additionalProperties": False,
                    },
                }
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}


def validate(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `obj` is a well-formed object of a known KEDA kind."""
    schema = SCHEMAS[obj["kind"]]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(obj)
