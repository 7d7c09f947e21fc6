//! The repository index (`index.yaml`) and Helm's choice of a version in it.

use std::collections::BTreeMap;

use kiln_gotmpl::Version;
use serde::Deserialize;

/// The parts of a Helm repository index Kiln reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Index {
    /// Chart versions by chart name.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

/// One chart version of the index.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IndexEntry {
    /// The chart version.
    #[serde(default, deserialize_with = "string_or_number")]
    pub version: String,
    /// Where the archive is, absolute or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// sha256 of the archive, hex (empty when the index has none).
    #[serde(default)]
    pub digest: String,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) => s,
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

impl Index {
    /// Parses `index.yaml`.
    pub fn parse(bytes: &[u8]) -> Result<Index, String> {
        serde_yaml::from_slice(bytes).map_err(|e| format!("malformed index.yaml: {e}"))
    }
}

/// Helm's `IndexFile.Get`: a version written exactly as asked wins; else the
/// highest version meeting the constraint (an empty one means `*`: the
/// latest stable version). `Err` says why nothing was chosen.
pub fn select<'a>(
    index: &'a Index,
    chart: &str,
    constraint: &str,
) -> Result<&'a IndexEntry, SelectError> {
    let Some(versions) = index.entries.get(chart).filter(|v| !v.is_empty()) else {
        return Err(SelectError::NoChart);
    };
    if !constraint.is_empty()
        && let Some(e) = versions.iter().find(|e| e.version == constraint)
    {
        return Ok(e);
    }
    let constraint = if constraint.trim().is_empty() {
        "*"
    } else {
        constraint
    };
    let mut parsed: Vec<(Version, &IndexEntry)> = versions
        .iter()
        .filter_map(|e| Version::parse(&e.version).ok().map(|v| (v, e)))
        .collect();
    parsed.sort_by(|a, b| b.0.compare(&a.0));
    for (v, e) in &parsed {
        match v.satisfies(constraint) {
            Ok(true) => return Ok(e),
            Ok(false) => {}
            Err(m) => return Err(SelectError::BadConstraint(m)),
        }
    }
    if parsed.is_empty() {
        // Masterminds rejects a bad constraint before looking at versions.
        if let Ok(v) = Version::parse("0.0.0")
            && let Err(m) = v.satisfies(constraint)
        {
            return Err(SelectError::BadConstraint(m));
        }
    }
    Err(SelectError::NoVersion(
        parsed
            .iter()
            .take(10)
            .map(|(_, e)| e.version.clone())
            .collect(),
    ))
}

/// Why [`select`] found nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectError {
    /// The index has no chart of that name.
    NoChart,
    /// No version meets the constraint; the highest versions, newest first.
    NoVersion(Vec<String>),
    /// The constraint is malformed.
    BadConstraint(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        Index::parse(
            br#"
apiVersion: v1
entries:
  web:
    - version: 2.0.0-rc.1
    - version: 1.10.0
    - version: 1.2.3
    - version: 1.2.10
    - version: 1.3.0
    - version: 0.9.0
    - version: not-semver
"#,
        )
        .unwrap_or_default()
    }

    fn pick(c: &str) -> Result<String, SelectError> {
        let i = index();
        select(&i, "web", c).map(|e| e.version.clone())
    }

    #[test]
    fn picks_as_helm_does() {
        assert_eq!(pick("").as_deref(), Ok("1.10.0"));
        assert_eq!(pick("~1.2.0").as_deref(), Ok("1.2.10"));
        assert_eq!(pick("^1").as_deref(), Ok("1.10.0"));
        assert_eq!(pick("^0.9").as_deref(), Ok("0.9.0"));
        assert_eq!(pick(">=1.0.0 <1.3.0").as_deref(), Ok("1.2.10"));
        assert_eq!(pick(">=1.0.0, <1.3.0").as_deref(), Ok("1.2.10"));
        assert_eq!(pick("1.2.x").as_deref(), Ok("1.2.10"));
        assert_eq!(pick("1.2.3").as_deref(), Ok("1.2.3"));
        assert_eq!(pick("not-semver").as_deref(), Ok("not-semver"));
        assert_eq!(pick(">=2.0.0-0").as_deref(), Ok("2.0.0-rc.1"));
        assert_eq!(pick("< 1 || >= 1.3").as_deref(), Ok("1.10.0"));
        assert_eq!(
            pick("^3"),
            Err(SelectError::NoVersion(vec![
                "2.0.0-rc.1".into(),
                "1.10.0".into(),
                "1.3.0".into(),
                "1.2.10".into(),
                "1.2.3".into(),
                "0.9.0".into()
            ]))
        );
        assert!(matches!(pick("!!1"), Err(SelectError::BadConstraint(_))));
        let i = index();
        assert_eq!(select(&i, "db", "").err(), Some(SelectError::NoChart));
    }
}
