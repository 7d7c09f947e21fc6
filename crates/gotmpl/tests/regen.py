#!/usr/bin/env python3
"""Regenerates the golden outputs of tests/cases/*.txt with real Helm v4.

Needs `pip install helm-python-sdk` (Helm's Go SDK behind Python; no helm
binary, no cluster). Each case is rendered as the only template of a chart
named `t`, so its template name is `t/templates/<case>`, with the file's
`-- values --` JSON as .Values, release `r` in namespace `ns`. The result is
written next to the cases as `<file>.golden.json`:
{"<case>": {"output": "..."}} or {"<case>": {"error": "..."}}.

Usage: python3 crates/gotmpl/tests/regen.py [file-stem ...]
"""

import glob
import json
import os
import sys
import tempfile

import helm_python as helm

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


def parse_cases(text):
    """Splits a case file into (values, [(name, body)]).

    A header is a line `-- NAME --`; the body is every line up to the next
    header, verbatim. `-- values --` holds JSON for .Values.
    """
    values, cases, name, body = {}, [], None, []

    def flush():
        if name is None:
            return
        if name == "values":
            nonlocal values
            values = json.loads("".join(body) or "{}")
        else:
            cases.append((name, "".join(body)))

    for line in text.splitlines(keepends=True):
        s = line.rstrip("\n")
        if s.startswith("-- ") and s.endswith(" --") and len(s) > 6:
            flush()
            name, body = s[3:-3], []
        else:
            body.append(line)
    flush()
    return values, cases


def render(name, body, values):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: t\nversion: 0.1.0\n")
        os.mkdir(os.path.join(d, "templates"))
        with open(os.path.join(d, "templates", name), "w") as f:
            f.write(body)
        try:
            out = helm.Chart.load(d).render(values, name="r", namespace="ns")
            return {"output": out["t/templates/" + name]}
        except helm.HelmError as e:
            return {"error": str(e)}


def main():
    stems = set(sys.argv[1:])
    for path in sorted(glob.glob(os.path.join(CASES, "*.txt"))):
        stem = os.path.basename(path)[:-4]
        if stems and stem not in stems:
            continue
        with open(path) as f:
            values, cases = parse_cases(f.read())
        golden = {name: render(name, body, values) for name, body in cases}
        with open(os.path.join(CASES, stem + ".golden.json"), "w") as f:
            json.dump(golden, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"{stem}: {len(golden)} cases")


if __name__ == "__main__":
    main()
