//! The `images` field: new names, tags and digests for container images,
//! wherever a `containers` or `initContainers` list appears in an object.

use serde_json::Value;

use crate::{kustomization::Image, target::Accumulated};

/// Updates image references: in the lists under `containers` and
/// `initContainers` anywhere, and at the `configurations` field specs.
pub(crate) fn apply(images: &[Image], custom: &[crate::fieldspec::Spec], acc: &mut Accumulated) {
    for r in acc.resources.iter_mut() {
        for v in r.obj.values_mut() {
            walk(v, images);
        }
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        for spec in custom.iter().filter(|s| s.matches(&api, &kind)) {
            let _ = crate::fieldspec::visit(&mut r.obj, &spec.path, None, &mut |v| {
                if let Value::String(s) = v {
                    update(s, images);
                }
            });
        }
    }
}

fn walk(v: &mut Value, images: &[Image]) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = child
                {
                    for item in items.iter_mut() {
                        if let Some(Value::String(s)) = item.get_mut("image") {
                            update(s, images);
                        }
                    }
                }
                walk(child, images);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, images);
            }
        }
        _ => {}
    }
}

/// Splits an image reference into name, tag and digest (without `:`/`@`).
pub(crate) fn split(image: &str) -> (&str, &str, &str) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d),
        None => (image, ""),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], &rest[slash + i + 1..], digest),
        None => (rest, "", digest),
    }
}

fn update(s: &mut String, images: &[Image]) {
    let (name, tag, digest) = split(s);
    let Some(img) = images.iter().find(|i| i.name == name) else {
        return;
    };
    let mut name = name.to_owned();
    let mut tag = tag.to_owned();
    let mut digest = digest.to_owned();
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        digest = img.digest.clone();
        tag.clear();
    }
    if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    *s = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_ports_tags_and_digests() {
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(split("reg:5000/app:v1"), ("reg:5000/app", "v1", ""));
        assert_eq!(split("reg:5000/app"), ("reg:5000/app", "", ""));
        assert_eq!(split("app@sha256:abc"), ("app", "", "sha256:abc"));
    }
}
