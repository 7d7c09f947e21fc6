//! Application file parsing and loading.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use kiln_applier::app::parse_duration;
use kiln_applier::{Error, load_applications, parse_applications};

const FULL: &str = r#"
apiVersion: kiln.dev/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  source:
    repoURL: https://git.example/apps.git
    revision: main
    path: guestbook
    engine: helm
    parameters: {releaseName: gb}
  destination:
    context: prod
    namespace: web
  syncPolicy:
    automated: true
    prune: true
    selfHeal: true
    interval: 1m30s
    retry: {limit: 3, backoff: 10s}
  ignoreDifferences:
    - group: apps
      kind: Deployment
      name: web
      jsonPointers: [/spec/replicas]
  syncOptions:
    forceConflicts: true
    createNamespace: true
"#;

fn error_text(text: &str) -> String {
    parse_applications(text, Path::new("apps/x.yaml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn full_application_parses() {
    let apps = parse_applications(FULL, Path::new("a.yaml")).unwrap();
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!(app.metadata.name, "guestbook");
    assert_eq!(app.spec.source.repo_url, "https://git.example/apps.git");
    assert_eq!(app.spec.source.parameters["releaseName"], "gb");
    assert_eq!(app.spec.destination.context.as_deref(), Some("prod"));
    assert_eq!(app.spec.sync_policy.interval, Duration::from_secs(90));
    assert_eq!(app.spec.sync_policy.retry.limit, 3);
    assert_eq!(app.spec.sync_policy.retry.backoff, Duration::from_secs(10));
    assert!(app.spec.sync_policy.self_heal);
    assert_eq!(
        app.spec.ignore_differences[0].json_pointers,
        ["/spec/replicas"]
    );
    assert!(app.spec.sync_options.force_conflicts && app.spec.sync_options.create_namespace);
    assert_eq!(app.inventory_name(), "kiln-inventory-guestbook");
}

#[test]
fn minimal_application_gets_defaults() {
    let text = "apiVersion: kiln.dev/v1alpha1\nkind: Application\nmetadata: {name: a}\n\
                spec: {source: {repoURL: r}, destination: {namespace: n}}\n";
    let app = &parse_applications(text, Path::new("a.yaml")).unwrap()[0];
    assert_eq!(app.spec.source.revision, "HEAD");
    assert!(!app.spec.sync_policy.automated && !app.spec.sync_policy.prune);
    assert_eq!(app.spec.sync_policy.interval, Duration::from_secs(180));
    assert_eq!(app.spec.sync_policy.retry.limit, 5);
    assert!(app.spec.ignore_differences.is_empty());
}

#[test]
fn unknown_field_is_named_with_file() {
    let text = FULL.replace("selfHeal: true", "selfheal: true");
    let message = error_text(&text);
    assert!(
        message.starts_with("apps/x.yaml: document 1: "),
        "{message}"
    );
    assert!(message.contains("spec.syncPolicy"), "{message}");
    assert!(message.contains("unknown field `selfheal`"), "{message}");
}

#[test]
fn missing_field_is_named() {
    let text = FULL.replace("    namespace: web\n", "");
    let message = error_text(&text);
    assert!(message.contains("spec.destination"), "{message}");
    assert!(message.contains("missing field `namespace`"), "{message}");
}

#[test]
fn wrong_api_version_kind_name_and_pointer_are_rejected() {
    let message = error_text(&FULL.replace("kiln.dev/v1alpha1", "argoproj.io/v1alpha1"));
    assert!(message.contains("apiVersion: expected"), "{message}");
    let message = error_text(&FULL.replace("kind: Application", "kind: AppProject"));
    assert!(message.contains("kind: expected"), "{message}");
    let message = error_text(&FULL.replace("name: guestbook", "name: Guest_Book"));
    assert!(message.contains("metadata.name"), "{message}");
    let message = error_text(&FULL.replace("[/spec/replicas]", "[spec/replicas]"));
    assert!(
        message.contains("spec.ignoreDifferences[0].jsonPointers[0]"),
        "{message}"
    );
    let message = error_text(&FULL.replace("interval: 1m30s", "interval: soon"));
    assert!(
        message.contains("spec.syncPolicy: invalid duration"),
        "{message}"
    );
    assert!(message.contains("line 17"), "{message}");
}

#[test]
fn second_document_error_names_document() {
    let text = format!(
        "{FULL}---\n{}",
        FULL.replace("guestbook", "other")
            .replace("prune: true", "prune: yes please")
    );
    let message = error_text(&text);
    assert!(message.contains("document 2"), "{message}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("1h2m3s").unwrap(), Duration::from_secs(3723));
    for bad in ["", "5", "m", "5d", "-1s", "1.5s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn folder_loads_yaml_files_in_name_order_and_rejects_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.yml"), FULL).unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!(
            "{}---\n{}",
            FULL.replace("guestbook", "one"),
            FULL.replace("guestbook", "two")
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    let apps = load_applications(dir.path()).unwrap();
    let names: Vec<_> = apps.iter().map(|a| a.metadata.name.as_str()).collect();
    assert_eq!(names, ["one", "two", "guestbook"]);

    std::fs::write(dir.path().join("c.yaml"), FULL.replace("web", "other")).unwrap();
    let err = load_applications(dir.path()).unwrap_err();
    assert!(matches!(err, Error::DuplicateApplication { ref name, .. } if name == "guestbook"));
    assert!(err.to_string().contains("b.yml") && err.to_string().contains("c.yaml"));
}

#[test]
fn missing_file_names_path() {
    let err = load_applications(Path::new("/nonexistent/apps.yaml")).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/apps.yaml: "),
        "{err}"
    );
}
