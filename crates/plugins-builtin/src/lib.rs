//! Kiln's built-in plugins as WebAssembly component bytes, built from
//! `plugins/` by this crate's build script. The same loader runs these and
//! third-party plugins; nothing here is special but where the bytes come from.

#![forbid(unsafe_code)]

/// A built-in plugin: its file name and component bytes.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// Name used in messages (`builtin:NAME`).
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

/// Every built-in renderer, in load order.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "directory",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_directory.wasm")),
    },
    Builtin {
        name: "helm",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_helm.wasm")),
    },
    Builtin {
        name: "kustomize",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_kustomize.wasm")),
    },
    Builtin {
        name: "set-labels",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_set_labels.wasm")),
    },
];

/// Plugins that exist only for Kiln's tests.
pub mod testing {
    /// A plugin that loops, hogs memory, floods output, panics or tries to
    /// escape its sandbox, depending on its `mode` parameter.
    pub const HOSTILE: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_hostile.wasm"));
    /// The template plugin of `examples/plugins/hello`, built as an author would.
    pub const HELLO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kiln_plugin_hello.wasm"));
}
