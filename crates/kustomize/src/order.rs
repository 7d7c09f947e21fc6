//! Output order: Kustomize's legacy kind order (the default), a custom
//! legacy order from `sortOptions`, or `fifo` (as accumulated).

use serde_json::Value;

use crate::{
    Error, builtin_config as config,
    resource::{ResId, Resource},
};

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
    pub fn sort(&self, resources: &mut Vec<Resource>) {
        let Order::Legacy { first, last } = self else {
            return;
        };
        let mut keyed: Vec<(ResId, Resource)> = resources.drain(..).map(|r| (r.id(), r)).collect();
        keyed.sort_by(|(a, _), (b, _)| config::legacy_cmp(&legacy(a), &legacy(b), first, last));
        resources.extend(keyed.into_iter().map(|(_, r)| r));
    }
}

fn legacy(id: &ResId) -> config::LegacyId<'_> {
    config::LegacyId {
        group: &id.group,
        version: &id.version,
        kind: &id.kind,
        namespace: &id.namespace,
        name: &id.name,
    }
}
