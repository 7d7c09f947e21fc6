#!/usr/bin/env bash
# Regenerate the golden outputs of the kustomize engine corpus with the
# reference implementation (`kubectl kustomize`, see README.md for the version).
#
# For every folder under cases/ the kustomization at <case>/<build-path> (or the
# case folder itself) is built from within the case folder.  On success stdout
# goes to expected/<case>.yaml; on failure stderr goes to expected/<case>.error
# reduced to the error text itself (kubectl's klog prefix with timestamp and pid
# removed, Go pointers such as 0xc000123456 replaced by 0xPTR) and with the
# absolute case folder path replaced by the literal string $CASE.
#
# Usage: tests/kustomize/regen.sh [case-name ...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cases_dir="$here/cases"
expected_dir="$here/expected"
mkdir -p "$expected_dir"

if [[ $# -gt 0 ]]; then
  names=("$@")
else
  names=()
  for dir in "$cases_dir"/*/; do
    names+=("$(basename "$dir")")
  done
  # Drop outputs of cases that no longer exist.
  for out in "$expected_dir"/*.yaml "$expected_dir"/*.error; do
    [[ -e "$out" ]] || continue
    name="$(basename "$out")"
    name="${name%.*}"
    [[ -d "$cases_dir/$name" ]] || rm -f "$out"
  done
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

ok=0
failed=0
for name in "${names[@]}"; do
  case_dir="$cases_dir/$name"
  if [[ ! -d "$case_dir" ]]; then
    echo "no such case: $name" >&2
    exit 1
  fi
  build_path="."
  if [[ -f "$case_dir/build-path" ]]; then
    build_path="$(head -n 1 "$case_dir/build-path")"
  fi
  # helmcharts-* cases run with helm enabled; `helm` is helm-shim.py,
  # which renders with the real Helm v4 SDK (pip install helm-python-sdk).
  flags=()
  if [[ "$name" == helmcharts-* || "$name" == *-helm-* || "$name" == *-and-helm ]]; then
    flags=(--enable-helm --helm-command "$here/helm-shim.py")
  fi
  rm -f "$expected_dir/$name.yaml" "$expected_dir/$name.error"
  if (cd "$case_dir" && kubectl kustomize "${flags[@]}" "$build_path") >"$tmp/out" 2>"$tmp/err"; then
    mv "$tmp/out" "$expected_dir/$name.yaml"
    ok=$((ok + 1))
  else
    # Make the message machine-independent: kubectl wraps the error in a klog
    # line ("E<date> <time> <pid> run.go:NN] "command failed" err=...") whose
    # timestamp and pid change on every run, so keep only the error text
    # itself (unquoted), and replace the case folder's absolute path (physical
    # and logical) by $CASE.
    logical="$(cd "$case_dir" && pwd -L)"
    physical="$(cd "$case_dir" && pwd -P)"
    SHIM="$here/helm-shim.py" CASE_PHYS="$physical" CASE_LOG="$logical" perl -0777 -MEncode -ne '
      my $s = $_;
      my $unquote = sub {
        my $q = shift;
        $q =~ s/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)/
          my $e = $1;
          $e eq "n" ? "\n" : $e eq "t" ? "\t" : $e eq "r" ? "\r" :
          $e =~ m{^x} ? chr(hex(substr($e, 1))) :
          $e =~ m{^[uU]} ? Encode::encode_utf8(chr(hex(substr($e, 1)))) : $e/ge;
        return $q;
      };
      $s =~ s/^E\d{4} [0-9:.]+\s+\d+ \S+\] "command failed" err="((?:[^"\\\n]|\\.)*)"$/$unquote->($1)/gme;
      $s =~ s/^E\d{4} [0-9:.]+\s+\d+ \S+\] "command failed" err=<\n((?:\t.*\n)*) >$/join("", map { substr($_, 1) } split(m{(?<=\n)}, $1)) =~ s{\n\z}{}r/gme;
      # Go pointers printed in some messages differ on every run.
      $s =~ s/\b0x[0-9a-f]{8,}\b/0xPTR/g;
      $s =~ s/\Q$ENV{CASE_PHYS}\E/\$CASE/g;
      $s =~ s/\Q$ENV{CASE_LOG}\E/\$CASE/g;
      # The helm shim path and the temporary helm home of kustomize.
      $s =~ s/\Q$ENV{SHIM}\E/helm/g;
      $s =~ s{/tmp/kustomize-helm-\d+}{\$HELM_TMP}g;
      print $s;
    ' "$tmp/err" >"$expected_dir/$name.error"
    failed=$((failed + 1))
  fi
done

echo "regenerated $((ok + failed)) case(s): $ok .yaml, $failed .error"
