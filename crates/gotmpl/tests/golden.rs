//! Runs every case under `tests/cases/*.txt` and compares, byte for byte,
//! with the output (or error) real Helm v4 produced for it (`regen.py`).
//!
//! Errors are compared after the same rewording Helm's engine applies
//! (`cleanupParseError`, `reformatExecErrorMsg`), reproduced below.
//! Cases listed in `tests/cases/KNOWN_DIFFERENCES` may differ; every other
//! case must match, and a listed case that matches is reported.

use std::collections::BTreeMap;
use std::path::Path;

use kiln_gotmpl::{Error, Function, MissingKey, Templates, Ty, Value};

fn parse_cases(text: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let mut values = serde_json::json!({});
    let mut cases = Vec::new();
    let mut name: Option<String> = None;
    let mut body = String::new();
    let mut flush =
        |name: &Option<String>, body: &mut String, cases: &mut Vec<(String, String)>| {
            if let Some(n) = name {
                if n == "values" {
                    values = serde_json::from_str(if body.trim().is_empty() { "{}" } else { body })
                        .unwrap_or_else(|e| panic!("values JSON: {e}"));
                } else {
                    cases.push((n.clone(), std::mem::take(body)));
                }
            }
            body.clear();
        };
    for line in text.split_inclusive('\n') {
        let s = line.strip_suffix('\n').unwrap_or(line);
        if s.starts_with("-- ") && s.ends_with(" --") && s.len() > 6 {
            flush(&name, &mut body, &mut cases);
            name = Some(s[3..s.len() - 3].to_string());
        } else {
            body.push_str(line);
        }
    }
    flush(&name, &mut body, &mut cases);
    (values, cases)
}

/// Helm's `include`, written against the public API.
fn include() -> Function {
    Function::new(&[Ty::String, Ty::Any], None, |ctx, a| {
        let name = a[0].as_str().unwrap_or_default().to_string();
        let out = ctx.execute_template(&name, a[1].clone())?;
        Ok(Value::from(out))
    })
}

/// Helm's `fail`: the message travels wrapped in markers the error
/// formatting looks for.
fn fail() -> Function {
    Function::pure(&[Ty::String], None, |a| {
        Err(format!(
            "HELM_ERR_START{}HELM_ERR_END",
            a[0].as_str().unwrap_or_default()
        )
        .into())
    })
}

/// Helm's `required`.
fn required() -> Function {
    Function::pure(&[Ty::String, Ty::Any], None, |a| {
        let empty = a[1].is_nil() || a[1].as_str() == Some("");
        if empty {
            return Err(format!(
                "HELM_ERR_START{}HELM_ERR_END",
                a[0].as_str().unwrap_or_default()
            )
            .into());
        }
        Ok(a[1].clone())
    })
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

/// Helm's `reformatExecErrorMsg`, over our error chain.
fn reformat_exec_error(e: &Error) -> String {
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
    while let Error::Exec {
        message, source, ..
    } = cur
    {
        match source {
            Some(inner) => {
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

fn render(name: &str, body: &str, values: &serde_json::Value) -> Result<String, String> {
    let mut set = Templates::with_sprig("gotpl");
    set.set_missing_key(MissingKey::Zero);
    set.add_func("include", include());
    set.add_func("fail", fail());
    set.add_func("required", required());
    let tname = format!("t/templates/{name}");
    set.parse(&tname, body)
        .map_err(|e| cleanup_parse_error(&tname, &e.to_string()))?;
    let data = serde_json::json!({
        "Values": values,
        "Release": {"Name": "r", "Namespace": "ns", "Service": "Helm", "IsInstall": false, "IsUpgrade": false, "Revision": 1},
        "Chart": {"Name": "t", "Version": "0.1.0", "IsRoot": true},
        "Template": {"Name": tname, "BasePath": "t/templates"},
    });
    let out = set
        .execute(&tname, &Value::from_json(&data))
        .map_err(|e| reformat_exec_error(&e))?;
    Ok(out.replace("<no value>", ""))
}

#[test]
fn golden_cases_match_helm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let known: Vec<String> = std::fs::read_to_string(dir.join("KNOWN_DIFFERENCES"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let (mut total, mut passed) = (0, 0);
    let mut failures = Vec::new();
    let mut fixed = Vec::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (values, cases) = parse_cases(&std::fs::read_to_string(&path).unwrap());
        let golden_path = dir.join(format!("{stem}.golden.json"));
        let golden: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
        for (name, body) in cases {
            total += 1;
            let id = format!("{stem}/{name}");
            let Some(want) = golden.get(&name) else {
                failures.push(format!("{id}: no golden (run tests/regen.py)"));
                continue;
            };
            let got = render(&name, &body, &values);
            let ok = match (&got, want.get("output"), want.get("error")) {
                (Ok(o), Some(w), _) => o == w,
                (Err(e), _, Some(w)) => e == w,
                _ => false,
            };
            let is_known = known.contains(&id);
            if ok {
                passed += 1;
                if is_known {
                    fixed.push(id);
                }
            } else if !is_known {
                failures.push(format!("{id}:\n  want: {want:?}\n  got:  {got:?}"));
            }
        }
    }
    println!("{passed}/{total} cases identical to Helm");
    if !fixed.is_empty() {
        println!("now matching, remove from KNOWN_DIFFERENCES: {fixed:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ from Helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
