//! Printing manifests for people: the YAML stream `kustomize build` prints.

use serde_json::Value;

/// Formats JSON manifests as a YAML stream, `---` between objects, as
/// `kustomize build` prints them.
pub fn manifests_to_yaml(manifests: &[String]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for (i, m) in manifests.iter().enumerate() {
        let v: Value = serde_json::from_str(m)?;
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml::to_string(&v).map_err(serde::ser::Error::custom)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_output_round_trips() {
        let m = vec![r#"{"apiVersion":"v1","kind":"ConfigMap","data":{"a":"1"}}"#.to_owned()];
        let y = manifests_to_yaml(&m).unwrap();
        assert_eq!(y, "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: '1'\n");
    }
}
