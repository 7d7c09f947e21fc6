//! Template functions: their Go-like signatures, the call context, and the libraries.

pub(crate) mod builtin;
pub mod sprig;

use std::sync::Arc;

use crate::error::{Error, FuncError};
use crate::template::Templates;
use crate::value::Value;

/// A parameter type, checked (and worded in errors) as Go's reflection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface {}`: anything; no value arrives as [`Value::Nil`].
    Any,
    /// `reflect.Value`: anything, and no value arrives as [`Value::Missing`].
    Value,
    /// `string`
    String,
    /// `int`
    Int,
    /// `int64`
    Int64,
    /// `float64`
    Float64,
    /// `bool`
    Bool,
    /// `[]interface {}`
    List,
    /// `[]string`
    StringList,
    /// `map[string]interface {}`
    Map,
}

impl Ty {
    /// The Go spelling, as error messages print it.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Value => "reflect.Value",
            Ty::String => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float64 => "float64",
            Ty::Bool => "bool",
            Ty::List => "[]interface {}",
            Ty::StringList => "[]string",
            Ty::Map => "map[string]interface {}",
        }
    }
}

/// The body of a function: receives the call context and checked arguments.
pub type FuncImpl = dyn Fn(&mut Ctx<'_>, Vec<Value>) -> Result<Value, FuncError> + Send + Sync;

/// Which builtins the executor treats specially (short-circuit evaluation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    And,
    Or,
    /// `call`: the executor passes the callee's text as a first argument.
    Call,
}

/// A template function: a Go-like signature and its body.
#[derive(Clone)]
pub struct Function {
    pub(crate) params: Arc<[Ty]>,
    pub(crate) variadic: Option<Ty>,
    pub(crate) imp: Arc<FuncImpl>,
    pub(crate) special: Special,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "func({:?}, {:?})", self.params, self.variadic)
    }
}

impl Function {
    /// A function with fixed parameters and, optionally, a variadic tail.
    pub fn new(
        params: &[Ty],
        variadic: Option<Ty>,
        f: impl Fn(&mut Ctx<'_>, Vec<Value>) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> Self {
        Function {
            params: params.into(),
            variadic,
            imp: Arc::new(f),
            special: Special::None,
        }
    }

    /// A function that needs no call context.
    pub fn pure(
        params: &[Ty],
        variadic: Option<Ty>,
        f: impl Fn(Vec<Value>) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> Self {
        Self::new(params, variadic, move |_, a| f(a))
    }

    pub(crate) fn special(mut self, s: Special) -> Self {
        self.special = s;
        self
    }

    /// The fixed parameter types.
    pub fn params(&self) -> &[Ty] {
        &self.params
    }

    /// The variadic parameter's element type, if any.
    pub fn variadic(&self) -> Option<Ty> {
        self.variadic
    }

    /// Calls the function directly (arguments are not checked).
    pub fn call(&self, ctx: &mut Ctx<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
        (self.imp)(ctx, args)
    }
}

/// What a function sees of the running execution: the template set (so
/// `include` and `tpl` can be written outside this crate) and the depth.
pub struct Ctx<'a> {
    pub(crate) set: &'a Templates,
    pub(crate) depth: usize,
}

impl<'a> Ctx<'a> {
    /// The template set being executed.
    pub fn templates(&self) -> &'a Templates {
        self.set
    }

    /// How many templates deep the current call is.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Executes the named template of the current set with `data` and
    /// returns its output (Go's `ExecuteTemplate`, as Helm's `include` does).
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        let set = self.set;
        self.execute_in(set, name, data)
    }

    /// Executes the named template of another set (e.g. a clone with more
    /// templates parsed into it, as Helm's `tpl` does) at the current depth.
    pub fn execute_in(
        &mut self,
        set: &Templates,
        name: &str,
        data: Value,
    ) -> Result<String, Error> {
        let mut out = String::new();
        set.execute_at_depth(name, data, &mut out, self.depth + 1)?;
        Ok(out)
    }
}
