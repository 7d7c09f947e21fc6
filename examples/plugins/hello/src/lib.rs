//! A Kiln renderer plugin: turns an app folder's `hello.yaml` into a
//! ConfigMap per greeting. Copy this folder to start your own.
//!
//! ```yaml
//! # hello.yaml
//! greetings:
//!   - name: world
//!     message: Hello, world
//! ```

use kiln_plugin_sdk::{
    Description, Error, GenerateRequest, Plugin, Value, export_plugin, log, source,
};

struct Hello;

impl Plugin for Hello {
    fn describe() -> Description {
        Description::new("hello", env!("CARGO_PKG_VERSION"))
            .with_markers(["hello.yaml"])
            .with_parameter("prefix", "text put before every message")
    }

    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
        let path = source::join(&req.app_path, "hello.yaml")?;
        let text = source::read_to_string(&path)?;
        let config: Value = kiln_plugin_sdk::manifests::parse_yaml(&path, &text)?;
        let prefix = req.param("prefix").unwrap_or("");
        let mut out = Vec::new();
        for g in config["greetings"].as_array().into_iter().flatten() {
            let name = g["name"]
                .as_str()
                .ok_or_else(|| Error::invalid(&path, "every greeting needs a name"))?;
            let message = g["message"].as_str().unwrap_or("hello");
            log::debug(&format!("greeting {name}"));
            let mut metadata = serde_json_object([("name", Value::from(format!("hello-{name}")))]);
            if !req.namespace.is_empty() {
                metadata.insert("namespace".into(), Value::from(req.namespace.clone()));
            }
            out.push(Value::Object(serde_json_object([
                ("apiVersion", Value::from("v1")),
                ("kind", Value::from("ConfigMap")),
                ("metadata", Value::Object(metadata)),
                (
                    "data",
                    Value::Object(serde_json_object([(
                        "message",
                        Value::from(format!("{prefix}{message}")),
                    )])),
                ),
            ])));
        }
        Ok(out)
    }
}

fn serde_json_object<const N: usize>(
    pairs: [(&str, Value); N],
) -> kiln_plugin_sdk::Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

export_plugin!(Hello);
