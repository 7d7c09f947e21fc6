#!/usr/bin/env bash
# Regenerates what real Kustomize (`kubectl kustomize`, v5.5.0) builds from
# each overlay under deploy/overlays; tests/e2e/deploy.rs checks that Kiln
# builds the same bytes and that the security settings are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
for o in deploy/overlays/*/; do
    name=$(basename "$o")
    kubectl kustomize "$o" > "tests/deploy/$name.yaml"
    echo "regenerated tests/deploy/$name.yaml"
done
