//! `replacements`: copy a field of one object into fields of others.

use serde_json::Value;

use crate::{
    Error,
    target::{Accumulated, Builder},
};

pub(crate) fn apply(
    _b: &mut Builder<'_>,
    _dir: &str,
    file: &str,
    _replacements: &[Value],
    _acc: &mut Accumulated,
) -> Result<(), Error> {
    Err(Error::Unsupported {
        file: file.to_owned(),
        field: "replacements".into(),
        cause: "replacements are not supported yet".into(),
    })
}
