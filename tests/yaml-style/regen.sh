#!/usr/bin/env bash
# Regenerate the golden outputs of the YAML style tests with the reference
# implementation, `kubectl kustomize` (Kustomize v5.5.0).
#
# Every folder here holding a kustomization.yaml is built, and its output is
# written next to it as <folder>.expected.yaml. The test
# crates/render/tests/yaml_style.rs reads each folder's resources.yaml and
# checks that kiln_render::manifests_to_yaml prints every object exactly as in
# the golden file.
#
# Usage: tests/yaml-style/regen.sh [folder ...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"

if [[ $# -gt 0 ]]; then
  names=("$@")
else
  names=()
  for dir in "$here"/*/; do
    [[ -f "$dir/kustomization.yaml" ]] && names+=("$(basename "$dir")")
  done
fi

for name in "${names[@]}"; do
  if [[ ! -f "$here/$name/kustomization.yaml" ]]; then
    echo "no such case: $name" >&2
    exit 1
  fi
  kubectl kustomize "$here/$name" >"$here/$name.expected.yaml.tmp"
  # go-yaml v2 sorts map keys with a comparison that is not transitive for
  # some key sets (e.g. "9", "10", "1e3"), and then prints them in an order
  # that changes from run to run. Golden files must not depend on that.
  for _ in 1 2 3; do
    if ! kubectl kustomize "$here/$name" | cmp -s - "$here/$name.expected.yaml.tmp"; then
      rm -f "$here/$name.expected.yaml.tmp"
      echo "$name: kubectl output differs between runs (non-transitive key order?)" >&2
      exit 1
    fi
  done
  mv "$here/$name.expected.yaml.tmp" "$here/$name.expected.yaml"
  echo "$name.expected.yaml: $(grep -c '^kind: ' "$here/$name.expected.yaml") object(s)"
done
