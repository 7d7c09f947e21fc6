//! Argo CD's resource tracking, applied to each rendered object as its
//! repo-server does: the `argocd.argoproj.io/tracking-id` annotation
//! (`<app>:<group>/<Kind>:<namespace>/<name>`), the app label under the
//! request's `appLabelKey`, or both, per `trackingMethod`.

use serde_json::{Map, Value};

/// Annotation holding the tracking id.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Annotation holding the Argo CD installation id.
pub const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";
/// The legacy label key whose value Argo CD also writes into pod templates.
const LEGACY_APP_LABEL: &str = "applications.argoproj.io/app-name";
/// Longest label value Kubernetes accepts.
const LABEL_MAX: usize = 63;

/// How Argo CD tracks which application owns an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingMethod {
    /// The tracking-id annotation (Argo CD's default).
    Annotation,
    /// The app label only.
    Label,
    /// The annotation and the (truncated) label.
    AnnotationAndLabel,
}

impl TrackingMethod {
    /// Reads the request's `trackingMethod`; unknown or empty is the default.
    pub fn parse(s: &str) -> Self {
        match s {
            "label" => TrackingMethod::Label,
            "annotation+label" => TrackingMethod::AnnotationAndLabel,
            _ => TrackingMethod::Annotation,
        }
    }
}

/// What to write on each object of one application.
#[derive(Clone, Debug)]
pub struct Tracking<'a> {
    /// The request's `appLabelKey`.
    pub label_key: &'a str,
    /// The application's instance name.
    pub app_name: &'a str,
    /// Namespace for objects that name none (the destination namespace).
    pub namespace: &'a str,
    /// The tracking method.
    pub method: TrackingMethod,
    /// The Argo CD installation id, if any.
    pub installation_id: &'a str,
}

impl Tracking<'_> {
    /// Marks `obj` as Argo CD would; CRDs, and every object when the label
    /// key or app name is empty, are left alone.
    pub fn apply(&self, obj: &mut Value) -> Result<(), String> {
        if self.label_key.is_empty() || self.app_name.is_empty() || is_crd(obj) {
            return Ok(());
        }
        match self.method {
            TrackingMethod::Label => self.set_label(obj, self.app_name),
            TrackingMethod::Annotation => self.set_annotation(obj),
            TrackingMethod::AnnotationAndLabel => {
                self.set_annotation(obj)?;
                let value = truncate_label(self.app_name)?;
                self.set_label(obj, &value)
            }
        }
    }

    fn set_annotation(&self, obj: &mut Value) -> Result<(), String> {
        let id = tracking_id(obj, self.app_name, self.namespace);
        let map = string_map(obj, "annotations")?;
        if self.installation_id.is_empty() {
            map.remove(INSTALLATION_ID);
        } else {
            map.insert(INSTALLATION_ID.into(), self.installation_id.into());
        }
        map.insert(TRACKING_ID.into(), id.into());
        Ok(())
    }

    fn set_label(&self, obj: &mut Value, value: &str) -> Result<(), String> {
        string_map(obj, "labels")?.insert(self.label_key.into(), value.into());
        if self.label_key == LEGACY_APP_LABEL {
            label_pod_template(obj, self.label_key, value);
        }
        Ok(())
    }
}

/// `<app>:<group>/<Kind>:<namespace>/<name>`, the namespace defaulting to
/// the destination namespace.
pub fn tracking_id(obj: &Value, app: &str, namespace: &str) -> String {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let group = text("/apiVersion").rsplit_once('/').map_or("", |(g, _)| g);
    let ns = match text("/metadata/namespace") {
        "" => namespace,
        ns => ns,
    };
    format!(
        "{app}:{group}/{}:{ns}/{}",
        text("/kind"),
        text("/metadata/name")
    )
}

fn is_crd(obj: &Value) -> bool {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    text("/kind") == "CustomResourceDefinition"
        && text("/apiVersion").starts_with("apiextensions.k8s.io/")
}

/// `metadata.<field>` as a string map, created when missing or null; an
/// error when it holds anything but strings (as Argo CD refuses it).
fn string_map<'v>(obj: &'v mut Value, field: &str) -> Result<&'v mut Map<String, Value>, String> {
    let describe = describe(obj);
    let Value::Object(root) = obj else {
        return Err(format!("{describe}: the manifest is not an object"));
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    let Value::Object(meta) = meta else {
        return Err(format!("{describe}: metadata is not an object"));
    };
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if map.is_null() {
        *map = Value::Object(Map::new());
    }
    match map {
        Value::Object(m) if m.values().all(Value::is_string) => Ok(m),
        _ => Err(format!(
            "failed to get {field} from target object {describe}: metadata.{field} must be a map of strings"
        )),
    }
}

fn describe(obj: &Value) -> String {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    format!(
        "{} {}/{}",
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

/// Shortens a label value to 63 bytes ending in an alphanumeric character.
fn truncate_label(value: &str) -> Result<String, String> {
    if value.len() <= LABEL_MAX {
        return Ok(value.to_owned());
    }
    let mut end = LABEL_MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut v = &value[..end];
    while !v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()) {
        if v.len() <= 1 {
            return Err(
                "failed to set app instance label: unable to truncate label to not end with a special character".into(),
            );
        }
        let mut cut = v.len() - 1;
        while !v.is_char_boundary(cut) {
            cut -= 1;
        }
        v = &v[..cut];
    }
    Ok(v.to_owned())
}

/// The legacy label also goes on the pod template of workloads, as Argo CD
/// did before v0.11 and still does for that key.
fn label_pod_template(obj: &mut Value, key: &str, value: &str) {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let api_version = text("/apiVersion").to_owned();
    let kind = text("/kind").to_owned();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let workload = matches!(group, "apps" | "extensions")
        && matches!(
            kind.as_str(),
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        );
    let job = group == "batch" && kind == "Job";
    if !workload && !job {
        return;
    }
    let Some(labels) = ensure_object(obj, &["spec", "template", "metadata", "labels"]) else {
        return;
    };
    labels.insert(key.into(), value.into());
    let template_labels = labels.clone();
    if workload && matches!(api_version.as_str(), "apps/v1beta1" | "extensions/v1beta1") {
        let selector_empty = obj
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if selector_empty {
            let mut match_labels = template_labels;
            match_labels.remove(key);
            if let Some(sel) = ensure_object(obj, &["spec", "selector"]) {
                sel.insert("matchLabels".into(), Value::Object(match_labels));
            }
        }
    }
}

fn ensure_object<'v>(obj: &'v mut Value, path: &[&str]) -> Option<&'v mut Map<String, Value>> {
    let mut cur = obj;
    for seg in path {
        let map = cur.as_object_mut()?;
        let next = map.entry(*seg).or_insert_with(|| Value::Object(Map::new()));
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        cur = next;
    }
    cur.as_object_mut()
}
