"""The part of kustomize that infra/k8s uses, so that `make test` renders the overlays on machines
without kubectl (no kustomize can be installed reproducibly here: README "Deploying").

Supported kustomization fields: `resources` (files and directories), `patches` given by `path`
(strategic-merge patches, one or more documents, each naming its target by apiVersion, kind and
name), `namespace` and `images`. Anything else raises `Unsupported` instead of being ignored.
Strategic merge is limited to what the overlays need: maps merge, `null` removes a key, the lists
`containers`, `initContainers`, `env` and `volumes` merge by `name`, `args` and `command` are
replaced; any other list in a patch raises `Unsupported`.

`test_kubernetes.py` compares this renderer's output with `kubectl kustomize` wherever kubectl is
installed, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

FIELDS = frozenset({"apiVersion", "kind", "resources", "patches", "namespace", "images"})
MERGED_BY_NAME = frozenset({"containers", "initContainers", "env", "volumes"})
REPLACED_LISTS = frozenset({"args", "command"})
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "ClusterTriggerAuthentication",
    }
)


class Unsupported(Exception):
    """A kustomization or patch uses something this renderer does not implement."""


def object_id(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj.get("metadata", {})
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def render(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize directory` would print (in file order)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - FIELDS
    if unknown:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects += render(path) if path.is_dir() else load_documents(path)
    ids = [object_id(o) for o in objects]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{directory}: the same object twice")
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise Unsupported(f"{directory}: patch {patch} (only `path` is supported)")
        for document in load_documents(directory / patch["path"]):
            apply_patch(objects, document)
    if "namespace" in kustomization:
        set_namespace(objects, kustomization["namespace"])
    for image in kustomization.get("images", []):
        set_image(objects, image)
    return objects


def apply_patch(objects: list[Obj], patch: Obj) -> None:
    name = patch["metadata"]["name"]
    targets = [
        o
        for o in objects
        if o["apiVersion"] == patch["apiVersion"]
        and o["kind"] == patch["kind"]
        and o["metadata"]["name"] == name
    ]
    if len(targets) != 1:
        raise ValueError(f"patch {patch['kind']}/{name} matches {len(targets)} objects")
    merge(targets[0], patch)


def merge(base: Obj, patch: Obj) -> None:
    """Strategic merge of `patch` into `base`, in place (the subset described above)."""
    for key, value in patch.items():
        if key.startswith("$"):
            raise Unsupported(f"patch directive {key}")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        elif isinstance(value, list) and key in MERGED_BY_NAME and isinstance(base.get(key), list):
            merge_by_name(base[key], value)
        elif isinstance(value, list) and key not in REPLACED_LISTS | MERGED_BY_NAME:
            raise Unsupported(f"patching the list {key!r}")
        else:
            base[key] = copy.deepcopy(value)


def merge_by_name(base: list[Obj], patch: list[Obj]) -> None:
    by_name = {item["name"]: item for item in base}
    for item in patch:
        if item["name"] in by_name:
            merge(by_name[item["name"]], item)
        else:
            base.append(copy.deepcopy(item))


def set_namespace(objects: list[Obj], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace


def image_name(image: str) -> str:
    """`registry:5000/name:tag@sha256:…` -> `registry:5000/name`."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last)] + last.split(":", 1)[0]


def set_image(objects: list[Obj], rule: Obj) -> None:
    for container in containers(objects):
        if image_name(container["image"]) != rule["name"]:
            continue
        new = rule.get("newName", rule["name"])
        if "digest" in rule:
            container["image"] = f"{new}@{rule['digest']}"
        elif "newTag" in rule:
            container["image"] = f"{new}:{rule['newTag']}"
        else:
            old = container["image"]
            container["image"] = new + old[len(image_name(old)) :]


def containers(node: Any) -> list[Obj]:
    """Every container and init container anywhere below `node`."""
    found: list[Obj] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found += value
            else:
                found += containers(value)
    elif isinstance(node, list):
        for item in node:
            found += containers(item)
    return found
