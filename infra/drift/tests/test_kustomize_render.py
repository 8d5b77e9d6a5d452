"""The overlays rendered here equal the committed `kubectl kustomize` output, and the renderer's
own semantics (worked by hand) hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_drift.deployment import KUBERNETES, OVERLAYS
from deploy_drift.kustomize import UnsupportedError, normalize_hash_suffixes, objects_by_key, render


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendering_equals_the_committed_kubectl_output(overlay: str, overlays: dict[str, list[dict[str, Any]]]) -> None:
    committed = yaml.safe_load_all((KUBERNETES / "rendered" / f"{overlay}.yaml").read_text())
    theirs = objects_by_key(normalize_hash_suffixes([doc for doc in committed if doc]))
    mine = objects_by_key(overlays[overlay])
    assert sorted(mine) == sorted(theirs), "objects differ: run infra/kubernetes/render.sh"
    for key, obj in mine.items():
        assert obj == theirs[key], f"{key} differs from rendered/{overlay}.yaml: run infra/kubernetes/render.sh"


def _write(folder: Path, name: str, docs: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump_all(docs))


def test_patch_merges_containers_by_name_and_replaces_env_from(tmp_path: Path) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a"},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "x/a:1",
                            "envFrom": [{"configMapRef": {"name": "a-config"}}],
                            "env": [{"name": "A_ONE", "value": "1"}],
                        },
                        {"name": "b", "image": "x/b:1"},
                    ]
                }
            },
        },
    }
    _write(tmp_path / "base", "d.yaml", [deployment])
    _write(
        tmp_path / "base",
        "kustomization.yaml",
        [{"resources": ["d.yaml"], "configMapGenerator": [{"name": "a-config", "literals": ["A_ONE=1", "A_TWO=2"]}]}],
    )
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "envFrom": [{"secretRef": {"name": "s"}}],
                            "env": [{"name": "A_THREE", "value": "3"}],
                        }
                    ]
                }
            }
        },
    }
    _write(tmp_path / "over", "p.yaml", [patch])
    _write(
        tmp_path / "over",
        "kustomization.yaml",
        [
            {
                "resources": ["../base"],
                "namespace": "n",
                "images": [{"name": "x/a", "newTag": "2"}],
                "replicas": [{"name": "a", "count": 5}],
                "configMapGenerator": [{"name": "a-config", "behavior": "merge", "literals": ["A_TWO=two"]}],
                "patches": [{"path": "p.yaml"}],
            }
        ],
    )
    objects = objects_by_key(render(tmp_path / "over"))
    rendered = objects[("Deployment", "n", "a")]
    a, b = rendered["spec"]["template"]["spec"]["containers"]
    assert a == {
        "name": "a",
        "image": "x/a:2",
        "envFrom": [{"secretRef": {"name": "s"}}],
        "env": [{"name": "A_ONE", "value": "1"}, {"name": "A_THREE", "value": "3"}],
    }
    assert b == {"name": "b", "image": "x/b:1"}
    assert rendered["spec"]["replicas"] == 5
    assert objects[("ConfigMap", "n", "a-config")]["data"] == {"A_ONE": "1", "A_TWO": "two"}


def test_an_unimplemented_kustomize_feature_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "kustomization.yaml", [{"resources": [], "namePrefix": "x-"}])
    with pytest.raises(UnsupportedError, match="namePrefix"):
        render(tmp_path)
