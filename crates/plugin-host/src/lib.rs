//! Runs Kiln's renderer plugins: WebAssembly components of the
//! `kiln:plugin@0.1.0` world (`proto/wit/plugin.wit`), in wasmtime.
//!
//! [`PluginHost`] owns one wasmtime engine (component model, pooling
//! allocator, epoch interruption) and a compiled-code cache on disk.
//! [`PluginHost::load`] turns component bytes into a [`PluginRenderer`], which
//! implements [`kiln_render::Renderer`]: every call gets a fresh instance with
//! a memory limit, a CPU deadline, an output limit, the source tree as its
//! only input, and a WASI with no files, no sockets, no environment, a clock
//! fixed to the commit time and randomness seeded from the render's inputs.
//! What each limit bounds, and what it does not, is in [`PluginLimits`].
//!
//! It does not decide which plugins exist; the binary loads the built-in
//! ones and those of `--plugin-dir`.
//!
//! ```no_run
//! use kiln_plugin_host::{PluginHost, PluginLimits};
//! use kiln_render::Renderer;
//! # fn run(bytes: &[u8]) -> Result<(), kiln_plugin_host::Error> {
//! let host = PluginHost::new(PluginLimits::default(), Some("/var/cache/kiln/plugins".into()))?;
//! let plugin = host.load(bytes, "my-plugin.wasm")?;
//! println!("{} {} sha256:{}", plugin.info().name, plugin.info().version, plugin.info().digest);
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]

mod bindings;
mod compiled;
mod error;
mod gate;
mod host;
mod limits;
mod plugin;
mod state;

pub use self::{error::Error, host::PluginHost, limits::PluginLimits, plugin::PluginRenderer};

/// The interface version this host implements.
pub const INTERFACE_VERSION: &str = "0.1.0";
