//! The Kiln plugin SDK: what a renderer plugin depends on.
//!
//! A plugin is a type implementing [`Plugin`] and one [`export_plugin!`] line,
//! built with `cargo build --release --target wasm32-wasip2`. The SDK hides the
//! WIT plumbing of the `kiln:plugin@0.1.0` world (`proto/wit/plugin.wit`),
//! reads the source tree through [`source`], logs through [`log`], and parses
//! YAML/JSON manifests with [`manifests`]. It runs inside the sandbox and
//! does no IO of its own.
//!
//! ```no_run
//! use kiln_plugin_sdk::{Description, Error, GenerateRequest, Plugin, Value, export_plugin, manifests, source};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn describe() -> Description {
//!         Description::new("hello", env!("CARGO_PKG_VERSION")).with_markers(["hello.yaml"])
//!     }
//!     fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
//!         let path = source::join(&req.app_path, "hello.yaml")?;
//!         manifests::parse(&path, &source::read_file(&path)?)
//!     }
//! }
//!
//! export_plugin!(Hello);
//! ```

#![deny(unsafe_code)]

extern crate self as kiln_plugin_sdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Bindings generated from the WIT world; plugin code rarely needs them.
#[allow(unsafe_code)] // generated ABI glue; the SDK's own code has none
pub mod bindings {
    #![allow(missing_docs, clippy::all)]
    wit_bindgen::generate!({
        path: "../../proto/wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_renderer",
        default_bindings_module: "::kiln_plugin_sdk::bindings",
        runtime_path: "::kiln_plugin_sdk::__wit_bindgen::rt",
    });
}

mod error;
pub mod krm;
pub mod log;
pub mod manifests;
pub mod source;

pub use self::bindings::kiln::plugin::types::{
    Description, DirEntry, EntryKind, Error, ErrorKind, GenerateRequest, Param, ParameterSpec,
    ResourceList, ResultItem, Severity,
};
pub use serde_json::{Map, Value};

/// The interface version this SDK builds plugins for.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// A renderer plugin. Implement `describe` and `generate`; transformers also
/// implement `transform`.
pub trait Plugin {
    /// Who the plugin is and what it renders.
    fn describe() -> Description;

    /// Renders the app at `req.app_path` into Kubernetes objects.
    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error>;

    /// Transforms a KRM ResourceList; the default says the plugin is not a transformer.
    fn transform(input: ResourceList) -> Result<ResourceList, Error> {
        let _ = input;
        Err(Error::new(
            ErrorKind::Unsupported,
            None,
            "this plugin is not a transformer",
        ))
    }
}

impl Description {
    /// A description with no markers, no parameters, not a transformer.
    pub fn new(name: &str, version: &str) -> Self {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            interface_version: INTERFACE_VERSION.to_owned(),
            markers: Vec::new(),
            parameters: Vec::new(),
            transformer: false,
        }
    }

    /// Sets the file names that mark an app this plugin renders.
    pub fn with_markers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, markers: I) -> Self {
        self.markers = markers.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an optional parameter.
    pub fn with_parameter(mut self, name: &str, description: &str) -> Self {
        self.parameters.push(ParameterSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            required: false,
        });
        self
    }

    /// Marks the plugin as a transformer.
    pub fn transformer(mut self) -> Self {
        self.transformer = true;
        self
    }
}

impl GenerateRequest {
    /// The value of a parameter, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }
}

/// Serialises objects to the JSON strings the host expects.
pub fn to_json_strings(objects: &[Value]) -> Result<Vec<String>, Error> {
    objects
        .iter()
        .map(|o| {
            serde_json::to_string(o).map_err(|e| {
                Error::new(ErrorKind::Internal, None, format!("cannot serialise: {e}"))
            })
        })
        .collect()
}

/// Exports a [`Plugin`] implementation as the component's `renderer`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __KilnPluginExport;

        impl $crate::bindings::exports::kiln::plugin::renderer::Guest for __KilnPluginExport {
            fn describe() -> $crate::Description {
                <$plugin as $crate::Plugin>::describe()
            }
            fn generate(request: $crate::GenerateRequest) -> Result<Vec<String>, $crate::Error> {
                let objects = <$plugin as $crate::Plugin>::generate(request)?;
                $crate::to_json_strings(&objects)
            }
            fn transform(input: $crate::ResourceList) -> Result<$crate::ResourceList, $crate::Error> {
                <$plugin as $crate::Plugin>::transform(input)
            }
        }

        $crate::bindings::__export_renderer!(__KilnPluginExport with_types_in $crate::bindings);
    };
}
