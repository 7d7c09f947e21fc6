//! The render: values, built-in objects, parsing every template of the
//! chart tree into one set, executing the non-partials, Helm's error wording.

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_gotmpl::{Error as TErr, MissingKey, SprigOptions, Templates, Value};
use serde_json::Map;

use crate::chart::Chart;
use crate::error::Error;
use crate::funcs::{self, to_tmpl};
use crate::objects::{ApiVersions, Capabilities, Files, KubeVersion};
use crate::{Options, schema, values};

/// Helm's default API versions (`helm template` without a cluster).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

struct Tpl {
    text: String,
    base_path: String,
    scope: BTreeMap<String, Value>,
    render: bool,
}

fn kube_version(v: &str, file: &str) -> Result<KubeVersion, Error> {
    let t = v.trim_start_matches('v');
    let mut parts = t.splitn(3, '.');
    let num = |p: Option<&str>| -> Option<u64> {
        let p = p?;
        let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
        p[..end].parse().ok()
    };
    let (Some(major), minor, patch) = (num(parts.next()), num(parts.next()), num(parts.next()))
    else {
        return Err(Error::Values {
            source_name: file.to_string(),
            message: format!("invalid kube version {v:?}"),
        });
    };
    let (minor, patch) = (minor.unwrap_or(0), patch.unwrap_or(0));
    Ok(KubeVersion {
        version: format!("v{major}.{minor}.{patch}"),
        major: major.to_string(),
        minor: minor.to_string(),
    })
}

fn chart_object(c: &Chart, is_root: bool) -> Value {
    let m = &c.metadata;
    let s = |k: &str| -> Value {
        match m.get(k) {
            Some(serde_json::Value::String(s)) => Value::from(s.as_str()),
            Some(serde_json::Value::Null) | None => Value::from(""),
            Some(v) => Value::from(v.to_string()),
        }
    };
    let list = |k: &str| match m.get(k) {
        Some(v @ serde_json::Value::Array(_)) => to_tmpl(v),
        _ => Value::list(Vec::new()),
    };
    let mut o = BTreeMap::new();
    o.insert("APIVersion".into(), s("apiVersion"));
    o.insert(
        "Annotations".into(),
        match m.get("annotations") {
            Some(v @ serde_json::Value::Object(_)) => to_tmpl(v),
            _ => Value::empty_map(),
        },
    );
    o.insert("AppVersion".into(), s("appVersion"));
    o.insert("Condition".into(), s("condition"));
    let deps = match m.get("dependencies") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|d| {
                let g = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
                let mut dm = BTreeMap::new();
                dm.insert("Name".into(), Value::from(g("name")));
                dm.insert("Version".into(), Value::from(g("version")));
                dm.insert("Repository".into(), Value::from(g("repository")));
                dm.insert("Condition".into(), Value::from(g("condition")));
                dm.insert("Alias".into(), Value::from(g("alias")));
                dm.insert("Enabled".into(), Value::Bool(true));
                dm.insert(
                    "Tags".into(),
                    d.get("tags")
                        .map(to_tmpl)
                        .unwrap_or(Value::list(Vec::new())),
                );
                Value::map(dm)
            })
            .collect(),
        _ => Vec::new(),
    };
    o.insert("Dependencies".into(), Value::list(deps));
    o.insert(
        "Deprecated".into(),
        Value::Bool(
            m.get("deprecated")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        ),
    );
    o.insert("Description".into(), s("description"));
    o.insert("Home".into(), s("home"));
    o.insert("Icon".into(), s("icon"));
    o.insert("IsRoot".into(), Value::Bool(is_root));
    o.insert("Keywords".into(), list("keywords"));
    o.insert("KubeVersion".into(), s("kubeVersion"));
    o.insert("Maintainers".into(), list("maintainers"));
    o.insert("Name".into(), s("name"));
    o.insert("Sources".into(), list("sources"));
    o.insert("Tags".into(), s("tags"));
    o.insert("Type".into(), s("type"));
    o.insert("Version".into(), s("version"));
    Value::map(o)
}

