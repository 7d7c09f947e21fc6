//! A set of named templates sharing one function map (Go's `*template.Template`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::Tree;
use crate::error::Error;
use crate::exec;
use crate::funcs::{Function, builtin, sprig};
use crate::value::Value;

/// What a missing map key evaluates to (Go's `missingkey=` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: no value, printed as `<no value>`.
    #[default]
    Invalid,
    /// `missingkey=zero`: the zero value of the map's element type (a nil
    /// `interface{}` for `map[string]interface{}`, still printed as
    /// `<no value>`). Helm renders with this and then deletes `<no value>`.
    Zero,
    /// `missingkey=error`: execution stops (Helm's `--strict`).
    Error,
}

/// Execution options.
#[derive(Clone, Debug)]
pub struct Options {
    /// What a missing map key evaluates to.
    pub missing_key: MissingKey,
    /// How deeply templates may call templates (`template`, `include`,
    /// `tpl`) before execution stops with "exceeded maximum template depth".
    /// Go allows 100000 natively and 1000 on WebAssembly, growing its stack
    /// as needed; here every level costs native stack (a few KiB, more in
    /// debug builds) and a WebAssembly guest has 1 MiB by default, so the
    /// default is 100: deeper than charts nest in practice, and an endless
    /// `include` loop ends in this error instead of a stack overflow. It
    /// does not bound loops, output size or expression nesting.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            missing_key: MissingKey::Invalid,
            max_depth: 100,
        }
    }
}

/// A set of parsed templates and the functions they may call.
///
/// Cloning is cheap (trees and functions are shared), which is how Helm's
/// `tpl` parses extra text without disturbing the set it runs in.
#[derive(Clone)]
pub struct Templates {
    name: String,
    trees: HashMap<String, Arc<Tree>>,
    funcs: Arc<HashMap<String, Function>>,
    options: Options,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new("")
    }
}

impl Templates {
    /// An empty set named `name` with Go's builtin functions only.
    pub fn new(name: &str) -> Self {
        let mut funcs = HashMap::new();
        builtin::register(&mut funcs);
        Templates {
            name: name.to_string(),
            trees: HashMap::new(),
            funcs: Arc::new(funcs),
            options: Options::default(),
        }
    }

    /// An empty set with the builtins and the Sprig library as Helm ships it
    /// (Sprig's `TxtFuncMap` minus `env` and `expandenv`, which Helm removes).
    pub fn with_sprig(name: &str) -> Self {
        Self::with_sprig_options(name, &sprig::SprigOptions::default())
    }

    /// Like [`Templates::with_sprig`], with the host's seed and clock for
    /// Sprig's random and date functions.
    pub fn with_sprig_options(name: &str, opts: &sprig::SprigOptions) -> Self {
        let mut t = Self::new(name);
        let funcs = Arc::make_mut(&mut t.funcs);
        sprig::register_with(funcs, opts);
        t
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds or replaces a function (like Go's `Funcs`). Functions must be
    /// present before parsing templates that call them.
    pub fn add_func(&mut self, name: &str, f: Function) -> &mut Self {
        Arc::make_mut(&mut self.funcs).insert(name.to_string(), f);
        self
    }

    /// Removes a function.
    pub fn remove_func(&mut self, name: &str) -> &mut Self {
        Arc::make_mut(&mut self.funcs).remove(name);
        self
    }

    /// The function registered under `name`.
    pub fn func(&self, name: &str) -> Option<&Function> {
        self.funcs.get(name)
    }

    /// The execution options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Changes the execution options.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// Sets `missingkey`.
    pub fn set_missing_key(&mut self, m: MissingKey) -> &mut Self {
        self.options.missing_key = m;
        self
    }

    /// Parses `text` as the template `name` (Go's `t.New(name).Parse(text)`):
    /// its `define`s and `block`s join the set, replacing same-named ones
    /// unless the new body is empty.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = &self.funcs;
        let trees = crate::parse::parse(name, text, &|f| funcs.contains_key(f))?;
        for (tname, tree) in trees {
            if tree.is_empty() && self.trees.contains_key(&tname) {
                continue;
            }
            self.trees.insert(tname, Arc::new(tree));
        }
        Ok(())
    }

    /// Whether a template of that name exists.
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of all templates, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Executes the named template with `data` as dot and `$` (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_into(name, data.clone(), &mut out)?;
        Ok(out)
    }

    /// Like [`Templates::execute`], appending to `out` (partial output stays on error).
    pub fn execute_into(&self, name: &str, data: Value, out: &mut String) -> Result<(), Error> {
        self.execute_at_depth(name, data, out, 0)
    }

    pub(crate) fn execute_at_depth(
        &self,
        name: &str,
        data: Value,
        out: &mut String,
        depth: usize,
    ) -> Result<(), Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::NoTemplate {
                name: name.to_string(),
                set: self.name.clone(),
            });
        };
        if depth > self.options.max_depth {
            return Err(Error::Template {
                name: name.to_string(),
                message: format!(
                    "exceeded maximum template depth ({})",
                    self.options.max_depth
                ),
            });
        }
        exec::execute(self, tree, data, out, depth)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<&Arc<Tree>> {
        self.trees.get(name)
    }

    pub(crate) fn lookup_func(&self, name: &str) -> Option<&Function> {
        self.funcs.get(name)
    }
}
