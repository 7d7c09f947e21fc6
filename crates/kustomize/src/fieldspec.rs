//! Field specs: which objects a transformer touches, and where.
//!
//! A field spec is a group/version/kind filter plus a path. The filter
//! selects objects by their own `apiVersion` and `kind`; an empty part
//! matches anything (see [`gvk_matches`]). The path names the field the
//! transformer edits, and is walked as Kustomize walks it:
//!
//! * The path is split at `/`. A leading `/` is ignored, and `\/` is a
//!   slash inside a segment: `metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret`
//!   has three segments, the last one being the annotation key.
//! * Each segment names a key of a map. The walk never names list items:
//!   whenever it stands on a list and segments remain, it continues from
//!   every item of the list with the same remaining segments (items that
//!   are lists are expanded again, `null` items are skipped). So
//!   `spec/template/spec/containers/envFrom/configMapRef/name` reaches the
//!   `name` under every `configMapRef` of every `envFrom` entry of every
//!   container, and `spec/template/spec/volumes/configMap/name` the name of
//!   every volume that has a `configMap` (others are skipped silently).
//! * A segment may end in `[]` (`spec/containers[]/image`). That is only a
//!   hint that the field holds a list: the field is never created, even for
//!   a spec with `create`, and an existing `null` there is replaced by an
//!   empty list. A map found there is walked like any other map.
//! * Segment names are trimmed of surrounding whitespace; a segment that is
//!   only whitespace stays where it is.
//! * There are no selectors or indexes: when the walk reaches a map with a
//!   segment that is empty (`spec//x`, `spec/`), an integer (`0`, `-1`),
//!   `-`, `*` or bracketed (`[name=app]`), it fails, as Kustomize does. (The
//!   dotted `[name=value]` syntax belongs to replacements, not field specs.)
//! * When the path is used up, the visitor gets the node found there,
//!   whatever it is: a scalar, a map (`metadata/labels`), a whole list
//!   (`rules/resourceNames`, `subjects`) or `null`. Lists are only expanded
//!   while segments remain.
//! * A missing field ends the walk quietly, and so does a `null` one while
//!   segments remain, unless the spec says `create` *and* the transformer
//!   creates fields (Kustomize's "create kind", here [`Leaf`]): then
//!   missing or `null` fields on the way become empty maps and the last
//!   one becomes the [`Leaf`]'s empty value. Name references, image tags and
//!   `$(VAR)` substitution never create, whatever the spec says.
//! * Reaching a scalar (string, number, boolean) while segments remain is
//!   an error ("expected sequence or mapping node"), also inside lists.
//!
//! Verified against `kubectl kustomize` (Kustomize v5.5.0): a Service
//! without `spec` gets `spec.selector` from `commonLabels`, a Deployment
//! without `spec.selector` gets `spec.selector.matchLabels`, a Job without
//! `spec.selector` gets none (that spec does not create) and a Job whose
//! `spec.selector.matchLabels` is `null` keeps the `null`; `containers: null`
//! becomes `containers: []` under the images transformer; a custom kind
//! with `spec.template: "x"` fails the `commonLabels` walk.

// Until every transformer walks its specs through here.
#![allow(dead_code)]

use serde_json::{Map, Value};

use crate::resource::split_api_version;

use crate::kustomization::FieldSpecEntry;

/// A built-in field spec: a group/version/kind filter (empty parts match
/// anything) and a path, see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    /// API group the object must be in (`""` for any; the core group
    /// cannot be asked for specifically).
    pub group: &'static str,
    /// API version the object must have, without the group.
    pub version: &'static str,
    /// Kind the object must have.
    pub kind: &'static str,
    /// Slash-separated path to the field.
    pub path: &'static str,
    /// Whether the transformer may create the field (and maps on the way).
    pub create: bool,
}

impl FieldSpec {
    /// Any object, empty path, no creation: the start of the builders below.
    pub(crate) const ANY: FieldSpec = FieldSpec {
        group: "",
        version: "",
        kind: "",
        path: "",
        create: false,
    };

    /// This spec restricted to one API group.
    pub(crate) const fn group(self, group: &'static str) -> Self {
        Self { group, ..self }
    }

    /// This spec restricted to one API version.
    pub(crate) const fn version(self, version: &'static str) -> Self {
        Self { version, ..self }
    }

