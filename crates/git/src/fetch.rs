use std::{collections::HashSet, sync::atomic::AtomicBool};

use gix::{
    bstr::{BString, ByteSlice},
    refs::transaction::{Change, PreviousValue, RefEdit, RefLog},
};
use tracing::debug;

use crate::{Credential, error::chain};

/// The refspecs of a mirror: every branch and tag, plus the remote's HEAD.
const REFSPECS: [&str; 3] = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    "+HEAD:refs/kiln/HEAD",
];

/// Fetches every branch and tag of `url` into the bare repository `repo`,
/// then deletes local branches and tags the remote no longer has.
///
/// Blocking; runs on a blocking thread. Returns the cause as text on failure
/// (the caller adds the repository name).
pub(crate) fn fetch_blocking(
    repo: &gix::Repository,
    url: &str,
    credential: Option<&Credential>,
    interrupt: &AtomicBool,
) -> Result<usize, String> {
    if let Some(c) = credential {
        c.check_transport(url)?;
    }
    let mut repo = repo.clone();
    if let Some(cmd) = credential.and_then(ssh_command) {
        let mut cfg = repo.config_snapshot_mut();
        cfg.set_value(&gix::config::tree::Core::SSH_COMMAND, cmd.as_str())
            .map_err(|e| chain(&e))?;
        cfg.set_value(&gix::config::tree::Ssh::VARIANT, "ssh")
            .map_err(|e| chain(&e))?;
        cfg.commit().map_err(|e| chain(&e))?;
    }
    let remote = repo
        .remote_at(url)
        .map_err(|e| chain(&e))?
        .with_refspecs(REFSPECS, gix::remote::Direction::Fetch)
        .map_err(|e| chain(&e))?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let conn = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| chain(&e))?;
    let (user, pass) = match credential {
        Some(Credential {
            username,
            password: Some(p),
            ..
        }) => (
            username.clone().unwrap_or_else(|| "git".to_owned()),
            Some(p.clone()),
        ),
        _ => (String::new(), None),
    };
    let conn = conn.with_credentials(move |action| match (action, &pass) {
        (gix::credentials::helper::Action::Get(ctx), Some(p)) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: user.clone(),
                    password: p.expose().to_owned(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    });
    let outcome = conn
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| chain(&e))?
        .receive(gix::progress::Discard, interrupt)
        .map_err(|e| chain(&e))?;
    let remote_names: HashSet<BString> = outcome
        .ref_map
        .remote_refs
        .iter()
        .map(|r| r.unpack().0.to_owned())
        .collect();
    prune(&repo, &remote_names).map_err(|e| format!("pruning deleted refs: {e}"))?;
    debug!(refs = remote_names.len(), "fetch finished");
    Ok(remote_names.len())
}

/// The system ssh command for a credential with an ssh key or known_hosts
/// file: never prompts, offers only the given key.
fn ssh_command(c: &Credential) -> Option<String> {
    if c.ssh_key_file.is_none() && c.ssh_known_hosts_file.is_none() {
        return None;
    }
    let quote =
        |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let mut cmd = "ssh -o BatchMode=yes".to_owned();
    if let Some(key) = &c.ssh_key_file {
        cmd.push_str(&format!(" -i {} -o IdentitiesOnly=yes", quote(key)));
    }
    if let Some(hosts) = &c.ssh_known_hosts_file {
        cmd.push_str(&format!(
            " -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
            quote(hosts)
        ));
    }
    Some(cmd)
}

fn prune(repo: &gix::Repository, remote: &HashSet<BString>) -> Result<(), String> {
    let mut edits = Vec::new();
    let platform = repo.references().map_err(|e| chain(&e))?;
    for prefix in ["refs/heads/", "refs/tags/"] {
        for r in platform.prefixed(prefix).map_err(|e| chain(&e))? {
            let r = r.map_err(|e| e.to_string())?;
            let name = r.name().as_bstr().to_owned();
            if !remote.contains(&name) {
                edits.push(delete(r.name().to_owned()));
            }
        }
    }
    if !remote.contains(b"HEAD".as_bstr())
        && let Ok(Some(r)) = repo.try_find_reference("refs/kiln/HEAD")
    {
        edits.push(delete(r.name().to_owned()));
    }
    if !edits.is_empty() {
        repo.edit_references(edits).map_err(|e| chain(&e))?;
    }
    Ok(())
}

/// An edit that deletes a ref, whatever it points to.
pub(crate) fn delete(name: gix::refs::FullName) -> RefEdit {
    RefEdit {
        change: Change::Delete {
            expected: PreviousValue::Any,
            log: RefLog::AndReference,
        },
        name,
        deref: false,
    }
}
