#!/usr/bin/env bash
# Renders each overlay with `kubectl kustomize` into rendered/<overlay>.yaml (committed, checked by
# infra/drift tests). Run after changing anything under base/ or overlays/.
set -euo pipefail
cd "$(dirname "$0")"
for overlay in overlays/*/; do
  name=$(basename "$overlay")
  {
    echo "# Rendered by infra/kubernetes/render.sh (kubectl kustomize overlays/$name): do not edit."
    kubectl kustomize "overlays/$name"
  } > "rendered/$name.yaml"
  echo "rendered/$name.yaml"
done