    /// This spec restricted to one kind.
    pub(crate) const fn kind(self, kind: &'static str) -> Self {
        Self { kind, ..self }
    }

    /// This spec with another path.
    pub(crate) const fn path(self, path: &'static str) -> Self {
        Self { path, ..self }
    }

    /// This spec, allowed to create the field.
    pub(crate) const fn create(self) -> Self {
        Self {
            create: true,
            ..self
        }
    }

    /// Whether the spec applies to an object with this `apiVersion` and `kind`.
    pub(crate) fn matches(&self, api_version: &str, kind: &str) -> bool {
        gvk_matches(self.group, self.version, self.kind, api_version, kind)
    }

    /// What to create with this spec in a transformer that creates `leaf`s.
    pub(crate) fn creating(&self, leaf: Leaf) -> Option<Leaf> {
        self.create.then_some(leaf)
    }
}

/// A field spec with owned strings: a built-in one or one a user wrote
/// (`labels[].fields`, `configurations`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Spec {
    /// API group filter, empty for any.
    pub group: String,
    /// API version filter (without group), empty for any.
    pub version: String,
    /// Kind filter, empty for any.
    pub kind: String,
    /// Slash-separated path to the field.
    pub path: String,
    /// Whether the transformer may create the field.
    pub create: bool,
}

impl From<&FieldSpec> for Spec {
    fn from(s: &FieldSpec) -> Spec {
        Spec {
            group: s.group.to_owned(),
            version: s.version.to_owned(),
            kind: s.kind.to_owned(),
            path: s.path.to_owned(),
            create: s.create,
        }
    }
}

impl From<&FieldSpecEntry> for Spec {
    fn from(s: &FieldSpecEntry) -> Spec {
        Spec {
            group: s.group.clone(),
            version: s.version.clone(),
            kind: s.kind.clone(),
            path: s.path.clone(),
            create: s.create,
        }
    }
}

impl Spec {
    /// A spec for every object.
    pub(crate) fn everywhere(path: &str, create: bool) -> Spec {
        Spec {
            path: path.to_owned(),
            create,
            ..Spec::default()
        }
    }

    /// Whether the spec applies to an object with this `apiVersion` and `kind`.
    pub(crate) fn matches(&self, api_version: &str, kind: &str) -> bool {
        gvk_matches(&self.group, &self.version, &self.kind, api_version, kind)
    }

    /// What to create with this spec in a transformer that creates `leaf`s.
    pub(crate) fn creating(&self, leaf: Leaf) -> Option<Leaf> {
        self.create.then_some(leaf)
    }

    /// Kustomize's notion of "the same spec" when merging lists: same path,
    /// and `other`'s filter selects this spec's filter (so the comparison
    /// is not symmetric).
    fn effectively_equals(&self, other: &Spec) -> bool {
        self.path == other.path
            && [
                (&self.group, &other.group),
                (&self.version, &other.version),
                (&self.kind, &other.kind),
            ]
            .iter()
            .all(|(mine, sel)| sel.is_empty() || mine == sel)
    }
}

/// Two field specs for the same field that disagree on `create`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conflicting fieldspecs")]
pub(crate) struct ConflictingSpecs {
    /// The path of the spec being added.
    pub path: String,
}

/// Appends `incoming` to `specs` as Kustomize merges field spec lists (for
/// `labels` entries: the user's `fields`, then the built-in ones): a spec
/// already present (see [`Spec::effectively_equals`]) is skipped, and an
/// error is returned if it differs in `create`. With `kubectl kustomize`,
/// `labels: [{pairs: …, fields: [{path: metadata/labels, create: false}]}]`
/// fails with "failed to merge labels: conflicting fieldspecs".
pub(crate) fn merge_specs(
    specs: &mut Vec<Spec>,
    incoming: impl IntoIterator<Item = Spec>,
) -> Result<(), ConflictingSpecs> {
    for spec in incoming {
        match specs.iter().find(|s| s.effectively_equals(&spec)) {
            Some(existing) if existing.create != spec.create => {
                return Err(ConflictingSpecs { path: spec.path });
            }
            Some(_) => {}
            None => specs.push(spec),
        }
    }
    Ok(())
}

