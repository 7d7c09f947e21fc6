//! Kiln's built-in `kustomize` engine as a plugin: builds the app folder's
//! kustomization with `kiln-kustomize` (Kustomize v5.5 behaviour), reading
//! every file through the host so each read lands in the render's read set.
//! `helmCharts` are inflated in the same component by `kiln-helm` (which
//! `kiln-kustomize` depends on), so chart files are recorded reads too.

use std::cell::RefCell;

use kiln_plugin_sdk::{
    Description, EntryKind, Error, ErrorKind, GenerateRequest, Plugin, Value, export_plugin,
    manifests, source,
};

struct Kustomize;

impl Plugin for Kustomize {
    fn describe() -> Description {
        Description::new("kustomize", env!("CARGO_PKG_VERSION"))
            .with_markers(kiln_kustomize::FILE_NAMES)
    }

    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
        if let Some(p) = req.parameters.first() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                None,
                format!(
                    "unknown parameter '{}' for engine kustomize (it takes none)",
                    p.key
                ),
            ));
        }
        let files = HostFiles::default();
        let built = kiln_kustomize::build(&files, &req.app_path);
        if let Some(e) = files.failure.into_inner() {
            // A remote base the host refused: the build's error names the
            // kustomization file and the entry (and carries the host's cause).
            if let Err(k) = &built
                && e.file
                    .as_deref()
                    .is_some_and(|f| f.starts_with(kiln_kustomize::remote::REMOTE_DIR))
            {
                let mut out = to_plugin_error(k.clone());
                if e.kind == ErrorKind::ResourceExhausted {
                    out.kind = e.kind;
                }
                return Err(out);
            }
            return Err(e);
        }
        let mut objects = built.map_err(to_plugin_error)?;
        if !req.namespace.is_empty() {
            for obj in &mut objects {
                manifests::set_default_namespace(obj, &req.namespace);
            }
        }
        Ok(objects)
    }
}

export_plugin!(Kustomize);

/// The revision's tree through the host; the first host failure (a limit,
/// say) is kept so it reaches the caller with its own kind.
#[derive(Default)]
struct HostFiles {
    failure: RefCell<Option<Error>>,
}

impl HostFiles {
    fn fail(&self, e: Error) -> String {
        let msg = e.message.clone();
        self.failure.borrow_mut().get_or_insert(e);
        msg
    }
}

impl kiln_kustomize::Files for HostFiles {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match source::stat(path) {
            Ok(Some(EntryKind::File)) => {
                source::read_file(path).map(Some).map_err(|e| self.fail(e))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        match source::stat(path) {
            Ok(Some(EntryKind::Dir)) => source::list_dir(path)
                .map(|entries| Some(entries.into_iter().map(|e| e.name).collect()))
                .map_err(|e| self.fail(e)),
            Ok(_) => Ok(None),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }
}

fn to_plugin_error(e: kiln_kustomize::Error) -> Error {
    use kiln_kustomize::Error as K;
    let (kind, file) = match &e {
        K::Unsupported { file, .. } => (ErrorKind::Unsupported, Some(file.clone())),
        K::Kustomization { file, .. }
        | K::Entry { file, .. }
        | K::Resource { file, .. }
        | K::DuplicateId { file, .. } => (ErrorKind::InvalidInput, Some(file.clone())),
        K::Cycle { .. } => (ErrorKind::InvalidInput, None),
        K::Read { path, .. } => (ErrorKind::NotFound, Some(path.clone())),
    };
    Error::new(kind, file.as_deref(), e.to_string())
}
