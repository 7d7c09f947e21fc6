//! The executor: a port of Go's `text/template/exec.go` over [`Value`]s.

use crate::ast::{Arg, Branch, Command, Node, Number, Pipe, Tree};
use crate::error::{Error, FuncError};
use crate::funcs::{Ctx, Function, Special, Ty};
use crate::template::{MissingKey, Templates};
use crate::value::{Elem, Value};

type R<T> = Result<T, Error>;

/// How a list of nodes finished.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node being evaluated, for error messages.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node, usize),
    Branch(&'t Branch, &'static str),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Arg(&'t Arg),
}

struct Var<'t> {
    name: &'t str,
    value: Value,
    /// Whether the value sits in an `interface{}` slot (a range element).
    iface: bool,
}

struct State<'t, 'o> {
    set: &'t Templates,
    tree: &'t Tree,
    out: &'o mut String,
    vars: Vec<Var<'t>>,
    depth: usize,
    node: At<'t>,
    /// Whether dot sits in an `interface{}` slot (inside a range over `[]interface{}`).
    dot_iface: bool,
}

/// Executes `tree` of `set` with `data`, appending to `out`.
pub(crate) fn execute(
    set: &Templates,
    tree: &Tree,
    data: Value,
    out: &mut String,
    depth: usize,
) -> R<()> {
    let mut s = State {
        set,
        tree,
        out,
        vars: vec![Var {
            name: "$",
            value: data.clone(),
            iface: false,
        }],
        depth,
        node: At::None,
        dot_iface: false,
    };
    s.walk_list(&data, &tree.root)?;
    Ok(())
}

