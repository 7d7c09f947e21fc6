//! ResolveRevision, GetRevisionMetadata, ListRefs and TestRepository: the
//! Git side of the protocol, answered from Kiln's mirrors.

use std::time::Duration;

use tracing::info;

use crate::{
    ArgoRepoServer, Error,
    proto::{meta_v1, repository as pb, v1alpha1},
    repo::{RequestRepo, blocking},
};

/// True for a full or abbreviated commit id as Argo CD accepts it (7 to 40
/// hex digits).
fn is_commit_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ArgoRepoServer {
    /// ResolveRevision.
    pub(crate) async fn resolve(
        &self,
        q: pb::ResolveRevisionRequest,
    ) -> Result<pb::ResolveRevisionResponse, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        if let Some(spec) = q.app.as_ref().and_then(|a| a.spec.as_ref()) {
            let index = usize::try_from(q.source_index).unwrap_or(0);
            let source = if spec.sources.is_empty() {
                spec.source.as_ref()
            } else {
                spec.sources.get(index).or(spec.sources.first())
            };
            if let Some(s) = source
                && (!s.chart().is_empty() || s.repo_url().starts_with("oci://"))
            {
                return Err(Error::Unsupported(
                    "resolving Helm repository and OCI revisions is not supported by Kiln yet"
                        .into(),
                ));
            }
        }
        let resolved = repo
            .resolve(
                self.pipeline.git(),
                &q.ambiguous_revision,
                q.no_revision_cache,
            )
            .await?;
        let sha = resolved.commit.to_hex();
        info!(commit = %sha, kind = resolved.kind.as_str(), stale = resolved.stale, "resolved");
        Ok(pb::ResolveRevisionResponse {
            ambiguous_revision: format!("{} ({sha})", q.ambiguous_revision),
            revision: sha,
        })
    }

    /// GetRevisionMetadata: author as `Name <email>`, author date, tags
    /// pointing at the commit, message without surrounding blank space.
    pub(crate) async fn revision_metadata(
        &self,
        q: pb::RepoServerRevisionMetadataRequest,
    ) -> Result<v1alpha1::RevisionMetadata, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        if !is_commit_sha(&q.revision) {
            return Err(Error::InvalidArgument(format!(
                "revision {} must be resolved",
                q.revision
            )));
        }
        let resolved = repo
            .resolve(self.pipeline.git(), &q.revision, false)
            .await?;
        let mirror = resolved.mirror.clone();
        let md = blocking(move || Ok(mirror.metadata(resolved.commit)?)).await?;
        Ok(v1alpha1::RevisionMetadata {
            author: Some(format!("{} <{}>", md.author.name, md.author.email)),
            date: Some(meta_v1::Time {
                seconds: Some(md.author.time),
                nanos: Some(0),
            }),
            tags: md.tags,
            message: Some(md.message.trim().to_owned()),
            signature_info: None,
            source_integrity_result: None,
        })
    }

    /// ListRefs: branches and tags, sorted, as of a fetch no older than the
    /// fetch interval.
    pub(crate) async fn refs(&self, q: pb::ListRefsRequest) -> Result<pb::Refs, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        let git = self.pipeline.git();
        let mirror = git.mirror(&repo.url)?;
        let max_age = git.options().fetch_interval;
        git.refresh_with(&mirror, max_age, repo.credential.credential())
            .await?;
        let names = blocking(move || Ok(mirror.ref_names()?)).await?;
        Ok(pb::Refs {
            branches: names.branches,
            tags: names.tags,
        })
    }

    /// TestRepository: a fetch with the request's credential must succeed.
    pub(crate) async fn test_repo(
        &self,
        q: pb::TestRepositoryRequest,
    ) -> Result<pb::TestRepositoryResponse, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        let git = self.pipeline.git();
        let mirror = git.mirror(&repo.url)?;
        let stale = git
            .refresh_with(&mirror, Duration::ZERO, repo.credential.credential())
            .await?;
        if stale {
            return Err(kiln_git::Error::Unavailable {
                repo: mirror.url().key().to_owned(),
                cause: mirror.last_fetch_error().unwrap_or_default(),
            }
            .into());
        }
        Ok(pb::TestRepositoryResponse {
            verified_repository: false,
        })
    }
}
