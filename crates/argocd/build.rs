//! Compiles `proto/argocd/` with protox (pure Rust, no system protoc) and
//! generates the `repository.RepoServerService` server and client.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto/argocd");
    let files = [
        "repository/repository.proto",
        "v1alpha1/application.proto",
        "k8s/meta_v1.proto",
        "k8s/runtime.proto",
        "k8s/intstr.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(["repository/repository.proto"], [&root])?;
    tonic_prost_build::configure()
        .codec_path("kiln_proto::codec::StrictCodec")
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
