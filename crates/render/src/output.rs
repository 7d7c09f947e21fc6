//! Printing manifests for people: the YAML stream `kustomize build` prints.
//!
//! Kustomize turns each object into JSON and hands it to `sigs.k8s.io/yaml`,
//! which reads it with go-yaml v2 and writes it back with go-yaml v2's
//! `Marshal`; `kiln-goyaml` reproduces that writer byte for byte.

use serde::de::{Error as _, IgnoredAny};

/// Formats JSON manifests as a YAML stream, `---` between objects, exactly
/// as `kustomize build` prints them.
pub fn manifests_to_yaml(manifests: &[String]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for (i, m) in manifests.iter().enumerate() {
        // serde_json checks the text and words any error; `json` then reads
        // it with exact numbers.
        serde_json::from_str::<IgnoredAny>(m)?;
        let v = kiln_goyaml::parse_json(m).ok_or_else(|| {
            serde_json::Error::custom(format!(
                "malformed JSON or nesting deeper than {}",
                kiln_goyaml::MAX_DEPTH
            ))
        })?;
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&kiln_goyaml::to_yaml(&v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(json: &str) -> String {
        manifests_to_yaml(&[json.to_owned()]).unwrap()
    }

    #[test]
    fn yaml_output_matches_kustomize() {
        let m = vec![
            r#"{"apiVersion":"v1","kind":"ConfigMap","data":{"a":"1"}}"#.to_owned(),
            r#"{"kind":"List","items":[]}"#.to_owned(),
        ];
        let y = manifests_to_yaml(&m).unwrap();
        assert_eq!(
            y,
            "apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\n---\nitems: []\nkind: List\n"
        );
    }

    #[test]
    fn layout() {
        let y = yaml(
            r#"{"spec":{"containers":[{"name":"x","args":["a",["b","c"],{}],"env":null}]},"z":{"q":true,"e":1.5}}"#,
        );
        assert_eq!(
            y,
            "spec:\n  containers:\n  - args:\n    - a\n    - - b\n      - c\n    - {}\n    env: null\n    name: x\nz:\n  e: 1.5\n  q: true\n"
        );
    }

    #[test]
    fn scalar_styles() {
        let y = yaml(
            r#"{"l":["yes","1.0","multi\nline\n","x: y","-dash","@at","","null","~","a\tb"," lead","x\n\n","\nx","x "]}"#,
        );
        assert_eq!(
            y,
            "l:\n- \"yes\"\n- \"1.0\"\n- |\n  multi\n  line\n- 'x: y'\n- -dash\n- '@at'\n- \"\"\n- \"null\"\n- \"~\"\n- \"a\\tb\"\n- ' lead'\n- |+\n  x\n\n- |2-\n\n  x\n- 'x '\n"
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(manifests_to_yaml(&["{".to_owned()]).is_err());
        assert!(manifests_to_yaml(&["[1e400]".to_owned()]).is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(manifests_to_yaml(&[deep]).is_err());
    }
}
