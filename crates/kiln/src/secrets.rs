//! `kiln secrets`: a sops-compatible CLI (encrypt, decrypt, edit,
//! updatekeys, rotate), and the keys a render gets: the server's keyring and
//! policy, or the caller's `SOPS_AGE_KEY*` for the local CLI.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kiln_render::SecretSettings;
use kiln_secrets::{NamedKeys, Policy, SecretsConfig, SopsOpener};
use kiln_sops::{CryptRule, EncryptOptions, EncryptedFile, Format, Keyring, SopsConfig};
use tracing::info;
use zeroize::Zeroizing;

/// `kiln secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SecretsCommand,
}

/// `kiln secrets` subcommands, named and flagged as sops names them.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt a file (recipients from --age or the nearest .sops.yaml).
    Encrypt(EncryptArgs),
    /// Decrypt a file with the keys of SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or
    /// SOPS_AGE_SSH_PRIVATE_KEY_FILE (else sops's default key file).
    Decrypt(FileArgs),
    /// Decrypt a file into $SOPS_EDITOR/$EDITOR and encrypt what is saved.
    Edit(FileArgs),
    /// Re-wrap the data key for the recipients .sops.yaml now names.
    Updatekeys(UpdateKeysArgs),
    /// Generate a new data key and re-encrypt every value.
    Rotate(RotateArgs),
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The file.
    pub file: PathBuf,
    /// Format of the input (yaml, json, dotenv, ini, binary); default from the extension.
    #[arg(long)]
    pub input_type: Option<String>,
    /// Format of the output; must equal the input's.
    #[arg(long)]
    pub output_type: Option<String>,
    /// Write the result back to the file instead of stdout.
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write the result to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// The .sops.yaml to use instead of searching up from the working directory.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `kiln secrets encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Comma-separated age recipients (`age1…`, `ssh-ed25519 …`).
    #[arg(long)]
    pub age: Option<String>,
    /// Encrypt only values whose key matches this regex.
    #[arg(long)]
    pub encrypted_regex: Option<String>,
    /// Leave values whose key matches this regex unencrypted.
    #[arg(long)]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values whose key ends with this suffix.
    #[arg(long)]
    pub encrypted_suffix: Option<String>,
    /// Leave values whose key ends with this suffix unencrypted.
    #[arg(long)]
    pub unencrypted_suffix: Option<String>,
    /// Encrypt only values after a comment matching this regex.
    #[arg(long)]
    pub encrypted_comment_regex: Option<String>,
    /// Leave values after a comment matching this regex unencrypted.
    #[arg(long)]
    pub unencrypted_comment_regex: Option<String>,
    /// The MAC covers only encrypted values.
    #[arg(long)]
    pub mac_only_encrypted: bool,
}

