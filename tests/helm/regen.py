#!/usr/bin/env python3
"""Regenerates tests/helm/expected/ with real Helm v4 (the helm-python-sdk
package: Helm's Go SDK behind Python; no helm binary, no cluster).

For each case of cases.json the user values are merged as the Helm CLI
does (values files in order, deep-merged; then --set, --set-string,
--set-json, --set-file, each parsed by Helm's own strvals and merged), the
chart is installed with `dry_run="client"` (what `helm template` runs), and
the expected text is what `helm template --include-crds` prints:
the CRD files of the chart (top chart only: see README), the release
manifest, then the hooks. The SDK's release summary carries no hooks, so
they are taken from the SDK's render output and ordered with Helm's kind
order in Python (see KIND_ORDER). Errors are stored as Helm's message.

Also rebuilds charts/umbrella/charts/cache-1.2.0.tgz from src/cache
(deterministic gzip).

Usage: python3 tests/helm/regen.py [case-name ...]
"""

import gzip
import io
import json
import os
import re
import shutil
import sys
import tempfile
import tarfile

import helm_python as helm
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
KIND_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]


def build_tgz():
    src = os.path.join(HERE, "src/cache")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for root, dirs, files in sorted(os.walk(src)):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                info = t.gettarinfo(p, arcname="cache/" + os.path.relpath(p, src))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(p, "rb") as fh:
                    t.addfile(info, fh)
    dst = os.path.join(HERE, "charts/umbrella/charts/cache-1.2.0.tgz")
    with open(dst, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(buf.getvalue())


class MissingFile(Exception):
    """A values file that does not exist."""


def merge(a, b):
    """Helm's mergeMaps (values files) and, approximately, strvals.ParseInto."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            merged = list(out[k])
            for i, item in enumerate(v):
                if i >= len(merged):
                    merged.append(item)
                elif item is not None:
                    merged[i] = merge(merged[i], item) if isinstance(item, dict) and isinstance(merged[i], dict) else item
            out[k] = merged
        else:
            out[k] = v
    return out


def user_values(case, chart_dir):
    vals = {}
    for f in case.get("values", []):
        if not os.path.exists(os.path.join(chart_dir, f)):
            # Go's os.ReadFile error, as the Helm CLI reports it.
            raise MissingFile(f"open {f}: no such file or directory")
        with open(os.path.join(chart_dir, f)) as fh:
            vals = merge(vals, helm.values_from_yaml(fh.read()))
    if case.get("values_yaml"):
        vals = merge(vals, helm.values_from_yaml(case["values_yaml"]))
    cwd = os.getcwd()
    os.chdir(chart_dir)  # --set-file paths, as the engine reads them
    try:
        return _sets(case, vals)
    finally:
        os.chdir(cwd)


def _sets(case, vals):
    for key, parse in [("set", helm.parse_set_string), ("set_string", helm.parse_set_string_values),
                       ("set_json", helm.parse_set_json), ("set_file", helm.parse_set_file)]:
        for expr in case.get(key, []):
            vals = merge(vals, parse(expr))
    return vals


def split(text):
    docs = re.split(r"(?:^|\s*\n)---\s*", text)
    return [d.lstrip() for d in docs if d.strip()]


def hooks(rendered, skip_tests):
    out = []
    for name in sorted(rendered):
        base = os.path.basename(name)
        if base.startswith("_") or name.endswith("NOTES.txt") or not rendered[name].strip():
            continue
        for doc in split(rendered[name]):
            obj = yaml.safe_load(doc)
            ann = ((obj or {}).get("metadata") or {}).get("annotations") or {}
            hook = ann.get("helm.sh/hook")
            if hook is None:
                continue
            if skip_tests and any(h.strip() in ("test", "test-success") for h in hook.split(",")):
                continue
            out.append((obj.get("kind", ""), name, doc))
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    def key(item):
        kind = item[0]
        return (0, rank[kind], "") if kind in rank else (1, 0, kind)
    out.sort(key=key)
    return "".join(f"---\n# Source: {n}\n{d}\n" for _, n, d in out)


def crds(chart_dir, chart_name):
    out = ""
    d = os.path.join(chart_dir, "crds")
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.endswith((".yaml", ".yml", ".json")):
                with open(os.path.join(d, f)) as fh:
                    out += f"---\n# Source: {chart_name}/crds/{f}\n{fh.read()}\n"
    return out


def run(case):
    chart_dir = os.path.join(HERE, "charts", case["chart"])
    try:
        vals = user_values(case, chart_dir)
        if case.get("skip_schema_validation"):
            # The SDK always validates: render a copy without the schema.
            tmp = tempfile.mkdtemp()
            shutil.copytree(chart_dir, os.path.join(tmp, case["chart"]))
            os.remove(os.path.join(tmp, case["chart"], "values.schema.json"))
            chart_dir = os.path.join(tmp, case["chart"])
        chart = helm.Chart.load(chart_dir)
        if chart.metadata.get("type") == "library":
            # The action installs nothing; the CLI refuses first
            # (cmd/helm's checkIfInstallable), with this message.
            return "error.txt", "library charts are not installable\n"
        with helm.Config(namespace=case["namespace"]) as cfg:
            rel = cfg.install(chart, case["release"], vals, dry_run="client",
                              namespace=case["namespace"])
        rendered = chart.render(vals, name=case["release"], namespace=case["namespace"],
                                is_install=True)
        text = "" if case.get("skip_crds") else crds(chart_dir, chart.name)
        text += rel["manifest"] + hooks(rendered, case.get("skip_tests"))
        return "yaml", text
    except (helm.HelmError, MissingFile) as e:
        return "error.txt", str(e) + "\n"


def main():
    build_tgz()
    names = set(sys.argv[1:])
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    for case in cases:
        if names and case["name"] not in names:
            continue
        ext, text = run(case)
        for old in ("yaml", "error.txt"):
            p = os.path.join(HERE, "expected", f"{case['name']}.{old}")
            if os.path.exists(p):
                os.remove(p)
        with open(os.path.join(HERE, "expected", f"{case['name']}.{ext}"), "w") as f:
            f.write(text)
        print(f"{case['name']}: {ext}")


if __name__ == "__main__":
    main()
