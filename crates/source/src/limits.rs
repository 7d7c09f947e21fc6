/// Bounds on what one render may read from its source tree.
///
/// The limits count file contents only: directory listings and existence
/// checks are free, and bytes are counted once per distinct path however often
/// a renderer reads it. They do not bound CPU time or the size of the output;
/// those belong to the renderer's own limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest single file, in bytes (default 16 MiB).
    pub max_file_size: u64,
    /// Most distinct files read in one render (default 10 000).
    pub max_files: u64,
    /// Most bytes read in one render, summed over distinct files (default 256 MiB).
    pub max_total_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_size: 16 << 20,
            max_files: 10_000,
            max_total_bytes: 256 << 20,
        }
    }
}
