//! Kustomize's built-in transformer configuration, as data.
//!
//! Kustomize drives its built-in transformers with lists of field specs
//! (see [`fieldspec`] for what a spec selects and how its path is walked):
//! which fields of which kinds get common labels, annotations, the
//! namespace, name prefixes and suffixes, image tags and replica counts,
//! which fields name other objects (so renaming an object renames the
//! references to it), and where `$(VAR)`s are substituted. This module
//! holds the v5.5.0 defaults, entry for entry in the order of Kustomize's
//! source, plus the other fixed knowledge the transformers need: the legacy output
//! order, the kinds known to be cluster-scoped without a schema, the kinds
//! names are never prefixed on, and the namespace transformer's special
//! handling of role binding subjects.
//!
//! Kustomize sorts each list by its entries' group/version/kind (in the
//! legacy kind order of [`legacy_cmp`], unstably) before use. That only
//! decides which error is reported when several paths of one object fail,
//! so the tables keep the source order; for [`NAME_REFERENCE`] see there.
//!
//! Everything here was checked against `kubectl kustomize` (Kustomize
//! v5.5.0) on small kustomizations; the notes on each table say what was
//! observed where it is not obvious from the data.

// Until every table is wired into its transformer.
#![allow(dead_code)]

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::fieldspec::{self, FieldSpec};

/// `field_specs! { {path: "…", kind: "…", create}, … }` is a `&[FieldSpec]`
/// written like Kustomize's configuration: each entry gives any of `group`,
/// `version`, `kind` and `path` a value, and a bare `create` sets `create`.
macro_rules! field_specs {
    ($({ $($key:ident $(: $value:literal)?),+ $(,)? }),* $(,)?) => {
        &[$(FieldSpec::ANY $(.$key($($value)?))+),*]
    };
}

/// [`field_specs!`] with the given entries followed by the metadata label
/// fields shared by [`COMMON_LABELS`] and [`TEMPLATE_LABELS`]. Entries
/// given must end with a comma.
macro_rules! with_metadata_labels {
    ($($entries:tt)*) => {
        field_specs! {
            $($entries)*
            {path: "metadata/labels", create},
            {path: "spec/template/metadata/labels", create, version: "v1", kind: "ReplicationController"},
            {path: "spec/template/metadata/labels", create, kind: "Deployment"},
            {path: "spec/template/metadata/labels", create, kind: "ReplicaSet"},
            {path: "spec/template/metadata/labels", create, kind: "DaemonSet"},
            {path: "spec/template/metadata/labels", create, group: "apps", kind: "StatefulSet"},
            {path: "spec/volumeClaimTemplates[]/metadata/labels", create, group: "apps", kind: "StatefulSet"},
            {path: "spec/template/metadata/labels", create, group: "batch", kind: "Job"},
            {path: "spec/jobTemplate/metadata/labels", create, group: "batch", kind: "CronJob"},
            {path: "spec/jobTemplate/spec/template/metadata/labels", create, group: "batch", kind: "CronJob"},
        }
    };
}

/// `namePrefix`: the fields that get the prefix, walked with a scalar
/// [`fieldspec::Leaf`]. Objects [`skips_name_affixes`] names are left
/// alone; everything else has `metadata/name` prefixed, and the old name is
/// kept for [`NAME_REFERENCE`] to find.
pub(crate) const NAME_PREFIX: &[FieldSpec] = field_specs! {
    {path: "metadata/name"},
};

/// `nameSuffix`: as [`NAME_PREFIX`], for the suffix.
pub(crate) const NAME_SUFFIX: &[FieldSpec] = field_specs! {
    {path: "metadata/name"},
};

