//! Kustomize engine benchmark: Kiln's kustomize plugin (instance warm, no
//! render cache) against the `kubectl kustomize` process on the same
//! overlays, in the same run, with the output checked byte for byte.
//!
//! Two overlays: a small one (base + overlay, 3 objects, a generator, an
//! image change) and a large one (≥ 200 objects, components, patches by
//! selector, generators). Time: median of repeated runs. Memory: peak
//! resident set of a whole `kubectl kustomize` process against a whole
//! `kiln render` process (compiled-plugin cache warm), read by GNU time.
//!
//! Run: `cargo bench --bench kustomize` (needs `kubectl` and `/usr/bin/time`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::{RenderInput, Renderer, manifests_to_yaml};
use kiln_source::{FsBackend, Locked, ReadLimits, Tree};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      serviceAccountName: {name}
      containers:
      - name: app
        image: {image}
        ports:
        - containerPort: 8080
          name: http
        envFrom:
        - configMapRef:
            name: {name}-settings
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
"
    )
}

fn service(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - name: http
    port: 80
    targetPort: http
"
    )
}

/// Base + overlay: a Deployment and a Service, a generated ConfigMap, a new
/// image tag.
fn small(root: &Path) -> &'static str {
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n- deployment.yaml\n- service.yaml\n",
    );
    write(
        root,
        "base/deployment.yaml",
        &deployment("web", "registry.example.com/web:1.0.0"),
    );
    write(root, "base/service.yaml", &service("web"));
    write(
        root,
        "overlays/prod/kustomization.yaml",
        "resources:
- ../../base
namespace: prod
configMapGenerator:
- name: web-settings
  literals:
  - LOG_LEVEL=info
  - REGION=eu-west-1
images:
- name: registry.example.com/web
  newTag: 1.4.2
",
    );
    "overlays/prod"
}

/// 70 services of three objects each in a base, a component adding a
/// sidecar and labels, and an overlay with patches by selector, JSON 6902
/// patches, a generator, images, replicas, prefix and namespace.
fn large(root: &Path) -> &'static str {
    let mut base = String::from("resources:\n");
    for i in 0..70 {
        let name = format!("svc-{i:02}");
        let tier = ["frontend", "backend", "batch"][i % 3];
        write(
            root,
            &format!("base/{name}/deployment.yaml"),
            &deployment(&name, &format!("registry.example.com/{tier}:2.{i}.0")),
        );
        write(root, &format!("base/{name}/service.yaml"), &service(&name));
        write(
            root,
            &format!("base/{name}/serviceaccount.yaml"),
            &format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"),
        );
        write(
            root,
            &format!("base/{name}/kustomization.yaml"),
            &format!(
                "resources:\n- deployment.yaml\n- service.yaml\n- serviceaccount.yaml\nlabels:\n- pairs:\n    tier: {tier}\n  includeSelectors: false\nconfigMapGenerator:\n- name: {name}-settings\n  literals:\n  - SERVICE={name}\n  - TIER={tier}\n"
            ),
        );
        writeln!(base, "- {name}").unwrap();
    }
    write(root, "base/kustomization.yaml", &base);
    write(
        root,
        "components/monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
commonAnnotations:
  prometheus.io/scrape: \"true\"
patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: metrics-agent
            image: registry.example.com/agent:0.9.1
            ports:
            - containerPort: 9100
              name: metrics
",
    );
    write(
        root,
        "overlays/prod/kustomization.yaml",
        "resources:
- ../../base
components:
- ../../components/monitoring
namespace: prod
namePrefix: prod-
labels:
- pairs:
    env: prod
  includeSelectors: true
patches:
- target:
    kind: Deployment
    labelSelector: tier=frontend
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 4
- target:
    kind: Deployment
    labelSelector: tier=backend
  path: backend-resources.yaml
configMapGenerator:
- name: shared-settings
  literals:
  - CLUSTER=prod-eu
  - FEATURE_FLAGS=a,b,c
images:
- name: registry.example.com/agent
  newTag: 0.9.3
- name: registry.example.com/batch
  digest: sha256:0f3e8a1c2b4d6e8f0a1c2b4d6e8f0a1c2b4d6e8f0a1c2b4d6e8f0a1c2b4d6e8f
replicas:
- name: prod-svc-00
  count: 6
",
    );
    write(
        root,
        "overlays/prod/backend-resources.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          limits:
            cpu: \"1\"
            memory: 512Mi
",
    );
    "overlays/prod"
}

