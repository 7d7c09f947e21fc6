//! Kiln's rendered objects as Argo CD's repo-server returns them: lists
//! expanded, tracking applied, each object one JSON text in Go's encoding.

use serde_json::Value;

use crate::{Error, gojson, tracking::Tracking};

/// Turns the pipeline's manifests into `ManifestResponse.manifests`.
pub fn to_argo(manifests: &[String], tracking: &Tracking<'_>) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(manifests.len());
    for text in manifests {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("a renderer returned invalid JSON: {e}")))?;
        for mut obj in expand(value) {
            tracking.apply(&mut obj).map_err(Error::Tracking)?;
            out.push(gojson::to_string(&obj));
        }
    }
    Ok(out)
}

/// An object with an `items` array is a list and stands for its items; one
/// with `items: null` (and no spec or status) for nothing, as in Argo CD.
fn expand(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Object(mut map) => match map.get("items") {
            Some(Value::Array(_)) => match map.remove("items") {
                Some(Value::Array(items)) => items.into_iter().filter(Value::is_object).collect(),
                _ => Vec::new(),
            },
            Some(Value::Null) if !map.contains_key("spec") && !map.contains_key("status") => {
                Vec::new()
            }
            _ => vec![Value::Object(map)],
        },
        other => vec![other],
    }
}

/// Every container image the objects use, sorted (duplicates kept), found
/// as Argo CD finds them for a kustomization's details.
pub fn images(manifests: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for text in manifests {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            collect_images(&v, &mut out);
        }
    }
    out.sort();
    out
}

fn collect_images(v: &Value, out: &mut Vec<String>) {
    let Value::Object(map) = v else { return };
    for (k, v) in map {
        match v {
            Value::Array(items) if k == "containers" || k == "initContainers" => {
                for c in items {
                    if let Some(image) = c.get("image") {
                        out.push(match image {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect_images(i, out)),
            Value::Object(_) => collect_images(v, out),
            _ => {}
        }
    }
}