/// The kinds whose names never get `namePrefix`/`nameSuffix`, as
/// `(group, kind)` with `""` for any group: CustomResourceDefinitions (any
/// group), APIServices of `apiregistration.k8s.io` only, Namespaces (any
/// group). Kustomize matches the object's original identity, before the
/// build's transformations. Observed: an `example.com/v1` APIService is
/// suffixed, a core Namespace and a CRD are not.
pub(crate) const NAME_AFFIX_SKIP: &[(&str, &str)] = &[
    ("", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("", "Namespace"),
];

/// Whether `namePrefix`/`nameSuffix` leave objects of this `apiVersion`
/// and `kind` alone (see [`NAME_AFFIX_SKIP`]).
pub(crate) fn skips_name_affixes(api_version: &str, kind: &str) -> bool {
    NAME_AFFIX_SKIP
        .iter()
        .any(|(group, k)| fieldspec::gvk_matches(group, "", k, api_version, kind))
}

/// `commonLabels`, and `labels` entries with `includeSelectors: true`: the
/// label fields, walked with a map [`fieldspec::Leaf`] (labels are added to
/// the map, existing keys overwritten). Selectors come first, then the
/// metadata labels of [`TEMPLATE_LABELS`].
///
/// Creation matters: a Service without `spec` gets `spec.selector`, and a
/// Deployment, ReplicaSet, DaemonSet or StatefulSet without a selector gets
/// `spec.selector.matchLabels`, but Job, CronJob, PodDisruptionBudget and
/// NetworkPolicy selectors and the affinity/topology-spread label
/// selectors are only added to where they exist (a NetworkPolicy's
/// `podSelector: {}` stays empty, so does a `labelSelector: {}` without
/// `matchLabels`). Filters without a group catch custom kinds of the same
/// name: an `example.com/v1` `Deployment` gets a selector and template
/// labels too.
///
/// `labels` entries without `includeSelectors` use `metadata/labels` (create)
/// only, plus [`TEMPLATE_LABELS`] with `includeTemplates: true`; the
/// entry's own `fields` come first in every case, merged as
/// [`fieldspec::merge_specs`] does (a `metadata/labels` field without
/// `create` conflicts with the built-in one and fails the build).
pub(crate) const COMMON_LABELS: &[FieldSpec] = with_metadata_labels! {
    {path: "spec/selector", create, version: "v1", kind: "Service"},
    {path: "spec/selector", create, version: "v1", kind: "ReplicationController"},
    {path: "spec/selector/matchLabels", create, kind: "Deployment"},
    {path: "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", group: "apps", kind: "Deployment"},
    {path: "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", group: "apps", kind: "Deployment"},
    {path: "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", group: "apps", kind: "Deployment"},
    {path: "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", group: "apps", kind: "Deployment"},
    {path: "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels", group: "apps", kind: "Deployment"},
    {path: "spec/selector/matchLabels", create, kind: "ReplicaSet"},
    {path: "spec/selector/matchLabels", create, kind: "DaemonSet"},
    {path: "spec/selector/matchLabels", create, group: "apps", kind: "StatefulSet"},
    {path: "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", group: "apps", kind: "StatefulSet"},
    {path: "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", group: "apps", kind: "StatefulSet"},
    {path: "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", group: "apps", kind: "StatefulSet"},
    {path: "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", group: "apps", kind: "StatefulSet"},
    {path: "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels", group: "apps", kind: "StatefulSet"},
    {path: "spec/selector/matchLabels", group: "batch", kind: "Job"},
    {path: "spec/jobTemplate/spec/selector/matchLabels", group: "batch", kind: "CronJob"},
    {path: "spec/selector/matchLabels", group: "policy", kind: "PodDisruptionBudget"},
    {path: "spec/podSelector/matchLabels", group: "networking.k8s.io", kind: "NetworkPolicy"},
    {path: "spec/ingress/from/podSelector/matchLabels", group: "networking.k8s.io", kind: "NetworkPolicy"},
    {path: "spec/egress/to/podSelector/matchLabels", group: "networking.k8s.io", kind: "NetworkPolicy"},
};

/// `labels` entries with `includeTemplates: true` (and no
/// `includeSelectors`): `metadata/labels` and the pod template labels of
/// workloads, all created when missing, including each StatefulSet volume
/// claim template's labels (in v5.5.0; later releases moved those to a
/// separate list). A StatefulSet's `volumeClaimTemplates: null` comes out
/// as `[]`.
pub(crate) const TEMPLATE_LABELS: &[FieldSpec] = with_metadata_labels! {};

/// `commonAnnotations`: the annotation fields, walked with a map
/// [`fieldspec::Leaf`]; everything is created when missing.
pub(crate) const COMMON_ANNOTATIONS: &[FieldSpec] = field_specs! {
    {path: "metadata/annotations", create},
    {path: "spec/template/metadata/annotations", create, version: "v1", kind: "ReplicationController"},
    {path: "spec/template/metadata/annotations", create, kind: "Deployment"},
    {path: "spec/template/metadata/annotations", create, kind: "ReplicaSet"},
    {path: "spec/template/metadata/annotations", create, kind: "DaemonSet"},
    {path: "spec/template/metadata/annotations", create, kind: "StatefulSet"},
    {path: "spec/template/metadata/annotations", create, group: "batch", kind: "Job"},
    {path: "spec/jobTemplate/metadata/annotations", create, group: "batch", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/metadata/annotations", create, group: "batch", kind: "CronJob"},
};

/// `namespace`: the fields besides `metadata/namespace` that get the
/// namespace, walked with a scalar [`fieldspec::Leaf`] (the value is set
/// even where it is `null`, and overwritten where set).
///
/// The namespace transformer does more than these specs say:
///
/// * `metadata/namespace` is set (created, overwritten) on every object not
///   certainly cluster-scoped ([`is_cluster_scoped`], or the schema in use),
///   so unknown kinds, including custom ones, get a namespace.
/// * The `metadata/name` entry for Namespaces only applies to
///   `apiVersion: v1` exactly: a core Namespace object is renamed to the
///   namespace, an `example.com/v1` `Namespace` is not (and, being
///   unknown, gets `metadata.namespace`).
/// * The APIService entry creates: an APIService without `spec.service`
///   (a local one) comes out with `spec.service: {namespace: …}`.
/// * RoleBinding and ClusterRoleBinding subjects: see [`namespace_subjects`].
/// * There is no entry for webhook configurations: their
///   `webhooks[].clientConfig.service.namespace` changes only through
///   [`NAME_REFERENCE`] (Service), when the Service is part of the build.
pub(crate) const NAMESPACE: &[FieldSpec] = field_specs! {
    {path: "metadata/name", kind: "Namespace", create},
    {path: "spec/service/namespace", group: "apiregistration.k8s.io", kind: "APIService", create},
    {path: "spec/conversion/webhook/clientConfig/service/namespace", group: "apiextensions.k8s.io", kind: "CustomResourceDefinition"},
};

/// The namespace transformer's handling of role binding subjects (its
/// default `setRoleBindingSubjects: defaultOnly` mode, the one the
/// `namespace` field uses): in a `RoleBinding` or `ClusterRoleBinding` (any
/// group), every subject whose `name` is `default` gets `namespace` set to
/// `namespace`, created or overwritten, whatever its `kind` (a `User`
/// named `default` included, and a ServiceAccount `default` of
/// `kube-system` too). Other subjects are left to [`NAME_REFERENCE`]: a
/// ServiceAccount subject naming a ServiceAccount of the build follows
/// that ServiceAccount's name and namespace; subjects naming nothing in the
/// build keep theirs. Missing, null or non-list `subjects`, and items
/// that are not maps, are left alone.
pub(crate) fn namespace_subjects(obj: &mut Map<String, Value>, kind: &str, namespace: &str) {
    if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
        return;
    }
    let Some(Value::Array(subjects)) = obj.get_mut("subjects") else {
        return;
    };
    for subject in subjects {
        if let Value::Object(subject) = subject
            && subject.get("name").and_then(Value::as_str) == Some("default")
        {
            subject.insert("namespace".to_owned(), Value::String(namespace.to_owned()));
        }
    }
}

/// `images`: the image fields, walked without creating anything (although
/// the specs say `create`); CustomResourceDefinitions are skipped.
///
/// Before these specs, the image transformer runs a walker of its own over
/// every object but CRDs: under any map key named as in
/// [`IMAGE_LEGACY_FIELDS`], at any depth (also inside lists), whose value
/// is a list, each item's `image` is updated. So a custom kind's
/// `spec.deep.nested.containers[].image` is updated, and through these
/// specs so is `spec.containers.image` when `containers` is a map; a
/// `sidecars[].image` is not. `containers: null` comes out as `[]`.
pub(crate) const IMAGES: &[FieldSpec] = field_specs! {
    {path: "spec/containers[]/image", create},
    {path: "spec/initContainers[]/image", create},
    {path: "spec/template/spec/containers[]/image", create},
    {path: "spec/template/spec/initContainers[]/image", create},
};

/// The map keys whose list items' `image` the image transformer updates
/// anywhere in an object (see [`IMAGES`]).
pub(crate) const IMAGE_LEGACY_FIELDS: &[&str] = &["containers", "initContainers"];

/// `replicas`: the replica count fields, walked with a scalar
/// [`fieldspec::Leaf`] and created when missing (a Deployment without
/// `spec` gets `spec.replicas`). An entry applies to objects of a matching
/// kind whose current or any earlier name is the entry's `name`; an entry
/// that matches nothing fails the build.
pub(crate) const REPLICAS: &[FieldSpec] = field_specs! {
    {path: "spec/replicas", create, kind: "Deployment"},
    {path: "spec/replicas", create, kind: "ReplicationController"},
    {path: "spec/replicas", create, kind: "ReplicaSet"},
    {path: "spec/replicas", create, kind: "StatefulSet"},
};

/// `vars`: the fields where `$(VAR)` references are substituted, walked
/// without creating. At the end of a path a string is substituted, a map
/// has its string values substituted (non-string values are skipped), and
/// a list has its items substituted (a non-string item is an error);
/// non-string scalars are left alone.
///
/// Kept as Kustomize has them, mistakes included: the CronJob
/// `spec/jobTemplate/spec/template/volumes/nfs/server` lacks a `spec/`
/// (it never matches a real CronJob), and StatefulSet has
/// `spec/volumeClaimTemplates/spec/nfs/server` but no
/// `spec/template/spec/volumes/nfs/server`.
pub(crate) const VAR_REFERENCE: &[FieldSpec] = field_specs! {
    {path: "spec/jobTemplate/spec/template/spec/containers/args", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/command", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/env/value", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/args", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/command", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/env/value", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/volumes/nfs/server", kind: "CronJob"},
    {path: "spec/template/spec/containers/args", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/command", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/env/value", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/volumeMounts/mountPath", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/args", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/command", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/env/value", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/volumeMounts/mountPath", kind: "DaemonSet"},
    {path: "spec/template/spec/volumes/nfs/server", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/args", kind: "Deployment"},
    {path: "spec/template/spec/containers/command", kind: "Deployment"},
    {path: "spec/template/spec/containers/env/value", kind: "Deployment"},
    {path: "spec/template/spec/containers/volumeMounts/mountPath", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/args", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/command", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/env/value", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/volumeMounts/mountPath", kind: "Deployment"},
    {path: "spec/template/spec/volumes/nfs/server", kind: "Deployment"},
    {path: "spec/template/metadata/annotations", kind: "Deployment"},
    {path: "spec/rules/host", kind: "Ingress"},
    {path: "spec/tls/hosts", kind: "Ingress"},
    {path: "spec/tls/secretName", kind: "Ingress"},
    {path: "spec/template/spec/containers/args", kind: "Job"},
    {path: "spec/template/spec/containers/command", kind: "Job"},
    {path: "spec/template/spec/containers/env/value", kind: "Job"},
    {path: "spec/template/spec/containers/volumeMounts/mountPath", kind: "Job"},
    {path: "spec/template/spec/initContainers/args", kind: "Job"},
    {path: "spec/template/spec/initContainers/command", kind: "Job"},
    {path: "spec/template/spec/initContainers/env/value", kind: "Job"},
    {path: "spec/template/spec/initContainers/volumeMounts/mountPath", kind: "Job"},
    {path: "spec/template/spec/volumes/nfs/server", kind: "Job"},
    {path: "spec/containers/args", kind: "Pod"},
    {path: "spec/containers/command", kind: "Pod"},
    {path: "spec/containers/env/value", kind: "Pod"},
    {path: "spec/containers/volumeMounts/mountPath", kind: "Pod"},
    {path: "spec/initContainers/args", kind: "Pod"},
    {path: "spec/initContainers/command", kind: "Pod"},
    {path: "spec/initContainers/env/value", kind: "Pod"},
    {path: "spec/initContainers/volumeMounts/mountPath", kind: "Pod"},
    {path: "spec/volumes/nfs/server", kind: "Pod"},
    {path: "spec/template/spec/containers/args", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/command", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/env/value", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/volumeMounts/mountPath", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/args", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/command", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/env/value", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/volumeMounts/mountPath", kind: "ReplicaSet"},
    {path: "spec/template/spec/volumes/nfs/server", kind: "ReplicaSet"},
    {path: "spec/ports/port", kind: "Service"},
    {path: "spec/ports/targetPort", kind: "Service"},
    {path: "spec/template/spec/containers/args", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/command", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/env/value", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/volumeMounts/mountPath", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/args", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/command", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/env/value", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/volumeMounts/mountPath", kind: "StatefulSet"},
    {path: "spec/volumeClaimTemplates/spec/nfs/server", kind: "StatefulSet"},
    {path: "spec/nfs/server", kind: "PersistentVolume"},
    {path: "metadata/labels"},
    {path: "metadata/annotations"},
};

/// One kind of object other objects refer to by name, and where they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameBackRef {
    /// API group of the referred-to object (`""` for any).
    pub group: &'static str,
    /// API version of the referred-to object (`""` for any).
    pub version: &'static str,
    /// Kind of the referred-to object.
    pub kind: &'static str,
    /// The fields of referring objects that hold the name.
    pub referrers: &'static [FieldSpec],
}

impl NameBackRef {
    /// Whether an object of this `apiVersion` and `kind` is the kind of
    /// object referred to.
    pub(crate) fn matches(&self, api_version: &str, kind: &str) -> bool {
        fieldspec::gvk_matches(self.group, self.version, self.kind, api_version, kind)
    }
}

/// The configMapRef, secretKeyRef… fields of a pod spec, for each kind
/// that has one.
const CONFIG_MAP_REFERRERS: &[FieldSpec] = field_specs! {
    {path: "spec/volumes/configMap/name", version: "v1", kind: "Pod"},
    {path: "spec/containers/env/valueFrom/configMapKeyRef/name", version: "v1", kind: "Pod"},
    {path: "spec/initContainers/env/valueFrom/configMapKeyRef/name", version: "v1", kind: "Pod"},
    {path: "spec/containers/envFrom/configMapRef/name", version: "v1", kind: "Pod"},
    {path: "spec/initContainers/envFrom/configMapRef/name", version: "v1", kind: "Pod"},
    {path: "spec/volumes/projected/sources/configMap/name", version: "v1", kind: "Pod"},
    {path: "template/spec/volumes/configMap/name", kind: "PodTemplate"},
    {path: "template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "PodTemplate"},
    {path: "template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "PodTemplate"},
    {path: "template/spec/containers/envFrom/configMapRef/name", kind: "PodTemplate"},
    {path: "template/spec/initContainers/envFrom/configMapRef/name", kind: "PodTemplate"},
    {path: "template/spec/volumes/projected/sources/configMap/name", kind: "PodTemplate"},
    {path: "spec/template/spec/volumes/configMap/name", kind: "Deployment"},
    {path: "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "Deployment"},
    {path: "spec/template/spec/containers/envFrom/configMapRef/name", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "Deployment"},
    {path: "spec/template/spec/volumes/projected/sources/configMap/name", kind: "Deployment"},
    {path: "spec/template/spec/volumes/configMap/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/envFrom/configMapRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/volumes/projected/sources/configMap/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/volumes/configMap/name", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/envFrom/configMapRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/volumes/projected/sources/configMap/name", kind: "DaemonSet"},
    {path: "spec/template/spec/volumes/configMap/name", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/envFrom/configMapRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/volumes/projected/sources/configMap/name", kind: "StatefulSet"},
    {path: "spec/template/spec/volumes/configMap/name", kind: "Job"},
    {path: "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "Job"},
    {path: "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "Job"},
    {path: "spec/template/spec/containers/envFrom/configMapRef/name", kind: "Job"},
    {path: "spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "Job"},
    {path: "spec/template/spec/volumes/projected/sources/configMap/name", kind: "Job"},
    {path: "spec/jobTemplate/spec/template/spec/volumes/configMap/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name", kind: "CronJob"},
    {path: "spec/configSource/configMap", kind: "Node"},
    {path: "rules/resourceNames", kind: "Role"},
    {path: "rules/resourceNames", kind: "ClusterRole"},
    {path: r"metadata/annotations/nginx.ingress.kubernetes.io\/fastcgi-params-configmap", kind: "Ingress"},
};

/// Where Secrets are referred to by name.
const SECRET_REFERRERS: &[FieldSpec] = field_specs! {
    {path: "spec/volumes/secret/secretName", version: "v1", kind: "Pod"},
    {path: "spec/containers/env/valueFrom/secretKeyRef/name", version: "v1", kind: "Pod"},
    {path: "spec/initContainers/env/valueFrom/secretKeyRef/name", version: "v1", kind: "Pod"},
    {path: "spec/containers/envFrom/secretRef/name", version: "v1", kind: "Pod"},
    {path: "spec/initContainers/envFrom/secretRef/name", version: "v1", kind: "Pod"},
    {path: "spec/imagePullSecrets/name", version: "v1", kind: "Pod"},
    {path: "spec/volumes/projected/sources/secret/name", version: "v1", kind: "Pod"},
    {path: "template/spec/volumes/secret/secretName", kind: "PodTemplate"},
    {path: "template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "PodTemplate"},
    {path: "template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "PodTemplate"},
    {path: "template/spec/containers/envFrom/secretRef/name", kind: "PodTemplate"},
    {path: "template/spec/initContainers/envFrom/secretRef/name", kind: "PodTemplate"},
    {path: "template/spec/imagePullSecrets/name", kind: "PodTemplate"},
    {path: "template/spec/volumes/projected/sources/secret/name", kind: "PodTemplate"},
    {path: "spec/template/spec/volumes/secret/secretName", kind: "Deployment"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "Deployment"},
    {path: "spec/template/spec/containers/envFrom/secretRef/name", kind: "Deployment"},
    {path: "spec/template/spec/initContainers/envFrom/secretRef/name", kind: "Deployment"},
    {path: "spec/template/spec/imagePullSecrets/name", kind: "Deployment"},
    {path: "spec/template/spec/volumes/projected/sources/secret/name", kind: "Deployment"},
    {path: "spec/template/spec/volumes/secret/secretName", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/containers/envFrom/secretRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/initContainers/envFrom/secretRef/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/imagePullSecrets/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/volumes/projected/sources/secret/name", kind: "ReplicaSet"},
    {path: "spec/template/spec/volumes/secret/secretName", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/containers/envFrom/secretRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/initContainers/envFrom/secretRef/name", kind: "DaemonSet"},
    {path: "spec/template/spec/imagePullSecrets/name", kind: "DaemonSet"},
    {path: "spec/template/spec/volumes/projected/sources/secret/name", kind: "DaemonSet"},
    {path: "spec/template/spec/volumes/secret/secretName", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/containers/envFrom/secretRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/initContainers/envFrom/secretRef/name", kind: "StatefulSet"},
    {path: "spec/template/spec/imagePullSecrets/name", kind: "StatefulSet"},
    {path: "spec/template/spec/volumes/projected/sources/secret/name", kind: "StatefulSet"},
    {path: "spec/template/spec/volumes/secret/secretName", kind: "Job"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "Job"},
    {path: "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "Job"},
    {path: "spec/template/spec/containers/envFrom/secretRef/name", kind: "Job"},
    {path: "spec/template/spec/initContainers/envFrom/secretRef/name", kind: "Job"},
    {path: "spec/template/spec/imagePullSecrets/name", kind: "Job"},
    {path: "spec/template/spec/volumes/projected/sources/secret/name", kind: "Job"},
    {path: "spec/jobTemplate/spec/template/spec/volumes/secret/secretName", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name", kind: "CronJob"},
    {path: "spec/jobTemplate/spec/template/spec/imagePullSecrets/name", kind: "CronJob"},
    {path: "spec/tls/secretName", kind: "Ingress"},
    {path: r"metadata/annotations/ingress.kubernetes.io\/auth-secret", kind: "Ingress"},
    {path: r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret", kind: "Ingress"},
    {path: r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-tls-secret", kind: "Ingress"},
    {path: "spec/tls/secretName", kind: "Ingress"},
    {path: "imagePullSecrets/name", kind: "ServiceAccount"},
    {path: "parameters/secretName", kind: "StorageClass"},
    {path: "parameters/adminSecretName", kind: "StorageClass"},
    {path: "parameters/userSecretName", kind: "StorageClass"},
    {path: "parameters/secretRef", kind: "StorageClass"},
    {path: "rules/resourceNames", kind: "Role"},
    {path: "rules/resourceNames", kind: "ClusterRole"},
    {path: "spec/template/spec/containers/env/valueFrom/secretKeyRef/name", group: "serving.knative.dev", version: "v1", kind: "Service"},
    {path: "spec/azureFile/secretName", kind: "PersistentVolume"},
};

/// Name references: for each kind of object that is referred to by name,
/// the fields of other objects that hold such names. When a build renames
/// objects (prefix, suffix, generator hash), these fields follow.
///
/// How Kustomize uses the table:
///
/// * Referrers are picked by their original identity against each
///   referrer spec's filter, and the spec's path is walked without
///   creating anything. What the walk reaches may be a name (a string), a
///   list of names (`rules/resourceNames`) or maps, or a map holding `name`
///   and possibly `namespace` (`subjects`, `webhooks/clientConfig/service`):
///   for maps both the name and, when the referred-to object has one, the
///   namespace are rewritten; a map without `name` is an error. `null` is
///   skipped.
/// * The referred-to object is found among the objects the referrer can
///   see (the same namespace, cluster-scoped ones, and for a RoleBinding
///   the namespaces of its subjects; everything for a cluster-scoped
///   referrer) whose current or any earlier name is the name written, and
///   whose current or any earlier identity this entry's filter selects;
///   for `roleRef/name` also matching `roleRef`'s `kind` and `apiGroup`;
///   then those in the referrer's current namespace (cluster-scoped ones
///   and ServiceAccounts are always kept). Of several, those that went
///   through the same prefixes and suffixes as the referrer win; several
///   that still differ in name (or namespace, for maps) fail the build.
///
/// Observed consequences: a RoleBinding subject of kind `User` or `Group`
/// whose name is that of a ServiceAccount of the build is renamed with it
/// (subjects are matched by name only); `rules/resourceNames` of Roles and
/// ClusterRoles follow ConfigMaps, Secrets and (for ClusterRoles)
/// PersistentVolumes of the same name; Ingress annotations with an escaped
/// `/` in the key are followed. The IngressClass entry's group is
/// `networking.k8s.io/v1` in Kustomize, which no object's group equals: an
/// Ingress's `spec.ingressClassName` is never updated when its IngressClass
/// is renamed, and we keep it that way. The Secret list has Ingress
/// `spec/tls/secretName` twice (harmless).
///
/// Kustomize applies the entries sorted by the referred-to kind's legacy
/// order (StorageClass, ServiceAccount, Role, ClusterRole, ConfigMap,
/// Secret, Service, PriorityClass, PersistentVolume, PersistentVolumeClaim,
/// Deployment, StatefulSet, then ValidatingAdmissionPolicy, IngressClass,
/// ReplicaSet, ReplicationController). Order matters only where two
/// entries rewrite the same field, which is a ClusterRole's
/// `rules/resourceNames` (ConfigMap, Secret, PersistentVolume: the first
/// entry to rename a name wins); those three are in the same relative
/// order here.
pub(crate) const NAME_REFERENCE: &[NameBackRef] = &[
    NameBackRef {
        group: "",
        version: "",
        kind: "Deployment",
        referrers: field_specs! {
            {path: "spec/scaleTargetRef/name", kind: "HorizontalPodAutoscaler"},
        },
    },
    NameBackRef {
        group: "",
        version: "",
        kind: "ReplicationController",
        referrers: field_specs! {
            {path: "spec/scaleTargetRef/name", kind: "HorizontalPodAutoscaler"},
        },
    },
    NameBackRef {
        group: "",
        version: "",
        kind: "ReplicaSet",
        referrers: field_specs! {
            {path: "spec/scaleTargetRef/name", kind: "HorizontalPodAutoscaler"},
        },
    },
    NameBackRef {
        group: "",
        version: "",
        kind: "StatefulSet",
        referrers: field_specs! {
            {path: "spec/scaleTargetRef/name", kind: "HorizontalPodAutoscaler"},
        },
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        referrers: CONFIG_MAP_REFERRERS,
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "Secret",
        referrers: SECRET_REFERRERS,
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "Service",
        referrers: field_specs! {
            {path: "spec/serviceName", group: "apps", kind: "StatefulSet"},
            {path: "spec/rules/http/paths/backend/serviceName", kind: "Ingress"},
            {path: "spec/backend/serviceName", kind: "Ingress"},
            {path: "spec/rules/http/paths/backend/service/name", kind: "Ingress"},
            {path: "spec/defaultBackend/service/name", kind: "Ingress"},
            {path: "spec/service/name", group: "apiregistration.k8s.io", kind: "APIService"},
            {path: "webhooks/clientConfig/service", group: "admissionregistration.k8s.io", kind: "ValidatingWebhookConfiguration"},
            {path: "webhooks/clientConfig/service", group: "admissionregistration.k8s.io", kind: "MutatingWebhookConfiguration"},
        },
    },
    NameBackRef {
        group: "rbac.authorization.k8s.io",
        version: "",
        kind: "Role",
        referrers: field_specs! {
            {path: "roleRef/name", group: "rbac.authorization.k8s.io", kind: "RoleBinding"},
        },
    },
    NameBackRef {
        group: "rbac.authorization.k8s.io",
        version: "",
        kind: "ClusterRole",
        referrers: field_specs! {
            {path: "roleRef/name", group: "rbac.authorization.k8s.io", kind: "RoleBinding"},
            {path: "roleRef/name", group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding"},
        },
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        referrers: field_specs! {
            {path: "subjects", group: "rbac.authorization.k8s.io", kind: "RoleBinding"},
            {path: "subjects", group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding"},
            {path: "spec/serviceAccountName", kind: "Pod"},
            {path: "spec/template/spec/serviceAccountName", kind: "StatefulSet"},
            {path: "spec/template/spec/serviceAccountName", kind: "Deployment"},
            {path: "spec/template/spec/serviceAccountName", kind: "ReplicationController"},
            {path: "spec/jobTemplate/spec/template/spec/serviceAccountName", kind: "CronJob"},
            {path: "spec/template/spec/serviceAccountName", kind: "Job"},
            {path: "spec/template/spec/serviceAccountName", kind: "DaemonSet"},
        },
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "PersistentVolumeClaim",
        referrers: field_specs! {
            {path: "spec/volumes/persistentVolumeClaim/claimName", kind: "Pod"},
            {path: "spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "StatefulSet"},
            {path: "spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "Deployment"},
            {path: "spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "ReplicationController"},
            {path: "spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "CronJob"},
            {path: "spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "Job"},
            {path: "spec/template/spec/volumes/persistentVolumeClaim/claimName", kind: "DaemonSet"},
        },
    },
    NameBackRef {
        group: "",
        version: "v1",
        kind: "PersistentVolume",
        referrers: field_specs! {
            {path: "spec/volumeName", kind: "PersistentVolumeClaim"},
            {path: "rules/resourceNames", kind: "ClusterRole"},
        },
    },
    NameBackRef {
        group: "storage.k8s.io",
        version: "v1",
        kind: "StorageClass",
        referrers: field_specs! {
            {path: "spec/storageClassName", kind: "PersistentVolume"},
            {path: "spec/storageClassName", kind: "PersistentVolumeClaim"},
            {path: "spec/volumeClaimTemplates/spec/storageClassName", kind: "StatefulSet"},
        },
    },
    NameBackRef {
        group: "scheduling.k8s.io",
        version: "v1",
        kind: "PriorityClass",
        referrers: field_specs! {
            {path: "spec/priorityClassName", kind: "Pod"},
            {path: "spec/template/spec/priorityClassName", kind: "StatefulSet"},
            {path: "spec/template/spec/priorityClassName", kind: "Deployment"},
            {path: "spec/template/spec/priorityClassName", kind: "ReplicationController"},
            {path: "spec/jobTemplate/spec/template/spec/priorityClassName", kind: "CronJob"},
            {path: "spec/template/spec/priorityClassName", kind: "Job"},
            {path: "spec/template/spec/priorityClassName", kind: "DaemonSet"},
        },
    },
    NameBackRef {
        // Sic: Kustomize's group, which matches no object (see above).
        group: "networking.k8s.io/v1",
        version: "v1",
        kind: "IngressClass",
        referrers: field_specs! {
            {path: "spec/ingressClassName", kind: "Ingress"},
        },
    },
    NameBackRef {
        group: "admissionregistration.k8s.io",
        version: "",
        kind: "ValidatingAdmissionPolicy",
        referrers: field_specs! {
            {path: "spec/policyName", group: "admissionregistration.k8s.io", kind: "ValidatingAdmissionPolicyBinding"},
        },
    },
];

/// The kinds placed first by the legacy output order (Kustomize's default
/// when a kustomization has no `sortOptions`, and for `sortOptions: {order:
/// legacy}` without `legacySortOptions`), in that order.
pub(crate) const LEGACY_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// The kinds placed last by the legacy output order, in that order.
pub(crate) const LEGACY_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// A kind's rank in the legacy order: negative for the `first` kinds (in
/// their order), positive for the `last` ones, 0 for all others. A kind
/// listed twice takes its last place, and `last` wins over `first`.
pub(crate) fn legacy_rank<S: AsRef<str>>(kind: &str, first: &[S], last: &[S]) -> isize {
    let place = |list: &[S]| list.iter().rposition(|k| k.as_ref() == kind);
    if let Some(i) = place(last) {
        // Lists hold a handful of kinds: no overflow.
        return i as isize + 1;
    }
    match place(first) {
        Some(i) => i as isize - first.len() as isize,
        None => 0,
    }
}

/// What the legacy order compares of an object: its current identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LegacyId<'a> {
    /// API group (`""` for the core group).
    pub group: &'a str,
    /// API version.
    pub version: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// `metadata.namespace` as written (`""` when unset).
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
}

/// The legacy order: by [`legacy_rank`] of the kind, then by
/// `group_version_kind` (an empty group, version or kind spelt `~G`, `~V`,
/// `~K`, so the core group sorts after named groups), then, for the same
/// group, version and kind, by `namespace|name` (`~X` for no namespace,
/// `~N` for no name), compared as whole strings. Exception: core-group
/// Namespaces come before Namespaces of other groups and among themselves
/// by descending version. (Kustomize reverses the comparison of two
/// Namespace kinds when either group is empty; that is this order for any
/// group name sorting before `~`, and unlike Kustomize's it is a total
/// order for the others too.) Observed with `kubectl kustomize`: core
/// Namespace, then `aaa.example.com` and `zzz.example.com` Namespaces,
/// ConfigMap, `apps` before `extensions` Deployments, Job, Pods in
/// namespace `a`, `x`, then without a namespace, and the webhook
/// configurations last.
pub(crate) fn legacy_cmp<S: AsRef<str>>(
    a: &LegacyId<'_>,
    b: &LegacyId<'_>,
    first: &[S],
    last: &[S],
) -> Ordering {
    let rank = legacy_rank(a.kind, first, last).cmp(&legacy_rank(b.kind, first, last));
    if rank != Ordering::Equal {
        return rank;
    }
    let same_gvk = a.group == b.group && a.version == b.version && a.kind == b.kind;
    if !same_gvk {
        let by_gvk = legacy_gvk_key(a).cmp(&legacy_gvk_key(b));
        if a.kind == "Namespace" && b.kind == "Namespace" {
            return match (a.group.is_empty(), b.group.is_empty()) {
                (true, true) => by_gvk.reverse(),
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => by_gvk,
            };
        }
        return by_gvk;
    }
    legacy_name_key(a).cmp(&legacy_name_key(b))
}

fn or<'a>(s: &'a str, placeholder: &'a str) -> &'a str {
    if s.is_empty() { placeholder } else { s }
}

fn legacy_gvk_key(id: &LegacyId<'_>) -> String {
    format!(
        "{}_{}_{}",
        or(id.group, "~G"),
        or(id.version, "~V"),
        or(id.kind, "~K")
    )
}

fn legacy_name_key(id: &LegacyId<'_>) -> String {
    format!("{}|{}", or(id.namespace, "~X"), or(id.name, "~N"))
}

/// The `(apiVersion, kind)`s Kustomize knows to be cluster-scoped without
/// being given a schema (its built-in Kubernetes schema's answer). Lookups
/// are exact: `storage.k8s.io/v1alpha9` StorageClasses, custom kinds and
/// even `admissionregistration.k8s.io/v1` ValidatingAdmissionPolicies
/// (unknown to v5.5.0's schema) count as namespaced and get a namespace.
pub(crate) const CLUSTER_SCOPED: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
];

/// Whether objects of this `apiVersion` and `kind` are known to be
/// cluster-scoped without a schema (see [`CLUSTER_SCOPED`]).
pub(crate) fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|&(v, k)| v == api_version && k == kind)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fieldspec::{Leaf, visit};

    fn referrers_of(kind: &str) -> &'static [FieldSpec] {
        NAME_REFERENCE
            .iter()
            .find(|b| b.kind == kind)
            .map(|b| b.referrers)
            .unwrap()
    }

    fn has(specs: &[FieldSpec], api_version: &str, kind: &str, path: &str) -> bool {
        specs
            .iter()
            .any(|s| s.path == path && s.matches(api_version, kind))
    }

    /// Applies a label table to `obj` as the labels transformer does.
    fn add_label(specs: &[FieldSpec], obj: &mut Value) {
        let api = obj["apiVersion"].as_str().unwrap().to_owned();
        let kind = obj["kind"].as_str().unwrap().to_owned();
        for s in specs.iter().filter(|s| s.matches(&api, &kind)) {
            visit(obj, s.path, s.creating(Leaf::Map), &mut |v| {
                if let Value::Object(m) = v {
                    m.insert("app".into(), json!("kiln"));
                }
            })
            .unwrap();
        }
    }

    #[test]
    fn builders_make_what_the_macro_says() {
        let specs: &[FieldSpec] = field_specs! {
            {path: "a/b", create, group: "g", version: "v", kind: "K"},
            {path: "c"},
        };
        assert_eq!(
            specs,
            [
                FieldSpec {
                    group: "g",
                    version: "v",
                    kind: "K",
                    path: "a/b",
                    create: true
                },
                FieldSpec {
                    path: "c",
                    ..FieldSpec::ANY
                },
            ]
        );
        assert_eq!(TEMPLATE_LABELS.len(), 10);
        assert_eq!(COMMON_LABELS.len(), 22 + 10);
        assert_eq!(&COMMON_LABELS[22..], TEMPLATE_LABELS);
    }

    #[test]
    fn every_path_walks() {
        let tables = [
            NAME_PREFIX,
            NAME_SUFFIX,
            COMMON_LABELS,
            TEMPLATE_LABELS,
            COMMON_ANNOTATIONS,
            NAMESPACE,
            IMAGES,
            REPLICAS,
            VAR_REFERENCE,
        ];
        let refs = NAME_REFERENCE.iter().map(|b| b.referrers);
        for spec in tables.into_iter().chain(refs).flatten() {
            // Walking an empty object with creation exercises every segment.
            let mut obj = json!({});
            visit(&mut obj, spec.path, Some(Leaf::Map), &mut |_| {})
                .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        }
    }

    #[test]
    fn config_maps_are_referred_to_from_pod_templates() {
        let cm = referrers_of("ConfigMap");
        let path = "spec/template/spec/containers/envFrom/configMapRef/name";
        assert!(has(cm, "apps/v1", "Deployment", path));
        assert!(has(
            cm,
            "apps/v1",
            "Deployment",
            "spec/template/spec/volumes/configMap/name"
        ));
        assert!(has(
            cm,
            "batch/v1",
            "CronJob",
            "spec/jobTemplate/spec/template/spec/volumes/configMap/name"
        ));
        // The Pod entries ask for v1.
        assert!(has(
            cm,
            "v1",
            "Pod",
            "spec/containers/envFrom/configMapRef/name"
        ));
        assert!(!has(
            cm,
            "v2",
            "Pod",
            "spec/containers/envFrom/configMapRef/name"
        ));
        assert_eq!(cm.len(), 52);
        assert_eq!(referrers_of("Secret").len(), 70);

        let target = NAME_REFERENCE
            .iter()
            .find(|b| b.kind == "ConfigMap")
            .unwrap();
        assert!(target.matches("v1", "ConfigMap"));
        assert!(!target.matches("v1", "Secret"));
    }

    #[test]
    fn walks_config_map_references_of_a_deployment() {
        let mut dep = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {
                "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cm"}}],
                                "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}],
                "volumes": [{"name": "v", "configMap": {"name": "cm"}},
                            {"name": "w", "projected": {"sources": [{"configMap": {"name": "cm"}}, {"secret": {"name": "s"}}]}}]
            }}}
        });
        let mut renamed = 0;
        for s in referrers_of("ConfigMap")
            .iter()
            .filter(|s| s.matches("apps/v1", "Deployment"))
        {
            visit(&mut dep, s.path, None, &mut |v| {
                if *v == "cm" {
                    *v = json!("p-cm");
                    renamed += 1;
                }
            })
            .unwrap();
        }
        assert_eq!(renamed, 4);
        assert!(!dep.to_string().contains("\"cm\""));
    }

    #[test]
    fn service_accounts_are_referred_to_from_binding_subjects() {
        let sa = referrers_of("ServiceAccount");
        assert!(has(
            sa,
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "subjects"
        ));
        assert!(has(
            sa,
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "subjects"
        ));
        assert!(has(
            sa,
            "apps/v1",
            "Deployment",
            "spec/template/spec/serviceAccountName"
        ));
        // The walk ends on the whole subjects list: the name reference
        // transformer rewrites each subject map's name and namespace.
        let mut rb = json!({"subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
        let mut seen = Vec::new();
        visit(&mut rb, "subjects", None, &mut |v| seen.push(v.clone())).unwrap();
        assert_eq!(seen, [json!([{"kind": "ServiceAccount", "name": "sa"}])]);
    }

    #[test]
    fn other_name_references() {
        assert!(has(
            referrers_of("Deployment"),
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "spec/scaleTargetRef/name"
        ));
        assert!(has(
            referrers_of("ClusterRole"),
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "roleRef/name"
        ));
        assert!(!has(
            referrers_of("Role"),
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "roleRef/name"
        ));
        assert!(has(
            referrers_of("Service"),
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "webhooks/clientConfig/service"
        ));
        assert!(has(
            referrers_of("Service"),
            "networking.k8s.io/v1",
            "Ingress",
            "spec/defaultBackend/service/name"
        ));
        assert!(has(
            referrers_of("Secret"),
            "serving.knative.dev/v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"
        ));
        assert!(!has(
            referrers_of("Secret"),
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"
        ));
        assert!(has(
            referrers_of("StorageClass"),
            "apps/v1",
            "StatefulSet",
            "spec/volumeClaimTemplates/spec/storageClassName"
        ));
        assert!(has(
            referrers_of("PersistentVolume"),
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "rules/resourceNames"
        ));

        // The annotation key with an escaped slash is reached.
        let path = r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret";
        assert!(has(
            referrers_of("Secret"),
            "networking.k8s.io/v1",
            "Ingress",
            path
        ));
        let mut ing = json!({"metadata": {"annotations": {"nginx.ingress.kubernetes.io/auth-secret": "sec"}}});
        visit(&mut ing, path, None, &mut |v| *v = json!("p-sec")).unwrap();
        assert_eq!(
            ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-secret"],
            "p-sec"
        );

        // Kustomize's IngressClass entry selects no real IngressClass.
        let ic = NAME_REFERENCE
            .iter()
            .find(|b| b.kind == "IngressClass")
            .unwrap();
        assert!(!ic.matches("networking.k8s.io/v1", "IngressClass"));
    }

    #[test]
    fn common_labels_create_only_some_selectors() {
        let service = COMMON_LABELS.iter().find(|s| s.kind == "Service").unwrap();
        assert_eq!(
            (service.path, service.create, service.version),
            ("spec/selector", true, "v1")
        );

        let cases = [
            // (object, labelled fields expected)
            (
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"app": "kiln"}},
                       "spec": {"selector": {"app": "kiln"}}}),
            ),
            (
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"app": "kiln"}},
                       "spec": {"selector": {"matchLabels": {"app": "kiln"}},
                                "template": {"metadata": {"labels": {"app": "kiln"}}}}}),
            ),
            (
                // A custom Deployment kind: only the group-less specs apply.
                json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "f"}}),
                json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "f", "labels": {"app": "kiln"}},
                       "spec": {"selector": {"matchLabels": {"app": "kiln"}},
                                "template": {"metadata": {"labels": {"app": "kiln"}}}}}),
            ),
            (
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {}}}),
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": {"app": "kiln"}},
                       "spec": {"template": {"metadata": {"labels": {"app": "kiln"}}}}}),
            ),
            (
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                       "spec": {"selector": {"matchLabels": {"x": "y"}}}}),
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": {"app": "kiln"}},
                       "spec": {"selector": {"matchLabels": {"x": "y", "app": "kiln"}},
                                "template": {"metadata": {"labels": {"app": "kiln"}}}}}),
            ),
            (
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {}}),
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "labels": {"app": "kiln"}},
                       "spec": {}}),
            ),
            (
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n"},
                       "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"z": "z"}}}, {"namespaceSelector": {}}]}]}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n", "labels": {"app": "kiln"}},
                       "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"z": "z", "app": "kiln"}}}, {"namespaceSelector": {}}]}]}}),
            ),
            (
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
                       "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}}),
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "labels": {"app": "kiln"}},
                       "spec": {"selector": {"matchLabels": {"app": "kiln"}},
                                "template": {"metadata": {"labels": {"app": "kiln"}}},
                                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"app": "kiln"}}}]}}),
            ),
        ];
        for (mut obj, want) in cases {
            add_label(COMMON_LABELS, &mut obj);
            assert_eq!(obj, want);
        }
    }

    #[test]
    fn namespace_tables() {
        assert!(has(
            NAMESPACE,
            "apiregistration.k8s.io/v1",
            "APIService",
            "spec/service/namespace"
        ));
        assert!(NAMESPACE[1].create);
        assert!(!NAMESPACE[2].create);

        let mut rb: Map<String, Value> = serde_json::from_value(json!({"subjects": [
            {"kind": "ServiceAccount", "name": "default"},
            {"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"},
            {"kind": "ServiceAccount", "name": "sa"},
            {"kind": "User", "name": "default"},
            "odd"
        ]}))
        .unwrap();
        let before = rb.clone();
        namespace_subjects(&mut rb, "Role", "kiln");
        assert_eq!(rb, before);
        namespace_subjects(&mut rb, "RoleBinding", "kiln");
        assert_eq!(
            Value::Object(rb),
            json!({"subjects": [
                {"kind": "ServiceAccount", "name": "default", "namespace": "kiln"},
                {"kind": "ServiceAccount", "name": "default", "namespace": "kiln"},
                {"kind": "ServiceAccount", "name": "sa"},
                {"kind": "User", "name": "default", "namespace": "kiln"},
                "odd"
            ]})
        );
    }

    #[test]
    fn name_affixes_skip_some_kinds() {
        assert!(skips_name_affixes("v1", "Namespace"));
        assert!(skips_name_affixes("example.com/v1", "Namespace"));
        assert!(skips_name_affixes(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition"
        ));
        assert!(skips_name_affixes(
            "apiregistration.k8s.io/v1",
            "APIService"
        ));
        assert!(!skips_name_affixes("example.com/v1", "APIService"));
        assert!(!skips_name_affixes("v1", "ConfigMap"));
    }

    #[test]
    fn cluster_scope_is_exact() {
        assert!(is_cluster_scoped("v1", "Namespace"));
        assert!(is_cluster_scoped(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole"
        ));
        assert!(is_cluster_scoped("storage.k8s.io/v1", "StorageClass"));
        assert!(!is_cluster_scoped(
            "storage.k8s.io/v1alpha9",
            "StorageClass"
        ));
        assert!(!is_cluster_scoped("example.com/v1", "Namespace"));
        assert!(!is_cluster_scoped(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy"
        ));
        assert!(!is_cluster_scoped("v1", "ConfigMap"));
        assert_eq!(CLUSTER_SCOPED.len(), 36);
    }

    #[test]
    fn legacy_order() {
        let rank = |k| legacy_rank(k, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST);
        assert_eq!(rank("Namespace"), -22);
        assert_eq!(rank("PodDisruptionBudget"), -1);
        assert_eq!(rank("Pod"), 0);
        assert_eq!(rank("MutatingWebhookConfiguration"), 1);
        assert_eq!(rank("ValidatingWebhookConfiguration"), 2);
        assert_eq!(legacy_rank("A", &["A", "B", "A"], &[]), -1);
        assert_eq!(legacy_rank("A", &["A"], &["A"]), 1);

        let id = |group, version, kind, namespace, name| LegacyId {
            group,
            version,
            kind,
            namespace,
            name,
        };
        // The order kubectl kustomize printed for these objects.
        let want = [
            id("", "v1", "Namespace", "", "core"),
            id("aaa.example.com", "v1", "Namespace", "", "custom2"),
            id("zzz.example.com", "v1", "Namespace", "", "custom"),
            id("", "v1", "ConfigMap", "", "cm"),
            id("apps", "v1", "Deployment", "", "d"),
            id("extensions", "v1beta1", "Deployment", "", "d"),
            id("batch", "v1", "Job", "", "j"),
            id("", "v1", "Pod", "a", "c"),
            id("", "v1", "Pod", "x", "b"),
            id("", "v1", "Pod", "", "a"),
            id(
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                "",
                "mwc",
            ),
            id(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "",
                "vwc",
            ),
        ];
        let mut got = want.to_vec();
        got.reverse();
        got.sort_by(|a, b| legacy_cmp(a, b, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST));
        assert_eq!(got, want);

        // Core Namespaces among themselves: by descending version.
        let v1 = id("", "v1", "Namespace", "", "a");
        let v2 = id("", "v2", "Namespace", "", "a");
        assert_eq!(
            legacy_cmp(&v2, &v1, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST),
            Ordering::Less
        );
        // Names compare inside the whole `namespace|name` string.
        let a = id("", "v1", "Pod", "ab", "y");
        let b = id("", "v1", "Pod", "a", "x");
        assert_eq!(
            legacy_cmp(&a, &b, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST),
            Ordering::Less
        );
    }
}