/// Whether a group/version/kind filter (empty parts match anything)
/// selects an object with this `apiVersion` and `kind`. The group is what
/// precedes the first `/` of `apiVersion` (none for `v1`), the version what
/// follows it.
pub(crate) fn gvk_matches(
    group: &str,
    version: &str,
    kind: &str,
    api_version: &str,
    obj_kind: &str,
) -> bool {
    let (obj_group, obj_version) = split_api_version(api_version);
    (kind.is_empty() || kind == obj_kind)
        && (group.is_empty() || group == obj_group)
        && (version.is_empty() || version == obj_version)
}

/// What a transformer puts at the end of a path it creates (Kustomize's
/// create kind). Transformers that never create pass `None` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    /// An empty map, for labels and annotations.
    Map,
    /// `null`, for the visitor to set: namespaces, names, replica counts.
    Scalar,
}

impl Leaf {
    fn empty(self) -> Value {
        match self {
            Leaf::Map => Value::Object(Map::new()),
            Leaf::Scalar => Value::Null,
        }
    }
}

/// Why a field spec walk failed. Kustomize prefixes these with the object;
/// so should the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("considering field '{path}': {reason}")]
pub(crate) struct PathError {
    /// The field spec's path, as written.
    pub path: String,
    /// What went wrong.
    pub reason: PathErrorReason,
}

/// The ways a field spec walk fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathErrorReason {
    /// An empty segment (`a//b`, `a/`, `a/[]`) reached a map.
    #[error("cannot set or create an empty field name")]
    EmptyFieldName,
    /// An index, `-`, `*` or `[…]` segment reached a map.
    #[error("fieldName: {0}: not a field name (indexes, '-', '*' and '[…]' are not supported)")]
    NotAFieldName(String),
    /// A scalar was reached with segments left.
    #[error("expected sequence or mapping node")]
    NotTraversable,
}

/// One segment of a parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A map key; `list` if written with a trailing `[]`.
    Field { name: String, list: bool },
    /// A whitespace-only segment: stay on the current node.
    Stay,
    /// An empty segment: an error when it reaches a map.
    Empty,
    /// An index, `-`, `*` or bracketed segment: an error when it reaches a map.
    Invalid(String),
}

/// Splits a path at unescaped `/`s, dropping one leading `/`.
fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts.first() == Some(&"") {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    for part in parts {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => out.push(part.to_owned()),
        }
    }
    out
}

fn parse(path: &str) -> Vec<Step> {
    split_path(path)
        .into_iter()
        .map(|raw| {
            let (name, list) = match raw.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (raw.as_str(), false),
            };
            let trimmed = name.trim();
            if name.is_empty() {
                Step::Empty
            } else if trimmed.is_empty() {
                Step::Stay
            } else if trimmed.parse::<i64>().is_ok()
                || trimmed == "-"
                || trimmed == "*"
                || (trimmed.starts_with('[') && trimmed.ends_with(']'))
            {
                Step::Invalid(trimmed.to_owned())
            } else {
                Step::Field {
                    name: trimmed.to_owned(),
                    list,
                }
            }
        })
        .collect()
}

/// Something a field spec can be walked in: a JSON value, or the map of an
/// object (as resources hold them).
pub(crate) trait Walkable {
    /// Runs `g` on this as a JSON value.
    fn with_value<R>(&mut self, g: impl FnOnce(&mut Value) -> R) -> R;
}

impl Walkable for Value {
    fn with_value<R>(&mut self, g: impl FnOnce(&mut Value) -> R) -> R {
        g(self)
    }
}

impl Walkable for Map<String, Value> {
    fn with_value<R>(&mut self, g: impl FnOnce(&mut Value) -> R) -> R {
        let mut value = Value::Object(std::mem::take(self));
        let result = g(&mut value);
        // Only a whitespace-only path could let the visitor replace the
        // object itself; a map cannot hold anything else, so keep maps only.
        if let Value::Object(map) = value {
            *self = map;
        }
        result
    }
}

/// Calls `f` on every node `path` reaches in `obj`, walking lists
/// implicitly and creating what `create` allows (see the
/// [module documentation](self)). The caller checks the spec's
/// group/version/kind filter first.
pub(crate) fn visit<W: Walkable + ?Sized>(
    obj: &mut W,
    path: &str,
    create: Option<Leaf>,
    f: &mut dyn FnMut(&mut Value),
) -> Result<(), PathError> {
    try_visit(obj, path, create, &mut |v: &mut Value| {
        f(v);
        Ok::<(), PathError>(())
    })
}

