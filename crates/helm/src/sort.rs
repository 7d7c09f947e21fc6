//! Splitting rendered templates into documents and ordering them as Helm
//! installs them (`releaseutil.SortManifests`, `InstallOrder`).

use serde_json::Value;

use crate::error::Error;
use crate::yaml;

/// Helm's `InstallOrder` (kind_sorter.go).
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
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
    "CustomResourceDefinition",
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

/// One document of the output, with the template it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The template (or CRD file), as Helm's `# Source:` line names it.
    pub source: String,
    /// The document's text, trimmed as Helm keeps it.
    pub content: String,
    /// The parsed object (`Null` for a document of comments only).
    pub object: Value,
}

impl Manifest {
    fn kind(&self) -> &str {
        self.object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn hook(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/annotations/helm.sh~1hook")
            .and_then(Value::as_str)
    }
}

/// Helm's `SplitManifests`: the text between `(?:^|\s*\n)---\s*`
/// separators, kept as is; blank documents dropped.
pub fn split(text: &str) -> Vec<String> {
    static SEP: std::sync::OnceLock<Option<regex_lite::Regex>> = std::sync::OnceLock::new();
    let sep = SEP.get_or_init(|| regex_lite::Regex::new(r"(?:^|\s*\n)---\s*").ok());
    let docs: Vec<String> = match sep {
        Some(re) => re.split(text).map(str::to_string).collect(),
        None => vec![text.to_string()],
    };
    docs.into_iter()
        .map(|d| d.trim_start().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

fn rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn less(a: &str, b: &str) -> bool {
    match (rank(a), rank(b)) {
        (None, None) => a < b,
        (None, Some(_)) => false,
        (Some(_), None) => true,
        (Some(x), Some(y)) => x < y,
    }
}

fn stable_sort(v: &mut [Manifest]) {
    // A stable insertion by `less`, as Go's sort.SliceStable.
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(v[j].kind(), v[j - 1].kind()) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Splits every rendered template (sorted by name, partials and empty
/// files skipped) and orders them: `(manifests, hooks)`.
pub fn sort(
    rendered: &[(String, String)],
    skip_tests: bool,
) -> Result<(Vec<Manifest>, Vec<Manifest>), Error> {
    let mut files: Vec<&(String, String)> = rendered.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut generic, mut hooks) = (Vec::new(), Vec::new());
    for (name, text) in files {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') || text.trim().is_empty() {
            continue;
        }
        for doc in split(text) {
            let object = yaml::parse_doc(&doc).map_err(|message| Error::Yaml {
                file: name.clone(),
                message,
            })?;
            let m = Manifest {
                source: name.clone(),
                content: doc,
                object,
            };
            match m.hook() {
                Some(h) => {
                    let is_test = h
                        .split(',')
                        .any(|h| matches!(h.trim(), "test" | "test-success"));
                    if !(skip_tests && is_test) {
                        hooks.push(m);
                    }
                }
                None => generic.push(m),
            }
        }
    }
    stable_sort(&mut generic);
    stable_sort(&mut hooks);
    Ok((generic, hooks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_what_helm_keeps() {
        assert_eq!(
            split("\n\na: 1\n\n---  \n\nb: 2  \n\n---\n# c\n"),
            vec!["a: 1", "b: 2", "# c\n"]
        );
    }

    #[test]
    fn unknown_kinds_go_last_in_name_order() {
        assert!(less("Namespace", "Deployment"));
        assert!(less("Ingress", "Zebra"));
        assert!(less("Alpha", "Zebra"));
        assert!(!less("Zebra", "Service"));
    }
}
