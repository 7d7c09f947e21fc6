//! How the Helm engine uses the crate: functions that need the running
//! template set (`include`, `tpl`), host objects with methods, options.

use std::sync::Arc;

use kiln_gotmpl::{Function, MissingKey, Object, Templates, Ty, Value};

fn helm_like_set() -> Templates {
    let mut set = Templates::with_sprig("gotpl");
    set.set_missing_key(MissingKey::Zero);
    set.add_func(
        "include",
        Function::new(&[Ty::String, Ty::Any], None, |ctx, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            Ok(Value::from(ctx.execute_template(&name, a[1].clone())?))
        }),
    );
    // Helm's tpl: parse the text into a clone of the running set under the
    // set's name, so defines from the chart (and from the text) are visible.
    set.add_func(
        "tpl",
        Function::new(&[Ty::String, Ty::Any], None, |ctx, a| {
            let mut t = ctx.templates().clone();
            let name = t.name().to_string();
            t.parse(&name, a[0].as_str().unwrap_or_default())?;
            let out = ctx.execute_in(&t, &name, a[1].clone())?;
            Ok(Value::from(out.replace("<no value>", "")))
        }),
    );
    set
}

#[test]
fn include_and_tpl_see_the_chart_templates() {
    let mut set = helm_like_set();
    set.parse(
        "c/templates/_helpers.tpl",
        r#"{{ define "c.name" }}{{ .Values.name | trunc 5 }}{{ end }}"#,
    )
    .unwrap();
    set.parse(
        "c/templates/cm.yaml",
        "name: {{ include \"c.name\" . }}\ntpl: {{ tpl .Values.tmpl . }}\n",
    )
    .unwrap();
    let data = Value::from_json(&serde_json::json!({
        "Values": {"name": "webserver", "tmpl": "{{ include \"c.name\" . | upper }}-{{ .Values.missing }}"}
    }));
    let out = set.execute("c/templates/cm.yaml", &data).unwrap();
    assert_eq!(out, "name: webse\ntpl: WEBSE-\n");
}

#[test]
fn include_errors_keep_the_inner_template_error() {
    let mut set = helm_like_set();
    set.parse(
        "a",
        r#"{{ define "x" }}{{ .y.z }}{{ end }}{{ include "x" (dict "y" 1) }}"#,
    )
    .unwrap();
    let err = set.execute("a", &Value::empty_map()).unwrap_err();
    let kiln_gotmpl::Error::Exec { source, .. } = &err else {
        panic!("{err}")
    };
    assert!(source.is_some());
    assert!(
        err.to_string()
            .contains("error calling include: template: a:1:21: executing \"x\" at <.y.z>"),
        "{err}"
    );
}

#[test]
fn recursion_is_bounded() {
    let mut set = helm_like_set();
    set.parse(
        "r",
        r#"{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}"#,
    )
    .unwrap();
    let err = set.execute("r", &Value::Nil).unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeded maximum template depth (100)"),
        "{err}"
    );
}

#[derive(Debug)]
struct Capabilities;

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*chartutil.Capabilities".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "KubeVersion").then(|| Value::from("v1.30.0"))
    }
    fn method(&self, name: &str) -> Option<Function> {
        (name == "Has").then(|| {
            Function::pure(&[Ty::String], None, |a| {
                Ok(Value::Bool(a[0].as_str() == Some("apps/v1")))
            })
        })
    }
    fn display(&self) -> String {
        "caps".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn host_objects_have_fields_and_methods() {
    let mut set = helm_like_set();
    set.parse(
        "o",
        r#"{{ .Caps.KubeVersion }} {{ .Caps.Has "apps/v1" }} {{ .Caps.Has "x/v1" }} {{ semverCompare ">=1.19-0" .Caps.KubeVersion }}"#,
    )
    .unwrap();
    let mut m = std::collections::BTreeMap::new();
    m.insert("Caps".to_string(), Value::Object(Arc::new(Capabilities)));
    assert_eq!(
        set.execute("o", &Value::map(m)).unwrap(),
        "v1.30.0 true false true"
    );
}

#[test]
fn large_templates_render_quickly() {
    let mut set = helm_like_set();
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!(
            "- name: {{{{ .Values.name | quote }}}}-{i}\n  items: {{{{ range $k, $v := .Values.m }}}}{{{{ $k }}}}={{{{ $v | toString | upper }}}},{{{{ end }}}}\n"
        ));
    }
    set.parse("big", &text).unwrap();
    let data = Value::from_json(&serde_json::json!({
        "Values": {"name": "n", "m": {"a": "x", "b": "y", "c": 1}}
    }));
    let start = std::time::Instant::now();
    let out = set.execute("big", &data).unwrap();
    assert!(out.contains("- name: \"n\"-4999\n  items: a=X,b=Y,c=1,\n"));
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}
