//! Fields Kiln's engine does not implement, refused by name rather than
//! ignored.

use crate::{Error, kustomization::Kustomization};

pub(crate) fn check(file: &str, k: &Kustomization) -> Result<(), Error> {
    let refuse = |field: &str, cause: &str| {
        Err(Error::Unsupported {
            file: file.to_owned(),
            field: field.to_owned(),
            cause: cause.to_owned(),
        })
    };
    if !k.helm_charts.is_empty() || !k.helm_chart_inflation_generator.is_empty() {
        return refuse(
            "helmCharts",
            "inflating Helm charts needs Kiln's helm plugin, which does not exist yet (kustomize itself needs --enable-helm)",
        );
    }
    for (field, list) in [
        ("generators", &k.generators),
        ("transformers", &k.transformers),
        ("validators", &k.validators),
    ] {
        if !list.is_empty() {
            return refuse(
                field,
                "custom Kustomize plugin and transformer configurations are not supported; use a Kiln pipeline (kiln-pipeline.yaml) instead",
            );
        }
    }
    Ok(())
}