fn collect(
    c: &Chart,
    full_path: &str,
    vals: Value,
    common: &BTreeMap<String, Value>,
    is_root: bool,
    out: &mut BTreeMap<String, Tpl>,
) -> Value {
    let mut scope = common.clone();
    scope.insert("Chart".into(), chart_object(c, is_root));
    scope.insert(
        "Files".into(),
        Value::Object(Arc::new(Files {
            files: c.files.iter().cloned().collect(),
        })),
    );
    scope.insert("Values".into(), vals.clone());
    let mut subs = BTreeMap::new();
    for d in &c.dependencies {
        let sub_vals = match &vals {
            Value::Map(m) => match m.get(d.name()) {
                Some(v @ Value::Map(_)) => v,
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        };
        let sub_path = format!("{full_path}/charts/{}", d.name());
        let s = collect(d, &sub_path, sub_vals, common, false, out);
        subs.insert(d.name().to_string(), s);
    }
    scope.insert("Subcharts".into(), Value::map(subs));
    let render = !c.is_library();
    for (name, text) in &c.templates {
        out.insert(
            format!("{full_path}/{name}"),
            Tpl {
                text: text.clone(),
                base_path: format!("{full_path}/templates"),
                scope: scope.clone(),
                render,
            },
        );
    }
    Value::map(scope)
}

/// Renders the chart: every template's output by name (NOTES included).
pub fn render(chart: &mut Chart, opts: &Options) -> Result<Vec<(String, String)>, Error> {
    values::process_dependencies(chart, &opts.values);
    let vals = values::coalesce_values(chart, &opts.values);
    if !opts.skip_schema_validation {
        let mut msg = String::new();
        validate_tree(chart, &serde_json::Value::Object(vals.clone()), &mut msg);
        if !msg.is_empty() {
            return Err(Error::Schema { message: msg });
        }
    }
    let kube = kube_version(
        opts.kube_version
            .as_deref()
            .unwrap_or(crate::DEFAULT_KUBE_VERSION),
        "kube-version",
    )?;
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
    apis.extend(opts.api_versions.iter().cloned());
    let mut common = BTreeMap::new();
    let mut release = BTreeMap::new();
    release.insert("Name".into(), Value::from(opts.release_name.as_str()));
    release.insert("Namespace".into(), Value::from(opts.namespace.as_str()));
    release.insert("IsInstall".into(), Value::Bool(true));
    release.insert("IsUpgrade".into(), Value::Bool(false));
    release.insert("Revision".into(), Value::Int(1));
    release.insert("Service".into(), Value::from("Helm"));
    common.insert("Release".into(), Value::map(release));
    common.insert(
        "Capabilities".into(),
        Value::Object(Arc::new(Capabilities {
            kube: Arc::new(kube),
            apis: Arc::new(ApiVersions(apis)),
        })),
    );
    let mut tpls = BTreeMap::new();
    let name = chart.name().to_string();
    collect(
        chart,
        &name,
        to_tmpl(&serde_json::Value::Object(vals)),
        &common,
        true,
        &mut tpls,
    );
    let mut set = Templates::with_sprig_options(
        "gotpl",
        &SprigOptions {
            seed: opts.seed,
            now_unix: opts.now_unix,
        },
    );
    set.set_missing_key(MissingKey::Zero);
    funcs::register(&mut set);
    let mut keys: Vec<&String> = tpls.keys().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    for k in &keys {
        set.parse(k, &tpls[*k].text).map_err(|e| Error::Template {
            file: (*k).clone(),
            message: cleanup_parse_error(k, &e.to_string()),
        })?;
    }
    let mut out = Vec::new();
    for k in keys {
        let t = &tpls[k];
        let base = k.rsplit('/').next().unwrap_or(k);
        if base.starts_with('_') || !t.render {
            continue;
        }
        let mut scope = t.scope.clone();
        let mut tm = BTreeMap::new();
        tm.insert("Name".into(), Value::from(k.as_str()));
        tm.insert("BasePath".into(), Value::from(t.base_path.as_str()));
        scope.insert("Template".into(), Value::map(tm));
        let text = set
            .execute(k, &Value::map(scope))
            .map_err(|e| Error::Template {
                file: k.clone(),
                message: reformat_exec_error(&e),
            })?;
        out.push((k.clone(), text.replace("<no value>", "")));
    }
    Ok(out)
}

fn validate_tree(c: &Chart, vals: &serde_json::Value, msg: &mut String) {
    if let Some(s) = &c.schema
        && let Err(e) = schema::validate(s, vals)
    {
        msg.push_str(&format!("{}:\n{e}", c.name()));
    }
    for d in &c.dependencies {
        let empty = serde_json::Value::Object(Map::new());
        let sub = vals.get(d.name()).unwrap_or(&empty);
        validate_tree(d, sub, msg);
    }
}

/// Helm's `cleanupParseError`.
fn cleanup_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

#[derive(PartialEq)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

/// Helm's `parseTemplateExecErrorString`.
fn parse_exec_string(s: &str) -> Option<Traceable> {
    let rem = s.strip_prefix("template: ")?;
    if rem.starts_with("no template ") {
        return Some(Traceable {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    let cut = |m: &str| match m.find(" template:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    };
    if let Some((tname, after)) = rem.split_once(": executing ") {
        let after = after.strip_prefix('"')?;
        let end = after.find('"')?;
        let func = &after[..end];
        let after_at = after[end + 1..].strip_prefix(" at <")?;
        let (loc, msg) = after_at.split_once(">: ")?;
        return Some(Traceable {
            location: tname.to_string(),
            message: cut(msg),
            executed: format!("executing \"{func}\" at <{loc}>:"),
        });
    }
    let sep = rem.rfind(": ")?;
    Some(Traceable {
        location: rem[..sep].to_string(),
        message: cut(&rem[sep + 2..]),
        executed: String::new(),
    })
}

/// Helm's `reformatExecErrorMsg`.
fn reformat_exec_error(e: &TErr) -> String {
    let raw = e.to_string();
    let tokens: Vec<&str> = raw.splitn(3, ": ").collect();
    if tokens.len() == 3
        && let Some(start) = tokens[2].find("HELM_ERR_START")
        && let Some(end) = tokens[2].rfind("HELM_ERR_END")
        && end >= start + "HELM_ERR_START".len()
    {
        return format!(
            "execution error at ({}): {}",
            tokens[1],
            &tokens[2][start + "HELM_ERR_START".len()..end]
        );
    }
    let mut chain = vec![raw.clone()];
    let mut cur = e;
    while let TErr::Exec {
        message, source, ..
    } = cur
    {
        match source {
            Some(inner) => {
                // Go's chain holds the function's own error first; when the
                // function wrapped the template error (as `tpl` does), that
                // link is not a template error and Helm keeps the raw text.
                let own = message
                    .strip_prefix("error calling ")
                    .and_then(|m| m.split_once(": "))
                    .map(|(_, m)| m);
                if own.is_some_and(|m| !m.starts_with("template: ")) {
                    return raw;
                }
                chain.push(inner.to_string());
                cur = inner;
            }
            None if message.starts_with("error calling ") => return raw,
            None => break,
        }
    }
    let mut locs: Vec<Traceable> = Vec::new();
    for s in &chain {
        match parse_exec_string(s) {
            Some(t) => {
                if locs.last() != Some(&t) {
                    locs.push(t);
                }
            }
            None => return raw,
        }
    }
    let mut out = String::new();
    for t in locs {
        if !t.location.is_empty() {
            out.push_str(&format!("{}\n  ", t.location));
        }
        if !t.executed.is_empty() {
            out.push_str(&format!("{}\n    ", t.executed));
        }
        if !t.message.is_empty() {
            out.push_str(&format!("{}\n", t.message));
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_parse_as_helm_does() {
        let k = kube_version("1.30", "t").unwrap();
        assert_eq!(
            (k.version.as_str(), k.major.as_str(), k.minor.as_str()),
            ("v1.30.0", "1", "30")
        );
        let k = kube_version("v1.29.3-gke.1", "t").unwrap();
        assert_eq!(k.version, "v1.29.3");
        assert!(kube_version("latest", "t").is_err());
    }
}