fn kubectl(root: &Path, app: &str) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(root.join(app))
        .output()
        .expect("kubectl on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Peak resident set of one run of a command, in KiB, by GNU time.
fn peak_rss_kib(cmd: &mut Command) -> u64 {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .rev()
        .find_map(|l| l.strip_prefix("maxrss="))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

struct Figures {
    objects: usize,
    kiln: Duration,
    kubectl: Duration,
    kiln_rss: u64,
    kubectl_rss: u64,
}

fn measure(renderer: &dyn Renderer, root: &Path, app: &str, cache: &Path) -> Figures {
    let want = kubectl(root, app);
    let empty = BTreeMap::new();
    let render = || {
        let input = RenderInput {
            app_path: app,
            parameters: &empty,
            namespace: "",
            source: Arc::new(Locked::new(Tree::new(
                FsBackend::open(root).unwrap(),
                ReadLimits::default(),
            ))),
            seed: [0; 32],
        };
        let objects = renderer.render(&input).unwrap();
        (objects.len(), manifests_to_yaml(&objects).unwrap())
    };
    let (objects, got) = render();
    if got != want {
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("kustomize-bench-kiln.yaml"), &got).unwrap();
        std::fs::write(dir.join("kustomize-bench-kubectl.yaml"), &want).unwrap();
        panic!(
            "Kiln and kubectl kustomize differ on {}; compare {}/kustomize-bench-{{kiln,kubectl}}.yaml",
            root.display(),
            dir.display()
        );
    }

    let mut kiln = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        std::hint::black_box(render());
        kiln.push(t.elapsed());
    }
    let mut kube = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        std::hint::black_box(kubectl(root, app));
        kube.push(t.elapsed());
    }

    let kubectl_rss = peak_rss_kib(
        Command::new("/usr/bin/time")
            .args(["-f", "maxrss=%M", "kubectl", "kustomize"])
            .arg(root.join(app)),
    );
    let kiln_cmd = || {
        let mut c = Command::new("/usr/bin/time");
        c.args([
            "-f",
            "maxrss=%M",
            env!("CARGO_BIN_EXE_kiln"),
            "render",
            "--root",
        ])
        .arg(root)
        .arg(root.join(app))
        .env("KILN_CLI_CACHE_DIR", cache);
        c
    };
    // The first run fills the compiled-plugin cache.
    peak_rss_kib(&mut kiln_cmd());
    let kiln_rss = peak_rss_kib(&mut kiln_cmd());
    Figures {
        objects,
        kiln: median(kiln),
        kubectl: median(kube),
        kiln_rss,
        kubectl_rss,
    }
}

fn main() {
    let host = PluginHost::new(PluginLimits::default(), None).unwrap();
    let builtin = kiln_plugins_builtin::BUILTINS
        .iter()
        .find(|b| b.name == "kustomize")
        .unwrap();
    let kustomize = host.load(builtin.wasm, "builtin:kustomize").unwrap();
    let cache = tempfile::tempdir().unwrap();

    let small_dir = tempfile::tempdir().unwrap();
    let small_app = small(small_dir.path());
    let s = measure(&kustomize, small_dir.path(), small_app, cache.path());
    let large_dir = tempfile::tempdir().unwrap();
    let large_app = large(large_dir.path());
    let l = measure(&kustomize, large_dir.path(), large_app, cache.path());
    assert!(l.objects >= 200, "large overlay has {} objects", l.objects);

    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    let mib = |k: u64| format!("{:.1} MiB", k as f64 / 1024.0);
    println!(
        "| overlay | objects | Kiln plugin, median | `kubectl kustomize`, median | speed-up | peak RSS `kiln render` | peak RSS `kubectl kustomize` |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, f) in [("small", &s), ("large", &l)] {
        println!(
            "| {name} | {} | {} | {} | {:.1}× | {} | {} |",
            f.objects,
            ms(f.kiln),
            ms(f.kubectl),
            f.kubectl.as_secs_f64() / f.kiln.as_secs_f64(),
            mib(f.kiln_rss),
            mib(f.kubectl_rss),
        );
    }
}
