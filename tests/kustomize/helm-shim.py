#!/usr/bin/env python3
"""A stand-in for the `helm` binary, for `kubectl kustomize --enable-helm
--helm-command tests/kustomize/helm-shim.py` (see regen.sh).

It implements only what Kustomize v5.5's HelmChartInflationGenerator runs:

  helm version -c --short
  helm template NAME|--generate-name CHART [--namespace NS] [-f FILE]...
       [--include-crds] [--skip-tests] [--no-hooks]

by calling the real Helm v4 SDK (the helm-python-sdk package, as
tests/helm/regen.py does): values files merged in order, the chart
installed with dry_run="client" (what `helm template` runs), printed as
`helm template` prints it (CRD files with --include-crds, the manifest, then
the hooks unless --no-hooks).

Kustomize refuses any helm whose version is not 3.x, so `version` answers
v3.99.0; the rendering is Helm v4's. `--generate-name` would make Helm pick
`<chart>-<unix time>`; the shim uses `release-name` so outputs are
deterministic. `helm pull` (a chart with `repo:` not present locally) is
refused: the corpus never reaches the network. Anything else is refused
with a message, so a new flag Kustomize starts passing is noticed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helm"))

import helm_python as helm  # noqa: E402
from regen import crds, hooks, merge  # noqa: E402  (tests/helm/regen.py)


def fail(msg):
    sys.stderr.write(f"Error: {msg}\n")
    sys.exit(1)


def template(args):
    name, chart_dir, namespace = None, None, "default"
    files, include_crds, skip_tests, no_hooks = [], False, False, False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--generate-name":
            name = "release-name"
        elif a == "--namespace":
            i += 1
            namespace = args[i]
        elif a == "-f":
            i += 1
            files.append(args[i])
        elif a == "--include-crds":
            include_crds = True
        elif a == "--skip-tests":
            skip_tests = True
        elif a == "--no-hooks":
            no_hooks = True
        elif a.startswith("-"):
            fail(f"helm-shim: flag {a} is not implemented")
        elif name is None:
            name = a
        elif chart_dir is None:
            chart_dir = a
        else:
            fail(f"helm-shim: unexpected argument {a}")
        i += 1
    if chart_dir is None:
        fail("helm-shim: no chart")
    vals = {}
    for f in files:
        with open(f) as fh:
            vals = merge(vals, helm.values_from_yaml(fh.read()) or {})
    try:
        chart = helm.Chart.load(chart_dir)
        with helm.Config(namespace=namespace) as cfg:
            rel = cfg.install(chart, name, vals, dry_run="client", namespace=namespace)
        text = crds(chart_dir, chart.name) if include_crds else ""
        text += rel["manifest"]
        if not no_hooks:
            rendered = chart.render(vals, name=name, namespace=namespace, is_install=True)
            text += hooks(rendered, skip_tests)
    except helm.HelmError as e:
        fail(str(e))
    sys.stdout.write(text)


def main():
    args = sys.argv[1:]
    if args[:1] == ["version"]:
        print("v3.99.0+helm-python-sdk")
    elif args[:1] == ["template"]:
        template(args[1:])
    elif args[:1] == ["pull"]:
        fail("helm-shim: pulling charts is not implemented (the corpus is offline)")
    else:
        fail(f"helm-shim: unsupported command {' '.join(args)}")


if __name__ == "__main__":
    main()
