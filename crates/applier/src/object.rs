//! Rendered objects: identity, scope and install order.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Annotation giving an object's sync wave (an integer, default 0).
pub const SYNC_WAVE_ANNOTATION: &str = "kiln.dev/sync-wave";
/// Argo CD's sync-wave annotation, honoured when Kiln's is absent.
pub const ARGOCD_SYNC_WAVE_ANNOTATION: &str = "argocd.argoproj.io/sync-wave";
/// Annotation that, set to `disabled`, keeps an object from ever being pruned.
pub const PRUNE_ANNOTATION: &str = "kiln.dev/prune";

/// What identifies an object in a cluster: group, kind, namespace and name.
///
/// The version is not part of the identity (the same object is served at
/// every version of its group); `api_version` is carried so that the object
/// can be addressed later, for example to prune it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectId {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectId {
    /// The API group: the part of `apiVersion` before `/`, empty for core.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// The API version: the part of `apiVersion` after `/`.
    pub fn version(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or(self.api_version.as_str(), |(_, version)| version)
    }

    fn key(&self) -> (&str, &str, &str, &str) {
        (self.group(), &self.kind, &self.namespace, &self.name)
    }
}

impl PartialEq for ObjectId {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ObjectId {}

impl PartialOrd for ObjectId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for ObjectId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Display for ObjectId {
    /// `group/Kind/namespace/name`, with empty parts for the core group and
    /// cluster-scoped objects (Argo CD's resource key format).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.group(),
            self.kind,
            self.namespace,
            self.name
        )
    }
}

/// Built-in kinds that are cluster-scoped, by `(group, kind)`.
///
/// Everything else is taken as namespaced, except custom resources whose
/// CustomResourceDefinition in the same render says `scope: Cluster`.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// Whether a built-in kind is cluster-scoped.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&(group, kind))
}

/// Install order of built-in kinds: Helm's `InstallOrder`, which Argo CD's
/// `kindOrder` also follows, with CustomResourceDefinition moved up next to
/// Namespace. Kinds not listed come after all of these, by kind name.
const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The position of a kind in [`INSTALL_ORDER`]; unknown kinds share the last.
pub fn kind_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// Whether a kind goes ahead of every sync wave (Namespaces and CRDs, which
/// everything else may need).
pub fn is_foundation(id: &ObjectId) -> bool {
    (id.group().is_empty() && id.kind == "Namespace")
        || (id.group() == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition")
}

/// A rendered object ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its identity (namespace already defaulted).
    pub id: ObjectId,
    /// Sync wave from the annotation; 0 when absent.
    pub wave: i64,
    /// The manifest (namespace already defaulted).
    pub manifest: Value,
}

/// Reads an annotation of a manifest.
pub fn annotation<'a>(manifest: &'a Value, key: &str) -> Option<&'a str> {
    manifest
        .pointer("/metadata/annotations")?
        .get(key)?
        .as_str()
}

/// The sync wave of a manifest, from [`SYNC_WAVE_ANNOTATION`] or Argo CD's.
pub fn sync_wave(manifest: &Value) -> Result<i64, String> {
    let Some((key, text)) = [SYNC_WAVE_ANNOTATION, ARGOCD_SYNC_WAVE_ANNOTATION]
        .into_iter()
        .find_map(|key| annotation(manifest, key).map(|v| (key, v)))
    else {
        return Ok(0);
    };
    text.trim()
        .parse()
        .map_err(|_| format!("annotation {key}: {text:?} is not an integer"))
}

/// Whether a live object opts out of pruning (`kiln.dev/prune: disabled`, or
/// Argo CD's `argocd.argoproj.io/sync-options` containing `Prune=false`).
pub fn prune_disabled(manifest: &Value) -> bool {
    annotation(manifest, PRUNE_ANNOTATION).is_some_and(|v| v.trim() == "disabled")
        || annotation(manifest, "argocd.argoproj.io/sync-options")
            .is_some_and(|v| v.split(',').any(|o| o.trim() == "Prune=false"))
}
