//! `set-labels`: a KRM function, written against the standard ResourceList
//! object as kpt functions are, run as a Kiln transformer through the SDK's
//! KRM shim. Its functionConfig is a ConfigMap-style `data` map (as kpt's
//! set-labels takes) or a `labels` map; every object gets those labels.

use kiln_plugin_sdk::{
    Description, Error, ErrorKind, GenerateRequest, Plugin, ResourceList, Value, export_plugin, krm,
};
use serde_json::json;

/// The KRM function itself: plain serde_json over a ResourceList.
fn set_labels(list: &mut Value) -> Result<(), String> {
    let config = list.get("functionConfig").cloned().unwrap_or(Value::Null);
    let labels = config
        .get("data")
        .or_else(|| config.get("labels"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or("functionConfig needs a `data` or `labels` map of label names to values")?;
    if let Some((k, _)) = labels.iter().find(|(_, v)| !v.is_string()) {
        return Err(format!("label {k}: the value must be a string"));
    }
    let mut touched = 0;
    for item in list["items"].as_array_mut().into_iter().flatten() {
        let Some(obj) = item.as_object_mut() else {
            continue;
        };
        let meta = obj.entry("metadata").or_insert_with(|| json!({}));
        let Some(meta) = meta.as_object_mut() else {
            continue;
        };
        let existing = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(existing) = existing.as_object_mut() {
            for (k, v) in &labels {
                existing.insert(k.clone(), v.clone());
            }
            touched += 1;
        }
    }
    list["results"] = json!([{"severity": "info", "message": format!("set {} label(s) on {touched} object(s)", labels.len())}]);
    Ok(())
}

struct SetLabels;

impl Plugin for SetLabels {
    fn describe() -> Description {
        Description::new("set-labels", env!("CARGO_PKG_VERSION")).transformer()
    }

    fn generate(_req: GenerateRequest) -> Result<Vec<Value>, Error> {
        Err(Error::new(
            ErrorKind::Unsupported,
            None,
            "set-labels is a transformer, not a generator",
        ))
    }

    fn transform(input: ResourceList) -> Result<ResourceList, Error> {
        krm::run(input, set_labels)
    }
}

export_plugin!(SetLabels);