/// `kiln secrets updatekeys`.
#[derive(Debug, Args)]
pub struct UpdateKeysArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Apply without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `kiln secrets rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Add these age recipients (comma-separated) while rotating.
    #[arg(long)]
    pub add_age: Option<String>,
    /// Remove these age recipients (comma-separated) while rotating.
    #[arg(long)]
    pub rm_age: Option<String>,
}

/// The server's secret settings from the `secrets:` section of --config.
pub fn server_settings(config: &SecretsConfig) -> Result<SecretSettings> {
    let keys = NamedKeys::load(config)?;
    let policy = Policy::new(&config.rules, &keys)?;
    info!(
        keys = keys.names().count(),
        rules = config.rules.len(),
        cache = config.cache,
        "decrypt-as-read enabled"
    );
    Ok(SecretSettings {
        opener: Arc::new(SopsOpener::new(keys, policy)),
        cache: config.cache,
    })
}

/// For the local CLI: the caller's own sops keys, usable for any file, or
/// `None` when there are none.
pub fn env_settings() -> Result<Option<SecretSettings>> {
    let ring = kiln_sops::keyring_from_env().context("loading sops age keys")?;
    if ring.is_empty() {
        return Ok(None);
    }
    let mut keys = NamedKeys::default();
    keys.insert("environment", ring);
    let policy = Policy::allow_all(&keys);
    Ok(Some(SecretSettings {
        opener: Arc::new(SopsOpener::new(keys, policy)),
        cache: false,
    }))
}

/// Runs a `kiln secrets` command.
pub fn command(args: SecretsArgs) -> Result<()> {
    match args.command {
        SecretsCommand::Encrypt(a) => encrypt(a),
        SecretsCommand::Decrypt(a) => decrypt(a),
        SecretsCommand::Edit(a) => edit(a),
        SecretsCommand::Updatekeys(a) => update_keys(a),
        SecretsCommand::Rotate(a) => rotate(a),
    }
}

fn format_of(a: &FileArgs) -> Result<Format> {
    let name = a.file.to_string_lossy();
    let input = match &a.input_type {
        Some(t) => Format::from_name(t).with_context(|| {
            format!("--input-type {t}: expected yaml, json, dotenv, ini or binary")
        })?,
        None => Format::from_path(&name),
    };
    if let Some(t) = &a.output_type {
        let out = Format::from_name(t).with_context(|| {
            format!("--output-type {t}: expected yaml, json, dotenv, ini or binary")
        })?;
        if out != input {
            bail!(
                "--output-type {t}: converting between formats is not supported (input is {})",
                input.name()
            );
        }
    }
    Ok(input)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes to stdout, --output or the file itself (through a temporary file
/// renamed into place, so a crash never leaves half a file).
fn write_out(a: &FileArgs, bytes: &[u8]) -> Result<()> {
    let target = if a.in_place {
        Some(a.file.clone())
    } else {
        a.output.clone()
    };
    match target {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            tmp.write_all(bytes)?;
            if let Ok(meta) = std::fs::metadata(&path) {
                tmp.as_file().set_permissions(meta.permissions())?;
            }
            tmp.persist(&path)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

fn keyring() -> Result<Keyring> {
    let ring = kiln_sops::keyring_from_env().context("loading sops age keys")?;
    if ring.is_empty() {
        bail!(
            "no age key: set SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or SOPS_AGE_SSH_PRIVATE_KEY_FILE, or write $XDG_CONFIG_HOME/sops/age/keys.txt"
        );
    }
    Ok(ring)
}

/// The .sops.yaml in force (--config, else the nearest one up from the
/// working directory, as sops looks for it), with its store options.
fn sops_config(a: &FileArgs) -> Result<Option<(PathBuf, SopsConfig)>> {
    let path = match &a.config {
        Some(p) => Some(p.clone()),
        None => {
            let cwd = std::env::current_dir().context("reading the current directory")?;
            kiln_sops::find_config_fs(&cwd)
        }
    };
    let Some(path) = path else { return Ok(None) };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config = SopsConfig::parse(&text, &path.display().to_string())?;
    Ok(Some((path, config)))
}

/// The recipients and options .sops.yaml gives for the file.
fn rule_options(a: &FileArgs) -> Result<Option<EncryptOptions>> {
    let Some((path, config)) = sops_config(a)? else {
        return Ok(None);
    };
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let file = std::path::absolute(&a.file).unwrap_or_else(|_| a.file.clone());
    let name = path.display().to_string();
    let rule = config.rule_for(&name, &dir, &file)?;
    let index = config
        .creation_rules
        .iter()
        .position(|r| std::ptr::eq(r, rule))
        .unwrap_or(0);
    Ok(Some(rule.encrypt_options(&name, index, config.stores)?))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

fn encrypt(a: EncryptArgs) -> Result<()> {
    let format = format_of(&a.file)?;
    let rules: Vec<CryptRule> = [
        a.encrypted_regex.clone().map(CryptRule::EncryptedRegex),
        a.unencrypted_regex.clone().map(CryptRule::UnencryptedRegex),
        a.encrypted_suffix.clone().map(CryptRule::EncryptedSuffix),
        a.unencrypted_suffix
            .clone()
            .map(CryptRule::UnencryptedSuffix),
        a.encrypted_comment_regex
            .clone()
            .map(CryptRule::EncryptedCommentRegex),
        a.unencrypted_comment_regex
            .clone()
            .map(CryptRule::UnencryptedCommentRegex),
    ]
    .into_iter()
    .flatten()
    .collect();
    if rules.len() > 1 {
        bail!(
            "give only one of --encrypted-regex, --unencrypted-regex, --encrypted-suffix, --unencrypted-suffix, --encrypted-comment-regex, --unencrypted-comment-regex"
        );
    }
    let mut opts = match &a.age {
        Some(list) => EncryptOptions {
            recipients: split_list(list),
            ..EncryptOptions::default()
        },
        None => rule_options(&a.file)?.context(
            "no recipients: give --age or a .sops.yaml with a creation rule for this file",
        )?,
    };
    if let Some(rule) = rules.into_iter().next() {
        opts.rule = rule;
    }
    opts.mac_only_encrypted |= a.mac_only_encrypted;
    let plain = Zeroizing::new(read(&a.file.file)?);
    let name = a.file.file.display().to_string();
    let out = kiln_sops::encrypt(&name, &plain, format, &opts)?;
    write_out(&a.file, &out)
}

fn decrypt(a: FileArgs) -> Result<()> {
    let format = format_of(&a)?;
    let input = read(&a.file)?;
    let name = a.file.display().to_string();
    let plain = kiln_sops::decrypt(&name, &input, format, &keyring()?)?;
    write_out(&a, &plain)
}

fn parse(a: &FileArgs) -> Result<EncryptedFile> {
    let format = format_of(a)?;
    let input = read(&a.file)?;
    let mut file = EncryptedFile::parse(&a.file.display().to_string(), &input, format)?;
    if let Some((_, config)) = sops_config(a)? {
        file = file.with_store_options(config.stores);
    }
    Ok(file)
}

fn edit(a: FileArgs) -> Result<()> {
    let file = parse(&a)?;
    let decrypted = file.decrypt(&keyring()?)?;
    let before = decrypted.to_plaintext()?;
    // The plaintext exists on disk only for the editor, in a private
    // directory, and is overwritten before it is removed.
    let dir = tempfile::Builder::new().prefix("kiln-edit-").tempdir()?;
    let ext = a
        .file
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let scratch = dir.path().join(format!("plaintext{ext}"));
    let result = (|| -> Result<Option<Vec<u8>>> {
        write_private(&scratch, &before)?;
        run_editor(&scratch)?;
        let after = Zeroizing::new(read(&scratch)?);
        if *after == *before {
            return Ok(None);
        }
        Ok(Some(decrypted.reencrypt(&after)?))
    })();
    if let Ok(len) = std::fs::metadata(&scratch).map(|m| m.len()) {
        let _ = std::fs::write(&scratch, vec![0u8; len as usize]);
    }
    drop(dir);
    match result? {
        None => {
            eprintln!("File has not changed, exiting.");
            Ok(())
        }
        Some(out) => write_out(
            &FileArgs {
                in_place: true,
                output: None,
                ..a
            },
            &out,
        ),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

#[allow(clippy::disallowed_methods)] // the user's editor: the one program `edit` exists to run
fn run_editor(path: &Path) -> Result<()> {
    let editor = std::env::var("SOPS_EDITOR")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().context("the editor variable is empty")?;
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(path)
        .status()
        .with_context(|| format!("starting the editor '{editor}'"))?;
    if !status.success() {
        bail!("the editor '{editor}' exited with {status}");
    }
    Ok(())
}

fn update_keys(a: UpdateKeysArgs) -> Result<()> {
    let mut file = parse(&a.file)?;
    let wanted = rule_options(&a.file)?
        .context("updatekeys needs a .sops.yaml with a creation rule for this file")?
        .recipients;
    let changes = file.update_keys(&keyring()?, &wanted)?;
    if changes.added.is_empty() && changes.removed.is_empty() {
        eprintln!("{}: the file is up to date", a.file.file.display());
        return Ok(());
    }
    eprintln!("The following changes will be made to the file's groups:");
    for r in &changes.added {
        eprintln!("+++ {r}");
    }
    for r in &changes.removed {
        eprintln!("--- {r}");
    }
    if !a.yes {
        eprint!("Is this okay? (y/n):");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !answer.trim().eq_ignore_ascii_case("y") {
            bail!("changes not applied");
        }
    }
    write_out(
        &FileArgs {
            in_place: true,
            output: None,
            ..a.file
        },
        &file.to_bytes()?,
    )
}

fn rotate(a: RotateArgs) -> Result<()> {
    let mut file = parse(&a.file)?;
    let changed = a.add_age.is_some() || a.rm_age.is_some();
    let mut recipients: Vec<String> = file.recipients().iter().map(|s| s.to_string()).collect();
    if let Some(add) = &a.add_age {
        for r in split_list(add) {
            if !recipients.contains(&r) {
                recipients.push(r);
            }
        }
    }
    if let Some(rm) = &a.rm_age {
        let rm = split_list(rm);
        recipients.retain(|r| !rm.contains(r));
    }
    file.rotate(&keyring()?, changed.then_some(recipients.as_slice()))?;
    write_out(&a.file, &file.to_bytes()?)
}
