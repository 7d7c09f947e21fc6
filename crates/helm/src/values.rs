//! Values: Helm's coalescing (chart defaults under user values, globals
//! copied down), dependency conditions, tags, aliases and import-values.

use serde_json::{Map, Value};

use crate::chart::Chart;

/// `MergeValues` of the CLI: values files merged in order (later wins).
pub fn merge_maps(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in b {
        if let Value::Object(bv) = v {
            if let Some(Value::Object(av)) = a.get_mut(&k) {
                let old = std::mem::take(av);
                *av = merge_maps(old, bv);
                continue;
            }
            a.insert(k, Value::Object(bv));
        } else {
            a.insert(k, v);
        }
    }
    a
}

/// Helm's `coalesceTablesFullKey`: fills `dst` from `src` where `dst` has
/// nothing; with `merge` false a null in `dst` deletes the key.
fn coalesce_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>, merge: bool) {
    for (key, val) in src {
        match dst.get_mut(key) {
            Some(Value::Null) if !merge => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), val.clone());
            }
            Some(dv) => {
                if let Value::Object(sv) = val
                    && let Value::Object(dm) = dv
                {
                    coalesce_tables(dm, sv, merge);
                }
            }
        }
    }
}

/// Helm's `coalesce`: the chart's defaults under `v`, then each subchart.
pub fn coalesce(chart: &Chart, v: &mut Map<String, Value>, merge: bool) {
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(Value::Null) if !merge => {
                v.remove(key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(src) = val {
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match v.get(&name) {
            None => {
                v.insert(name.clone(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(_) => return,
        }
        let globals = v.get("global").cloned();
        if let Some(Value::Object(dv)) = v.get_mut(&name) {
            coalesce_globals(dv, globals.as_ref());
            coalesce(sub, dv, merge);
        }
    }
}

/// Helm's `coalesceGlobals`: the parent's `global` into the subchart's.
fn coalesce_globals(dest: &mut Map<String, Value>, src: Option<&Value>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        if let Value::Object(vm) = &val {
            let mut vv = vm.clone();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    coalesce_tables(&mut vv, destv, true);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {}
            }
        } else if matches!(dg.get(&key), Some(Value::Object(_))) {
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert("global".into(), Value::Object(dg));
}

/// `CoalesceValues(chart, user)` (nulls deleted).
pub fn coalesce_values(chart: &Chart, user: &Map<String, Value>) -> Map<String, Value> {
    let mut v = user.clone();
    coalesce(chart, &mut v, false);
    v
}

fn merged_values(chart: &Chart, user: &Map<String, Value>) -> Map<String, Value> {
    let mut v = user.clone();
    coalesce(chart, &mut v, true);
    v
}

/// A value at a dotted path (Helm's `PathValue`).
fn path_value<'a>(v: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let val = cur.get(*p)?;
        if i + 1 == parts.len() {
            return Some(val);
        }
        cur = val.as_object()?;
    }
    None
}

/// Helm's `ProcessDependenciesWithMerge`: aliases, conditions and tags
/// decide which subcharts stay; then import-values.
pub fn process_dependencies(chart: &mut Chart, user: &Map<String, Value>) {
    enabled(chart, user, "");
    import_values(chart);
}

fn enabled(chart: &mut Chart, user: &Map<String, Value>, path: &str) {
    let mut reqs = chart.declared_dependencies();
    if reqs.is_empty() && !chart.metadata.contains_key("dependencies") {
        return;
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let req_name = |r: &Map<String, Value>| {
        r.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut deps: Vec<Chart> = existing
        .iter()
        .filter(|c| !reqs.iter().any(|r| req_name(r) == c.name()))
        .cloned()
        .collect();
    for r in &mut reqs {
        let name = req_name(r);
        if let Some(c) = existing.iter().find(|c| c.name() == name) {
            let mut c = c.clone();
            if let Some(alias) = r
                .get("alias")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                c.metadata.insert("name".into(), Value::from(alias));
            }
            deps.push(c);
        }
        if let Some(alias) = r
            .get("alias")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            let alias = alias.to_string();
            r.insert("name".into(), Value::from(alias));
        }
    }
    chart.dependencies = deps;
    let cvals = coalesce_values(chart, user);
    let mut on: Vec<bool> = vec![true; reqs.len()];
    if let Some(Value::Object(tags)) = cvals.get("tags") {
        for (i, r) in reqs.iter().enumerate() {
            let (mut t, mut f) = (false, false);
            if let Some(Value::Array(rt)) = r.get("tags") {
                for k in rt.iter().filter_map(Value::as_str) {
                    match tags.get(k) {
                        Some(Value::Bool(true)) => t = true,
                        Some(Value::Bool(false)) => f = true,
                        _ => {}
                    }
                }
            }
            on[i] = t || !f;
        }
    }
    for (i, r) in reqs.iter().enumerate() {
        let cond = r.get("condition").and_then(Value::as_str).unwrap_or("");
        for c in cond.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(&cvals, &format!("{path}{c}")) {
                on[i] = *b;
                break;
            }
        }
    }
    let removed: Vec<String> = reqs
        .iter()
        .zip(&on)
        .filter(|(_, on)| !**on)
        .map(|(r, _)| req_name(r))
        .collect();
    chart
        .dependencies
        .retain(|c| !removed.contains(&c.name().to_string()));
    let kept: Vec<Value> = reqs
        .into_iter()
        .filter(|r| !removed.contains(&req_name(r)))
        .map(Value::Object)
        .collect();
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        enabled(sub, &cvals, &sub_path);
    }
    chart
        .metadata
        .insert("dependencies".into(), Value::Array(kept));
}

/// Helm's `processDependencyImportValues`, children first.
fn import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        import_values(sub);
    }
    let reqs = chart.declared_dependencies();
    if reqs.is_empty() {
        return;
    }
    let cvals = merged_values(chart, &Map::new());
    let mut b = Map::new();
    for r in &reqs {
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let Some(Value::Array(ivs)) = r.get("import-values") else {
            continue;
        };
        for iv in ivs {
            let (child, parent) = match iv {
                Value::Object(m) => (
                    m.get("child")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    m.get("parent")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ),
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            let Some(Value::Object(table)) = path_value(&cvals, &format!("{name}.{child}")) else {
                continue;
            };
            let add = if parent == "." {
                table.clone()
            } else {
                path_to_map(&parent, table.clone())
            };
            let mut nb = b.clone();
            merge_tables(&mut nb, &add);
            b = nb;
        }
    }
    let mut vals = trim_nil(cvals);
    merge_tables(&mut vals, &b);
    chart.values = vals;
}

/// Helm's `MergeTables(dst, src)`: `src` fills what `dst` lacks.
fn merge_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    coalesce_tables(dst, src, true);
}

fn trim_nil(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::Object(o) => (k, Value::Object(trim_nil(o))),
            v => (k, v),
        })
        .collect()
}

fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    let mut cur = Value::Object(data);
    for p in path.split('.').filter(|p| !p.is_empty()).rev() {
        let mut m = Map::new();
        m.insert(p.to_string(), cur);
        cur = Value::Object(m);
    }
    match cur {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
