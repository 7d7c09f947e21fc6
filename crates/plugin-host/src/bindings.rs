//! Host bindings of the WIT world; generated here and nowhere else.

wasmtime::component::bindgen!({
    path: "../../proto/wit",
    world: "plugin",
});