/// [`visit`] with a visitor that can fail; the first error stops the walk.
pub(crate) fn try_visit<W: Walkable + ?Sized, E: From<PathError>>(
    obj: &mut W,
    path: &str,
    create: Option<Leaf>,
    f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
) -> Result<(), E> {
    let steps = parse(path);
    let walk = Walk { path, create };
    obj.with_value(|value| walk.step(value, &steps, f))
}

struct Walk<'a> {
    path: &'a str,
    create: Option<Leaf>,
}

impl Walk<'_> {
    fn fail<E: From<PathError>>(&self, reason: PathErrorReason) -> Result<(), E> {
        Err(E::from(PathError {
            path: self.path.to_owned(),
            reason,
        }))
    }

    fn step<E: From<PathError>>(
        &self,
        node: &mut Value,
        steps: &[Step],
        f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some((step, rest)) = steps.split_first() else {
            return f(node);
        };
        match node {
            Value::Null => Ok(()),
            Value::Array(items) => {
                for item in items {
                    self.step(item, steps, f)?;
                }
                Ok(())
            }
            Value::Object(map) => match step {
                Step::Field { name, list } => self.field(map, name, *list, rest, f),
                Step::Stay => self.step(node, rest, f),
                Step::Empty => self.fail(PathErrorReason::EmptyFieldName),
                Step::Invalid(s) => self.fail(PathErrorReason::NotAFieldName(s.clone())),
            },
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                self.fail(PathErrorReason::NotTraversable)
            }
        }
    }

    fn field<E: From<PathError>>(
        &self,
        map: &mut Map<String, Value>,
        name: &str,
        list: bool,
        rest: &[Step],
        f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        let child = match self.create {
            Some(leaf) if !list => {
                let child = map.entry(name).or_insert(Value::Null);
                if child.is_null() {
                    *child = if rest.is_empty() {
                        leaf.empty()
                    } else {
                        Value::Object(Map::new())
                    };
                }
                child
            }
            _ => match map.get_mut(name) {
                Some(child) => child,
                None => return Ok(()),
            },
        };
        if list && child.is_null() {
            *child = Value::Array(Vec::new());
        }
        self.step(child, rest, f)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Sets every reached node to `"X"`, counting them.
    fn mark(obj: &mut Value, path: &str, create: Option<Leaf>) -> Result<usize, PathError> {
        let mut n = 0;
        visit(obj, path, create, &mut |v| {
            n += 1;
            *v = json!("X");
        })?;
        Ok(n)
    }

    /// Adds label `l: v` as the labels transformer does.
    fn label(obj: &mut Value, path: &str, create: bool) -> Result<(), PathError> {
        visit(obj, path, create.then_some(Leaf::Map), &mut |v| {
            if let Value::Object(m) = v {
                m.insert("l".into(), json!("v"));
            }
        })
    }

    #[test]
    fn splits_paths_like_kustomize() {
        assert_eq!(split_path("a/b/c"), ["a", "b", "c"]);
        assert_eq!(split_path("/a/b"), ["a", "b"]);
        assert_eq!(split_path("a/"), ["a", ""]);
        assert_eq!(split_path("/"), [""]);
        assert_eq!(split_path(""), [""]);
        assert_eq!(
            split_path(r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret"),
            [
                "metadata",
                "annotations",
                "nginx.ingress.kubernetes.io/auth-secret"
            ]
        );
        assert_eq!(split_path(r"a\/b\/c/d"), ["a/b/c", "d"]);
    }

    #[test]
    fn parses_segments() {
        assert_eq!(
            parse("spec/containers[]/ image /-/*/0/[a=b]/ /"),
            [
                Step::Field {
                    name: "spec".into(),
                    list: false
                },
                Step::Field {
                    name: "containers".into(),
                    list: true
                },
                Step::Field {
                    name: "image".into(),
                    list: false
                },
                Step::Invalid("-".into()),
                Step::Invalid("*".into()),
                Step::Invalid("0".into()),
                Step::Invalid("[a=b]".into()),
                Step::Stay,
                Step::Empty,
            ]
        );
        assert_eq!(
            parse("a/[]"),
            [
                Step::Field {
                    name: "a".into(),
                    list: false
                },
                Step::Empty
            ]
        );
        // Too large for an index: an ordinary key, as in Go's Atoi.
        assert_eq!(
            parse("99999999999999999999"),
            [Step::Field {
                name: "99999999999999999999".into(),
                list: false
            }]
        );
    }

    #[test]
    fn walks_lists_implicitly_at_any_segment() {
        let mut obj = json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "a", "envFrom": [
                    {"configMapRef": {"name": "cm1"}},
                    {"secretRef": {"name": "s"}},
                    {"configMapRef": {"name": "cm2"}}
                ]},
                {"name": "b"},
                {"name": "c", "envFrom": [{"configMapRef": {"name": "cm3"}}]}
            ],
            "volumes": [
                {"name": "v1", "configMap": {"name": "cm1"}},
                {"name": "v2", "secret": {"secretName": "s"}}
            ]
        }}}});
        let mut seen = Vec::new();
        visit(
            &mut obj,
            "spec/template/spec/containers/envFrom/configMapRef/name",
            None,
            &mut |v| seen.push(v.clone()),
        )
        .unwrap();
        assert_eq!(seen, [json!("cm1"), json!("cm2"), json!("cm3")]);

        assert_eq!(
            mark(&mut obj, "spec/template/spec/volumes/configMap/name", None).unwrap(),
            1
        );
        assert_eq!(
            obj["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "v1", "configMap": {"name": "X"}},
                {"name": "v2", "secret": {"secretName": "s"}}
            ])
        );
    }

    #[test]
    fn expands_nested_lists_and_skips_null_items() {
        let mut obj = json!({"spec": {"items": [
            {"name": "x"}, [{"name": "nested"}], null
        ]}});
        label(&mut obj, "spec/items/labels", true).unwrap();
        assert_eq!(
            obj,
            json!({"spec": {"items": [
                {"name": "x", "labels": {"l": "v"}},
                [{"name": "nested", "labels": {"l": "v"}}],
                null
            ]}})
        );
    }

    #[test]
    fn a_list_at_the_end_of_the_path_is_visited_whole() {
        let mut obj = json!({"rules": [
            {"resourceNames": ["a", "b"]},
            {"verbs": ["get"]}
        ]});
        let mut seen = Vec::new();
        visit(&mut obj, "rules/resourceNames", None, &mut |v| {
            seen.push(v.clone())
        })
        .unwrap();
        assert_eq!(seen, [json!(["a", "b"])]);
    }

    #[test]
    fn creates_maps_on_the_way_when_allowed() {
        // commonLabels on a Service without spec: spec/selector (create).
        let mut svc = json!({"kind": "Service", "metadata": {"name": "s"}});
        label(&mut svc, "spec/selector", true).unwrap();
        assert_eq!(svc["spec"], json!({"selector": {"l": "v"}}));

        // Deployment with `spec: {}`: spec/selector/matchLabels (create).
        let mut dep = json!({"spec": {}});
        label(&mut dep, "spec/selector/matchLabels", true).unwrap();
        assert_eq!(
            dep["spec"],
            json!({"selector": {"matchLabels": {"l": "v"}}})
        );

        // null on the way and at the end is replaced when creating.
        let mut svc = json!({"spec": null});
        label(&mut svc, "spec/selector", true).unwrap();
        assert_eq!(svc["spec"], json!({"selector": {"l": "v"}}));
        let mut cm = json!({"metadata": {"name": "cm", "labels": null}});
        label(&mut cm, "metadata/labels", true).unwrap();
        assert_eq!(cm["metadata"]["labels"], json!({"l": "v"}));
    }

    #[test]
    fn does_not_create_without_create() {
        // Job without spec/selector: the commonLabels spec has create: false.
        let mut job = json!({"spec": {"template": {}}});
        label(&mut job, "spec/selector/matchLabels", false).unwrap();
        assert_eq!(job, json!({"spec": {"template": {}}}));

        // A null on the way stops the walk.
        let mut pdb = json!({"spec": {"selector": null}});
        label(&mut pdb, "spec/selector/matchLabels", false).unwrap();
        assert_eq!(pdb, json!({"spec": {"selector": null}}));

        // A null at the end goes to the visitor, which decides: the labels
        // transformer leaves it (kubectl keeps `matchLabels: null`).
        let mut job = json!({"spec": {"selector": {"matchLabels": null}}});
        let mut seen = Vec::new();
        visit(&mut job, "spec/selector/matchLabels", None, &mut |v| {
            seen.push(v.clone())
        })
        .unwrap();
        assert_eq!(seen, [Value::Null]);

        // A creating spec in a transformer that never creates (images,
        // name references): nothing is created.
        let mut pod = json!({"spec": {}});
        assert_eq!(mark(&mut pod, "spec/containers/image", None).unwrap(), 0);
        assert_eq!(pod, json!({"spec": {}}));
    }

    #[test]
    fn scalar_leaves_are_created_as_null_for_the_visitor() {
        // replicas: spec/replicas, create, on a Deployment without spec.
        let mut dep = json!({"kind": "Deployment"});
        visit(&mut dep, "spec/replicas", Some(Leaf::Scalar), &mut |v| {
            assert_eq!(*v, Value::Null);
            *v = json!(3);
        })
        .unwrap();
        assert_eq!(dep["spec"], json!({"replicas": 3}));
    }

    #[test]
    fn list_marker_never_creates_and_turns_null_into_an_empty_list() {
        let mut pod = json!({"spec": {}});
        assert_eq!(
            mark(&mut pod, "spec/containers[]/image", Some(Leaf::Scalar)).unwrap(),
            0
        );
        assert_eq!(pod, json!({"spec": {}}));

        let mut dep = json!({"spec": {"template": {"spec": {"containers": null}}}});
        mark(&mut dep, "spec/template/spec/containers[]/image", None).unwrap();
        assert_eq!(dep["spec"]["template"]["spec"]["containers"], json!([]));

        // Labels with create: `volumeClaimTemplates: null` becomes `[]`.
        let mut sts = json!({"spec": {"volumeClaimTemplates": null}});
        label(
            &mut sts,
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        )
        .unwrap();
        assert_eq!(sts["spec"]["volumeClaimTemplates"], json!([]));

        // Items of the list are maps the walk may create in.
        let mut sts = json!({"spec": {"volumeClaimTemplates": [{"spec": {}}]}});
        label(
            &mut sts,
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        )
        .unwrap();
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"],
            json!([{"spec": {}, "metadata": {"labels": {"l": "v"}}}])
        );

        // `[]` is only a hint: a map there is walked too.
        let mut foo = json!({"spec": {"containers": {"image": "nginx"}}});
        assert_eq!(mark(&mut foo, "spec/containers[]/image", None).unwrap(), 1);
        assert_eq!(foo, json!({"spec": {"containers": {"image": "X"}}}));
    }

    #[test]
    fn odd_but_valid_paths() {
        let mut obj = json!({"metadata": {"annotations": {"a/b": "old"}}});
        assert_eq!(
            mark(&mut obj, r"/metadata/annotations/a\/b", None).unwrap(),
            1
        );
        assert_eq!(obj, json!({"metadata": {"annotations": {"a/b": "X"}}}));

        let mut obj = json!({"spec": {}});
        label(&mut obj, r"spec/ /esc\/aped/labels", true).unwrap();
        assert_eq!(obj, json!({"spec": {"esc/aped": {"labels": {"l": "v"}}}}));

        let mut obj = json!({"spec": {"a": 1}});
        assert_eq!(mark(&mut obj, " spec / a ", None).unwrap(), 1);
        assert_eq!(obj, json!({"spec": {"a": "X"}}));
    }

    #[test]
    fn fails_on_scalars_with_segments_left() {
        let mut dep = json!({"spec": {"template": "hello"}});
        let err = label(&mut dep, "spec/template/metadata/labels", true).unwrap_err();
        assert_eq!(err.reason, PathErrorReason::NotTraversable);
        assert_eq!(
            err.to_string(),
            "considering field 'spec/template/metadata/labels': expected sequence or mapping node"
        );

        let mut dep = json!({"spec": {"rules": ["x"]}});
        let err = mark(&mut dep, "spec/rules/name", None).unwrap_err();
        assert_eq!(err.reason, PathErrorReason::NotTraversable);
    }

    #[test]
    fn fails_on_unsupported_segments_only_when_reached() {
        for (path, reason) in [
            ("spec//x", PathErrorReason::EmptyFieldName),
            ("spec/", PathErrorReason::EmptyFieldName),
            ("spec/[]", PathErrorReason::EmptyFieldName),
            ("spec/80/x", PathErrorReason::NotAFieldName("80".into())),
            ("spec/-/x", PathErrorReason::NotAFieldName("-".into())),
            ("spec/*/x", PathErrorReason::NotAFieldName("*".into())),
            (
                "spec/[name=x]/labels",
                PathErrorReason::NotAFieldName("[name=x]".into()),
            ),
        ] {
            let mut obj = json!({"spec": {"items": [{"name": "x"}]}});
            assert_eq!(
                label(&mut obj, path, true).unwrap_err().reason,
                reason,
                "{path}"
            );
            let mut no_spec = json!({"metadata": {}});
            assert_eq!(mark(&mut no_spec, path, None), Ok(0), "{path}");
        }
    }

    #[test]
    fn visitor_errors_stop_the_walk() {
        #[derive(Debug, PartialEq)]
        enum E {
            Path(PathError),
            Mine(usize),
        }
        impl From<PathError> for E {
            fn from(e: PathError) -> E {
                E::Path(e)
            }
        }
        let mut obj = json!({"a": [{"b": 1}, {"b": 2}, {"b": 3}]});
        let mut n = 0;
        let r = try_visit(&mut obj, "a/b", None, &mut |_| {
            n += 1;
            if n == 2 { Err(E::Mine(n)) } else { Ok(()) }
        });
        assert_eq!(r, Err(E::Mine(2)));
        assert_eq!(n, 2);
    }

    #[test]
    fn walks_object_maps_directly() {
        let mut obj: Map<String, Value> =
            serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
        visit(&mut obj, "metadata/labels", Some(Leaf::Map), &mut |v| {
            if let Value::Object(m) = v {
                m.insert("a".into(), json!("b"));
            }
        })
        .unwrap();
        assert_eq!(
            Value::Object(obj),
            json!({"metadata": {"name": "x", "labels": {"a": "b"}}})
        );
    }

    #[test]
    fn matches_group_version_kind() {
        let svc = FieldSpec::ANY.version("v1").kind("Service");
        assert!(svc.matches("v1", "Service"));
        assert!(!svc.matches("v2", "Service"));
        assert!(!svc.matches("v1", "Pod"));
        // No group in the filter: any group, including a custom one.
        assert!(svc.matches("serving.knative.dev/v1", "Service"));

        let dep = FieldSpec::ANY.kind("Deployment");
        assert!(dep.matches("apps/v1", "Deployment"));
        assert!(dep.matches("example.com/v1", "Deployment"));
        let apps = dep.group("apps");
        assert!(apps.matches("apps/v1", "Deployment"));
        assert!(!apps.matches("example.com/v1", "Deployment"));
        assert!(!apps.matches("v1", "Deployment"));

        assert!(FieldSpec::ANY.matches("", ""));
        assert!(FieldSpec::ANY.matches("whatever/v9", "Thing"));

        // The group ends at the first slash.
        assert_eq!(split_api_version("a/b/c"), ("a", "b/c"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert!(gvk_matches("a", "b/c", "K", "a/b/c", "K"));

        let owned = Spec::from(&apps);
        assert!(owned.matches("apps/v1", "Deployment"));
        assert!(!owned.matches("extensions/v1beta1", "Deployment"));
        assert_eq!(owned.creating(Leaf::Map), None);
        assert_eq!(
            Spec::everywhere("metadata/labels", true).creating(Leaf::Map),
            Some(Leaf::Map)
        );
    }

    #[test]
    fn merges_spec_lists_like_kustomize() {
        let labels = Spec::everywhere("metadata/labels", true);

        let mut specs = vec![Spec::everywhere("metadata/labels", false)];
        assert_eq!(
            merge_specs(&mut specs, [labels.clone()]),
            Err(ConflictingSpecs {
                path: "metadata/labels".into()
            })
        );

        let mut specs = vec![labels.clone()];
        merge_specs(&mut specs, [labels.clone()]).unwrap();
        assert_eq!(specs, std::slice::from_ref(&labels));

        // Not symmetric: an existing kind-less spec is not "the same" as an
        // incoming Service-only one, so both are kept, whatever `create`.
        let service = Spec {
            kind: "Service".into(),
            ..Spec::everywhere("spec/selector", false)
        };
        let mut specs = vec![Spec::everywhere("spec/selector", true)];
        merge_specs(&mut specs, [service.clone()]).unwrap();
        assert_eq!(specs.len(), 2);
        // The other way round, the Service spec is selected by the
        // kind-less one: a conflict.
        let mut specs = vec![service];
        assert!(merge_specs(&mut specs, [Spec::everywhere("spec/selector", true)]).is_err());
    }
}
