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
    let mut docs = Vec::new();
    let mut last = 0;
    let mut from = 0;
    while let Some((start, end)) = next_separator(text, from) {
        docs.push(&text[last..start]);
        last = end;
        from = end;
    }
    docs.push(&text[last..]);
    docs.into_iter()
        .map(str::trim_start)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// The class `\s` of the separator pattern (ASCII space, `\t\n\v\f\r`).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// The leftmost match of `(?:^|\s*\n)---\s*` at or after `from`, as
/// `(start, end)` byte offsets: the regular expression's leftmost-first
/// answer, found without a regex engine (it was most of the split's cost).
fn next_separator(text: &str, from: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let after_dashes = |dashes: usize| {
        let mut end = dashes + 3;
        while end < b.len() && is_space(b[end]) {
            end += 1;
        }
        end
    };
    if from == 0 && b.starts_with(b"---") {
        return Some((0, after_dashes(0)));
    }
    // The first `\n---` at or after `from`; the match starts where the run
    // of spaces ending at that newline starts (no earlier than `from`).
    let nl = from + text.get(from..)?.find("\n---")?;
    let mut start = nl;
    while start > from && is_space(b[start - 1]) {
        start -= 1;
    }
    Some((start, after_dashes(nl + 1)))
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
    fn split_agrees_with_the_separator_pattern() {
        let re = regex_lite::Regex::new(r"(?:^|\s*\n)---\s*").unwrap();
        let texts = [
            "",
            "---",
            "---\na: 1",
            "  ---\na: 1",
            "a: 1\n---",
            "a: 1\n--- \n\n---\nb: 2",
            "a: |\n  ---\n  x\n---\nb",
            "a\n \t\n---x\n----\n\x0b\n---\x0c\r\nz",
            "x---y\n---",
            "\n\n---\n---\n",
            "a\r\n---\r\nb",
            "é\n---\nü",
        ];
        for t in texts {
            let want: Vec<String> = re
                .split(t)
                .map(|d| d.trim_start().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            assert_eq!(split(t), want, "{t:?}");
        }
    }

    #[test]
    fn unknown_kinds_go_last_in_name_order() {
        assert!(less("Namespace", "Deployment"));
        assert!(less("Ingress", "Zebra"));
        assert!(less("Alpha", "Zebra"));
        assert!(!less("Zebra", "Service"));
    }
}
