//! A thin shim for KRM functions (the kpt / kustomize function
//! specification): a function written against the standard ResourceList
//! object (`apiVersion: config.kubernetes.io/v1`, `kind: ResourceList`,
//! `items`, `functionConfig`, `results`) runs as a Kiln transformer unchanged.
//!
//! ```no_run
//! use kiln_plugin_sdk::{Value, krm};
//! fn my_function(list: &mut Value) -> Result<(), String> {
//!     for item in list["items"].as_array_mut().into_iter().flatten() {
//!         item["metadata"]["annotations"]["touched"] = Value::from("yes");
//!     }
//!     Ok(())
//! }
//! # fn transform(input: kiln_plugin_sdk::ResourceList) -> Result<kiln_plugin_sdk::ResourceList, kiln_plugin_sdk::Error> {
//! krm::run(input, my_function)
//! # }
//! ```

use serde_json::{Map, Value, json};

use crate::{Error, ErrorKind, ResourceList, ResultItem, Severity};

/// Builds the standard ResourceList object from the host's record.
pub fn to_resource_list(input: &ResourceList) -> Result<Value, Error> {
    let items = input
        .items
        .iter()
        .map(|s| serde_json::from_str(s))
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                None,
                format!("host sent an invalid item: {e}"),
            )
        })?;
    let mut list = Map::new();
    list.insert("apiVersion".into(), Value::from("config.kubernetes.io/v1"));
    list.insert("kind".into(), Value::from("ResourceList"));
    list.insert("items".into(), Value::Array(items));
    if let Some(cfg) = &input.function_config {
        let cfg: Value = serde_json::from_str(cfg).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                None,
                format!("functionConfig is not JSON: {e}"),
            )
        })?;
        list.insert("functionConfig".into(), cfg);
    }
    Ok(Value::Object(list))
}

/// Reads the host's record back from a standard ResourceList object.
pub fn from_resource_list(list: &Value) -> Result<ResourceList, Error> {
    let bad = |m: &str| {
        Error::new(
            ErrorKind::Internal,
            None,
            format!("the function returned {m}"),
        )
    };
    let items = list["items"]
        .as_array()
        .ok_or_else(|| bad("a ResourceList without items"))?
        .iter()
        .map(|i| serde_json::to_string(i).map_err(|_| bad("an unserialisable item")))
        .collect::<Result<_, _>>()?;
    let results = list["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let reference = &r["resourceRef"];
            ResultItem {
                severity: match r["severity"].as_str() {
                    Some("error") => Severity::Error,
                    Some("warning") => Severity::Warning,
                    _ => Severity::Info,
                },
                message: r["message"].as_str().unwrap_or_default().to_owned(),
                resource_ref: reference.is_object().then(|| {
                    format!(
                        "{}/{}/{}/{}",
                        reference["apiVersion"].as_str().unwrap_or_default(),
                        reference["kind"].as_str().unwrap_or_default(),
                        reference["namespace"].as_str().unwrap_or_default(),
                        reference["name"].as_str().unwrap_or_default()
                    )
                }),
                field: r["field"]["path"].as_str().map(str::to_owned),
            }
        })
        .collect();
    Ok(ResourceList {
        items,
        function_config: list.get("functionConfig").map(Value::to_string),
        results,
    })
}

/// Runs a KRM function: converts in, calls `f`, converts out. A function
/// error becomes an error result, as KRM runners report it.
pub fn run(
    input: ResourceList,
    f: impl FnOnce(&mut Value) -> Result<(), String>,
) -> Result<ResourceList, Error> {
    let mut list = to_resource_list(&input)?;
    if let Err(message) = f(&mut list) {
        let results = list
            .as_object_mut()
            .map(|o| o.entry("results").or_insert_with(|| json!([])));
        if let Some(Value::Array(r)) = results {
            r.push(json!({"severity": "error", "message": message}));
        }
    }
    from_resource_list(&list)
}