impl<'t> State<'t, '_> {
    fn at(&mut self, node: At<'t>) {
        self.node = node;
    }

    fn errorf(&self, message: impl Into<String>) -> Error {
        self.error_with(message.into(), None)
    }

    fn error_with(&self, message: String, source: Option<Box<Error>>) -> Error {
        let (pos, context) = match self.node {
            At::None => {
                return Error::Template {
                    name: self.tree.name.clone(),
                    message,
                };
            }
            At::Node(n, pos) => (pos, n.to_string()),
            At::Branch(b, name) => {
                let mut s = format!("{{{{{name} {}}}}}", b.pipe);
                for n in &b.list {
                    s.push_str(&n.to_string());
                }
                if let Some(e) = &b.else_list {
                    s.push_str("{{else}}");
                    for n in e {
                        s.push_str(&n.to_string());
                    }
                }
                s.push_str("{{end}}");
                (b.pos, s)
            }
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos(), a.to_string()),
        };
        Error::Exec {
            name: self.tree.name.clone(),
            location: self.tree.location(pos),
            context,
            message,
            source,
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'t [Node]) -> R<Flow> {
        for n in list {
            let f = self.walk(dot, n)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> R<Flow> {
        match node {
            Node::Text { text } => self.out.push_str(text),
            Node::Comment { .. } => {}
            Node::Action { pos, pipe } => {
                self.at(At::Node(node, *pos));
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node, *pos));
                    self.print_value(&val)?;
                }
            }
            Node::If(b) => return self.walk_if_or_with(false, dot, b),
            Node::With(b) => return self.walk_if_or_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { pos, name, pipe } => {
                self.at(At::Node(node, *pos));
                let Some(tmpl) = self.set.tree(name) else {
                    return Err(self.errorf(format!(
                        "template {} not defined",
                        crate::fmt::quote_go(name)
                    )));
                };
                if self.depth >= self.set.options().max_depth {
                    return Err(self.errorf(format!(
                        "exceeded maximum template depth ({})",
                        self.set.options().max_depth
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Missing,
                };
                let tree: &'t Tree = tmpl;
                let saved_vars = std::mem::replace(
                    &mut self.vars,
                    vec![Var {
                        name: "$",
                        value: new_dot.clone(),
                        iface: false,
                    }],
                );
                let saved_tree = std::mem::replace(&mut self.tree, tree);
                let saved_iface = std::mem::replace(&mut self.dot_iface, false);
                self.depth += 1;
                let r = self.walk_list(&new_dot, &tree.root);
                self.depth -= 1;
                self.vars = saved_vars;
                self.tree = saved_tree;
                self.dot_iface = saved_iface;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truthy() {
                if with {
                    let saved = std::mem::replace(&mut self.dot_iface, false);
                    let r = self.walk_list(&val, &b.list);
                    self.dot_iface = saved;
                    r
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'t Branch) -> R<Flow> {
        self.at(At::Branch(b, "range"));
        let mark0 = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark0);
        r
    }

    fn one_iteration(
        &mut self,
        b: &'t Branch,
        mark: usize,
        index: Value,
        elem: Value,
        iface: bool,
    ) -> R<Flow> {
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone(), false)?;
                } else {
                    self.set_var(&decl[0], elem.clone(), iface)?;
                }
            } else {
                let n = self.vars.len();
                self.vars[n - 1].value = elem.clone();
                self.vars[n - 1].iface = iface;
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone(), iface)?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].value = index;
                self.vars[n - 2].iface = false;
            }
        }
        let saved = std::mem::replace(&mut self.dot_iface, iface);
        let r = self.walk_list(&elem, &b.list);
        self.dot_iface = saved;
        self.vars.truncate(mark);
        r
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &'t Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let val = match val {
            Value::Object(o) => o.as_value().unwrap_or(Value::Object(o)),
            v => v,
        };
        let mark = self.vars.len();
        let mut ran = false;
        match &val {
            Value::List(items, elem) => {
                let iface = *elem == Elem::Any;
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    let f =
                        self.one_iteration(b, mark, Value::Int(i as i64), item.clone(), iface)?;
                    if f == Flow::Break {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                let iface = m.elem() == Elem::Any;
                for (k, v) in m.entries() {
                    ran = true;
                    let f = self.one_iteration(b, mark, Value::from(k), v, iface)?;
                    if f == Flow::Break {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        crate::fmt::to_string(&val)
                    )));
                }
                let int64 = matches!(val, Value::Int64(_));
                for i in 0..*n {
                    ran = true;
                    let e = if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    };
                    let f = self.one_iteration(b, mark, Value::Missing, e, false)?;
                    if f == Flow::Break {
                        break;
                    }
                }
            }
            Value::Missing | Value::Nil => {}
            _ => {
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    crate::fmt::to_string(&val)
                )));
            }
        }
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Missing => self.out.push_str("<no value>"),
            Value::String(s) => self.out.push_str(s),
            Value::Func(_) => {
                return Err(self.errorf(format!(
                    "can't print {} of type {}",
                    self.node_string(),
                    v.type_name()
                )));
            }
            _ => self
                .out
                .push_str(&crate::fmt::sprint(std::slice::from_ref(v))),
        }
        Ok(())
    }

    fn node_string(&self) -> String {
        match self.node {
            At::Node(n, _) => n.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Arg(a) => a.to_string(),
            At::Branch(b, _) => b.pipe.to_string(),
            At::None => String::new(),
        }
    }

    fn var_value(&self, name: &str) -> R<(Value, bool)> {
        for v in self.vars.iter().rev() {
            if v.name == name {
                return Ok((v.value.clone(), v.iface));
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, value: Value, iface: bool) -> R<()> {
        for v in self.vars.iter_mut().rev() {
            if v.name == name {
                v.value = value;
                v.iface = iface;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.collapse_nil());
        }
        let value = value.unwrap_or(Value::Missing);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone(), false)?;
            } else {
                self.vars.push(Var {
                    name,
                    value: value.clone(),
                    iface: false,
                });
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            let first = args.first().map(|a| a.to_string()).unwrap_or_default();
            return Err(self.errorf(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'t Command, final_: Option<Value>) -> R<Value> {
        let Some(first) = cmd.args.first() else {
            return Ok(Value::Missing);
        };
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    self.dot_iface,
                    first,
                    idents,
                    &cmd.args,
                    final_,
                );
            }
            Arg::Chain { .. } => return self.eval_chain_node(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable_node(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number { num, .. } => self.ideal_constant(num),
            Arg::String { text, .. } => Ok(Value::String(text.clone())),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                crate::fmt::quote_go(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&self, n: &Number) -> R<Value> {
        if n.is_complex {
            return Err(self.errorf(format!("complex constant {} is not supported", n.text)));
        }
        let is_hex_int = n.text.len() > 2
            && n.text.starts_with('0')
            && matches!(n.text.as_bytes()[1], b'x' | b'X')
            && !n.text.contains(['p', 'P']);
        let is_rune = n.text.starts_with('\'');
        if n.is_float && !is_hex_int && !is_rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{} overflows int", n.text)));
        }
        Ok(Value::Missing)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Value,
        chain: &'t Arg,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Ok(Value::Missing);
        };
        if fields.is_empty() {
            return Err(self.errorf("internal error: no fields in evalChainNode"));
        }
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let recv = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, recv, false, chain, fields, args, final_)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Value,
        var: &'t Arg,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(var));
        let Arg::Variable { idents, .. } = var else {
            return Ok(Value::Missing);
        };
        let (value, iface) = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, iface, var, &idents[1..], args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        mut iface: bool,
        node: &'t Arg,
        idents: &'t [String],
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for id in &idents[..n - 1] {
            let (v, i) = self.eval_field(dot, id, node, &[], None, receiver, iface)?;
            receiver = v;
            iface = i;
        }
        Ok(self
            .eval_field(dot, &idents[n - 1], node, args, final_, receiver, iface)?
            .0)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<Value>,
        receiver: Value,
        iface: bool,
    ) -> R<(Value, bool)> {
        let has_args = args.len() > 1 || final_.is_some();
        let typ = |v: &Value| {
            if iface {
                "interface {}".to_string()
            } else {
                v.type_name()
            }
        };
        match &receiver {
            Value::Missing => {
                if self.set.options().missing_key == MissingKey::Error {
                    return Err(self.errorf(format!(
                        "nil data; no entry for key {}",
                        crate::fmt::quote_go(name)
                    )));
                }
                Ok((Value::Missing, false))
            }
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match m.get(name) {
                    Some(v) => Ok((v, m.elem() == Elem::Any)),
                    None => match self.set.options().missing_key {
                        MissingKey::Invalid => Ok((Value::Missing, false)),
                        MissingKey::Zero => Ok((m.elem().zero(), m.elem() == Elem::Any)),
                        MissingKey::Error => Err(self.errorf(format!(
                            "map has no entry for key {}",
                            crate::fmt::quote_go(name)
                        ))),
                    },
                }
            }
            Value::Object(o) => {
                if let Some(f) = o.method(name) {
                    let v = self.eval_call(dot, &f, At::Arg(node), name, args, final_)?;
                    return Ok((v, false));
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok((v, false));
                }
                if o.kind() == "map" {
                    return match self.set.options().missing_key {
                        MissingKey::Error => Err(self.errorf(format!(
                            "map has no entry for key {}",
                            crate::fmt::quote_go(name)
                        ))),
                        _ => Ok((Value::Missing, false)),
                    };
                }
                Err(self.errorf(format!(
                    "can't evaluate field {name} in type {}",
                    typ(&receiver)
                )))
            }
            _ => Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                typ(&receiver)
            ))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'t Arg,
        name: &str,
        call_node: At<'t>,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(ident));
        let Some(f) = self.set.lookup_func(name) else {
            return Err(self.errorf(format!(
                "{} is not a defined function",
                crate::fmt::quote_go(name)
            )));
        };
        let f = f.clone();
        self.eval_call(dot, &f, call_node, name, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: &Function,
        node: At<'t>,
        name: &str,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let args: &'t [Arg] = if args.is_empty() { args } else { &args[1..] };
        let params = &f.params;
        let mut num_in = args.len();
        if final_.is_some() {
            num_in += 1;
        }
        let mut num_fixed = args.len();
        if f.variadic.is_some() {
            num_fixed = params.len();
            if num_in < num_fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    params.len(),
                    args.len()
                )));
            }
        } else if num_in != params.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                params.len()
            )));
        }
        if f.special == Special::And || f.special == Special::Or {
            let is_or = f.special == Special::Or;
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, Some(Ty::Value), a)?;
                if v.truthy() == is_or {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                v = fv;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in + 1);
        if f.special == Special::Call {
            argv.push(Value::from(
                args.first().map(|a| a.to_string()).unwrap_or_default(),
            ));
        }
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(params[i]), &args[i])?);
            i += 1;
        }
        if let Some(vt) = f.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(fv) = final_ {
            let t = match f.variadic {
                Some(vt) if num_in > num_fixed => vt,
                _ => params[num_in - 1],
            };
            argv.push(self.validate_type(fv, t)?);
        }
        let mut ctx = Ctx {
            set: self.set,
            depth: self.depth,
        };
        match (f.imp)(&mut ctx, argv) {
            Ok(v) => Ok(v),
            Err(FuncError { message, source }) => {
                self.at(node);
                Err(self.error_with(format!("error calling {name}: {message}"), source))
            }
        }
    }

    fn validate_type(&self, v: Value, ty: Ty) -> R<Value> {
        let ok = match (&v, ty) {
            (Value::Missing, Ty::Any) => return Ok(Value::Nil),
            (Value::Missing, Ty::Value) => return Ok(Value::Missing),
            (Value::Missing, Ty::List) => return Ok(Value::list(Vec::new())),
            (Value::Missing, Ty::StringList) => return Ok(Value::string_list(Vec::new())),
            (Value::Missing, Ty::Map) => return Ok(Value::empty_map()),
            (Value::Missing, _) => {
                return Err(self.errorf(format!("invalid value; expected {}", ty.go_name())));
            }
            (_, Ty::Any | Ty::Value) => true,
            (Value::String(_), Ty::String) => true,
            (Value::Int(_), Ty::Int) => true,
            (Value::Int64(_), Ty::Int64) => true,
            (Value::Float(_), Ty::Float64) => true,
            (Value::Bool(_), Ty::Bool) => true,
            (Value::List(_, Elem::Any), Ty::List) => true,
            (Value::List(_, Elem::String), Ty::StringList) => true,
            (Value::Map(m), Ty::Map) => m.elem() == Elem::Any,
            (Value::Object(o), Ty::Map) => {
                if let Some(inner @ Value::Map(_)) = o.as_value() {
                    return Ok(inner);
                }
                false
            }
            _ => false,
        };
        if ok {
            return Ok(v);
        }
        let got = match v {
            Value::Nil => "interface {}".to_string(),
            _ => v.type_name(),
        };
        Err(self.errorf(format!(
            "wrong type for value; expected {}; got {got}",
            ty.go_name()
        )))
    }

    /// Evaluates an argument for a parameter of type `ty` (`None`: Go's nil type).
    fn eval_arg(&mut self, dot: &Value, ty: Option<Ty>, n: &'t Arg) -> R<Value> {
        self.at(At::Arg(n));
        let check = |s: &Self, v: Value| match ty {
            None => Ok(v),
            Some(t) => s.validate_type(v, t),
        };
        match n {
            Arg::Dot { .. } => return check(self, dot.clone()),
            Arg::Nil { .. } => {
                return match ty {
                    None | Some(Ty::Any) => Ok(Value::Nil),
                    Some(Ty::Value) => Ok(Value::Missing),
                    Some(Ty::List) => Ok(Value::list(Vec::new())),
                    Some(Ty::StringList) => Ok(Value::string_list(Vec::new())),
                    Some(Ty::Map) => Ok(Value::empty_map()),
                    Some(t) => Err(self.errorf(format!("cannot assign nil to {}", t.go_name()))),
                };
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    self.dot_iface,
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                )?;
                return check(self, v);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable_node(dot, n, &[], None)?;
                return check(self, v);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return check(self, v);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, At::Arg(n), &[], None)?;
                return check(self, v);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain_node(dot, n, &[], None)?;
                return check(self, v);
            }
            _ => {}
        }
        let found = |s: &Self, what: &str| Err(s.errorf(format!("expected {what}; found {n}")));
        match ty {
            Some(Ty::Bool) => match n {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                _ => found(self, "bool"),
            },
            Some(Ty::Float64) => match n {
                Arg::Number { num, .. } if num.is_float => Ok(Value::Float(num.float)),
                _ => found(self, "float"),
            },
            Some(Ty::Int) | Some(Ty::Int64) => match n {
                Arg::Number { num, .. } if num.is_int => Ok(if ty == Some(Ty::Int) {
                    Value::Int(num.int)
                } else {
                    Value::Int64(num.int)
                }),
                _ => found(self, "integer"),
            },
            Some(Ty::String) => match n {
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => found(self, "string"),
            },
            None | Some(Ty::Any) | Some(Ty::Value) => match n {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                Arg::Number { num, .. } => self.ideal_constant(num),
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => Err(self.errorf(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
            Some(t) => {
                Err(self.errorf(format!("can't handle {n} for arg of type {}", t.go_name())))
            }
        }
    }
}
