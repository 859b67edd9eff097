"""tests/infra/kustomize.py, the renderer the Kubernetes checks use: its semantics on small cases,
and the same output as `kubectl kustomize` on every overlay wherever kubectl is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.kustomize import Unsupported, image_name, object_id, render
from tests.infra.support import INFRA

KUSTOMIZATIONS = sorted(p.parent for p in (INFRA / "k8s").rglob("kustomization.yaml"))
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.it/app:1.0
          args: [serve]
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
        - name: sidecar
          image: other:2
"""


def write(folder: Path, kustomization: str, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(kustomization)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)
    return folder


def test_patches_merge_maps_and_named_lists_and_replace_other_lists(tmp_path: Path) -> None:
    write(tmp_path / "base", "resources: [web.yaml]\n", web_yaml=DEPLOYMENT)
    patch = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          args: [worker]
          env: [{name: B, value: "3"}, {name: C, value: "4"}]
"""
    overlay = "resources: [../base]\nnamespace: prod\npatches: [{path: patch.yaml}]\n"
    overlay += "images: [{name: registry.example.it/app, newTag: '2.0'}]\n"
    (deployment,) = render(write(tmp_path / "prod", overlay, patch_yaml=patch))
    app, sidecar = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["metadata"]["namespace"] == "prod" and deployment["spec"]["replicas"] == 2
    assert app["args"] == ["worker"] and app["image"] == "registry.example.it/app:2.0"
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert sidecar == {"name": "sidecar", "image": "other:2"}


def test_a_null_removes_a_key(tmp_path: Path) -> None:
    write(tmp_path / "base", "resources: [web.yaml]\n", web_yaml=DEPLOYMENT)
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: null}\n"
    overlay = "resources: [../base]\npatches: [{path: p.yaml}]\n"
    (deployment,) = render(write(tmp_path / "o", overlay, p_yaml=patch))
    assert deployment["spec"] == {}


def test_a_digest_replaces_the_tag(tmp_path: Path) -> None:
    write(tmp_path / "base", "resources: [web.yaml]\n", web_yaml=DEPLOYMENT)
    digest = "sha256:" + "a" * 64
    overlay = (
        f"resources: [../base]\nimages: [{{name: other, newName: r.example.it/o, digest: '{digest}'}}]\n"
    )
    (deployment,) = render(write(tmp_path / "o", overlay))
    app, sidecar = deployment["spec"]["template"]["spec"]["containers"]
    assert sidecar["image"] == f"r.example.it/o@{digest}" and app["image"] == "registry.example.it/app:1.0"


@pytest.mark.parametrize(
    ("kustomization", "patch"),
    [
        ("resources: [../base]\nnamePrefix: x-\n", ""),
        ("resources: [../base]\npatches: [{path: p.yaml, target: {kind: Deployment}}]\n", ""),
        (
            "resources: [../base]\npatches: [{path: p.yaml}]\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: "
            "{tolerations: [{key: a}]}}}\n",
        ),
        (
            "resources: [../base]\npatches: [{path: p.yaml}]\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n$patch: delete\n",
        ),
    ],
)
def test_what_it_does_not_implement_is_refused(tmp_path: Path, kustomization: str, patch: str) -> None:
    write(tmp_path / "base", "resources: [web.yaml]\n", web_yaml=DEPLOYMENT)
    with pytest.raises(Unsupported):
        render(write(tmp_path / "o", kustomization, p_yaml=patch))


def test_a_patch_must_name_an_existing_object(tmp_path: Path) -> None:
    write(tmp_path / "base", "resources: [web.yaml]\n", web_yaml=DEPLOYMENT)
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wbe}\nspec: {replicas: 1}\n"
    with pytest.raises(ValueError, match="matches 0 objects"):
        render(write(tmp_path / "o", "resources: [../base]\npatches: [{path: p.yaml}]\n", p_yaml=patch))


def test_image_names() -> None:
    assert image_name("riscossa") == "riscossa"
    assert image_name("registry:5000/team/riscossa:1.2@sha256:ab") == "registry:5000/team/riscossa"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_the_same_output_as_kubectl_kustomize(folder: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here: the renderer's own tests above still ran")
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    theirs = {object_id(o): o for o in yaml.safe_load_all(done.stdout) if o}
    ours = {object_id(o): o for o in render(folder)}
    assert ours.keys() == theirs.keys()
    for key, obj in ours.items():
        assert obj == theirs[key], key
