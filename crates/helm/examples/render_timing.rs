//! Native timing of a chart render with `kiln-helm` (no WebAssembly, no
//! host): the engine's own cost, to compare with `cargo bench --bench helm`.
//!
//! Run: `cargo run --release -p kiln-helm --example render_timing [chart] [release] [namespace] [iterations]`
//! (chart is a folder of `tests/helm/charts`; default `app web prod 2000`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use kiln_helm::{Files, Options, ValueSources};

struct Dir(PathBuf);

impl Files for Dir {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let p = self.0.join(path);
        if p.is_file() {
            std::fs::read(&p).map(Some).map_err(|e| e.to_string())
        } else {
            Ok(None)
        }
    }
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        let p = self.0.join(path);
        if !p.is_dir() {
            return Ok(None);
        }
        let mut names = Vec::new();
        for e in std::fs::read_dir(&p).map_err(|e| e.to_string())? {
            names.push(
                e.map_err(|e| e.to_string())?
                    .file_name()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        Ok(Some(names))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let chart = format!("charts/{}", arg(0, "app"));
    let release = arg(1, "web");
    let namespace = arg(2, "prod");
    let n: usize = arg(3, "2000").parse().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm");
    let files = Dir(root);
    let render = || {
        let values = kiln_helm::user_values(&files, &chart, &ValueSources::default()).unwrap();
        let opts = Options {
            release_name: release.clone(),
            namespace: namespace.clone(),
            values,
            ..Options::default()
        };
        let r = kiln_helm::render(&files, &chart, &opts).unwrap();
        r.objects()
    };
    let objects = render().len();
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(render());
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{chart}: {objects} objects, median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms over {n}",
        ms(times[n / 2]),
        ms(times[n / 10]),
        ms(times[n * 9 / 10])
    );
}
