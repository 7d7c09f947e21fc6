//! Go's `text/template` and the Sprig library, as Helm v4 runs them, with no IO.
//!
//! A [`Templates`] set holds parsed templates and the functions they call.
//! Parse each file under its name, then execute any of them with a [`Value`]
//! as dot. Output, error messages and value printing follow Go byte for byte
//! (`%v` of maps and lists, `<no value>`, `template: NAME:LINE: ...`).
//! Helm's own functions (`include`, `tpl`, `toYaml`, `required`...) are not
//! here: they are added by the engine through [`Templates::add_func`], and
//! [`Ctx`] gives them the running template set.
//!
//! ```no_run
//! use kiln_gotmpl::{MissingKey, Templates, Value};
//! let mut set = Templates::with_sprig("gotpl");
//! set.set_missing_key(MissingKey::Zero);
//! set.parse("chart/templates/cm.yaml", "name: {{ .name | upper | quote }}")?;
//! let data = Value::from_json(&serde_json::json!({"name": "web"}));
//! assert_eq!(set.execute("chart/templates/cm.yaml", &data)?, "name: \"WEB\"");
//! # Ok::<(), kiln_gotmpl::Error>(())
//! ```

#![forbid(unsafe_code)]

mod ast;
mod error;
mod exec;
pub mod fmt;
mod funcs;
mod lexer;
mod parse;
mod template;
mod value;

pub use self::{
    ast::Tree,
    error::{Error, FuncError},
    funcs::{
        Ctx, FuncImpl, Function, Ty,
        sprig::{SprigOptions, Time, Version},
    },
    template::{MissingKey, Options, Templates},
    value::{Elem, MapRef, Object, Value},
};
