//! Output order: Kustomize's legacy kind order (the default), a custom
//! legacy order from `sortOptions`, or `fifo` (as accumulated).

use serde_json::Value;

use crate::{Error, builtin_config as config, resource::Resource};

/// How the top kustomization wants objects ordered.
pub(crate) enum Order {
    Legacy {
        first: Vec<String>,
        last: Vec<String>,
    },
    Fifo,
}

impl Order {
    /// Reads `sortOptions`.
    pub fn from_options(file: &str, opts: Option<&Value>) -> Result<Order, Error> {
        let default = || Order::Legacy {
            first: config::LEGACY_ORDER_FIRST
                .iter()
                .map(|s| s.to_string())
                .collect(),
            last: config::LEGACY_ORDER_LAST
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let Some(opts) = opts else {
            return Ok(default());
        };
        let bad = |cause: String| Error::Entry {
            file: file.to_owned(),
            field: "sortOptions".into(),
            entry: opts.to_string(),
            cause,
        };
        match opts.get("order").and_then(Value::as_str) {
            Some("fifo") => {
                if opts.get("legacySortOptions").is_some() {
                    return Err(bad(
                        "legacySortOptions may only be set with order: legacy".into()
                    ));
                }
                Ok(Order::Fifo)
            }
            Some("legacy") | None => {
                let Some(l) = opts.get("legacySortOptions") else {
                    return Ok(default());
                };
                let list = |k: &str| -> Vec<String> {
                    l.get(k)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                Ok(Order::Legacy {
                    first: list("orderFirst"),
                    last: list("orderLast"),
                })
            }
            Some(other) => Err(bad(format!(
                "unknown sort order '{other}' (legacy or fifo)"
            ))),
        }
    }

    /// Sorts the objects.
    pub fn sort(&self, resources: &mut [Resource]) {
        let Order::Legacy { first, last } = self else {
            return;
        };
        let ids: Vec<crate::resource::ResId> = resources.iter().map(Resource::id).collect();
        let mut idx: Vec<usize> = (0..resources.len()).collect();
        let legacy = |i: usize| config::LegacyId {
            group: &ids[i].group,
            version: &ids[i].version,
            kind: &ids[i].kind,
            namespace: &ids[i].namespace,
            name: &ids[i].name,
        };
        idx.sort_by(|&a, &b| config::legacy_cmp(&legacy(a), &legacy(b), first, last));
        let sorted: Vec<Resource> = idx.iter().map(|&i| resources[i].clone()).collect();
        for (slot, r) in resources.iter_mut().zip(sorted) {
            *slot = r;
        }
    }
}
