//! Where backups live: a folder or `s3://BUCKET/PREFIX`, both behind `object_store`. S3 credentials,
//! region and endpoint come from the standard AWS environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`).

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

use super::BackupError;
use crate::fs::{FsError, WriteOptions, io_hint, write_bytes_atomically};

/// A backup location: a store and the prefix inside it.
#[derive(Debug, Clone)]
pub(super) struct Target {
    store: Arc<dyn ObjectStore>,
    /// A folder's store, whose files are written through [`crate::fs`] rather than `object_store`:
    /// synced with their folder, and no staging file left behind by a stopped backup.
    local: Option<Arc<LocalFileSystem>>,
    prefix: Path,
    /// As the user wrote it, for messages.
    pub(super) name: String,
}

impl Target {
    /// Opens `target` (a folder, created if missing, or `s3://BUCKET/PREFIX`).
    pub(super) fn open(target: &str) -> Result<Self, BackupError> {
        let invalid = |problem: String| BackupError::Target {
            target: target.to_owned(),
            problem,
        };
        if let Some(rest) = target.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid(
                    "no bucket: write it as s3://BUCKET/PREFIX".to_owned(),
                ));
            }
            let mut builder =
                object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            // An S3-compatible server on the local network (MinIO, s3s, moto) often speaks plain http.
            if std::env::var("AWS_ENDPOINT_URL")
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .is_ok_and(|endpoint| endpoint.starts_with("http://"))
            {
                builder = builder.with_allow_http(true);
            }
            let store = builder.build().map_err(|error| {
                invalid(format!(
                    "{error}; set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (and AWS_ENDPOINT_URL for an S3-compatible server)"
                ))
            })?;
            return Ok(Self {
                store: Arc::new(store),
                local: None,
                prefix: Path::from(prefix),
                name: target.to_owned(),
            });
        }
        let folder = target.strip_prefix("file://").unwrap_or(target);
        std::fs::create_dir_all(folder).map_err(|error| {
            invalid(format!(
                "cannot create the folder: {error}; {}",
                io_hint(error.kind())
            ))
        })?;
        let store = Arc::new(
            LocalFileSystem::new_with_prefix(folder).map_err(|error| invalid(error.to_string()))?,
        );
        Ok(Self {
            store: store.clone(),
            local: Some(store),
            prefix: Path::default(),
            name: target.to_owned(),
        })
    }

    fn path(&self, relative: &str) -> Path {
        relative
            .split('/')
            .fold(self.prefix.clone(), |path, part| path.clone().join(part))
    }

    /// Fails early, with the fix, when the bucket is missing or the credentials are refused.
    pub(super) async fn check(&self) -> Result<(), BackupError> {
        self.store
            .list_with_delimiter(Some(&self.prefix))
            .await
            .map(|_| ())
            .map_err(|error| self.error("", &error))
    }

    /// The object at `relative`, or `None` when there is none.
    pub(super) async fn get(&self, relative: &str) -> Result<Option<Vec<u8>>, BackupError> {
        match self.store.get(&self.path(relative)).await {
            Ok(found) => found
                .bytes()
                .await
                .map(|bytes| Some(bytes.to_vec()))
                .map_err(|error| self.error(relative, &error)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(relative, &error)),
        }
    }

    /// Stores `bytes` at `relative`, whole or not at all (a folder's files are written atomically by
    /// [`crate::fs`]; an S3 PUT is atomic).
    pub(super) async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), BackupError> {
        let location = self.path(relative);
        let Some(local) = &self.local else {
            return self
                .store
                .put(&location, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(|error| self.error(relative, &error));
        };
        // The file the store reads the object from.
        let file = local
            .path_to_filesystem(&location)
            .map_err(|error| self.error(relative, &error))?;
        let written = tokio::task::spawn_blocking(move || {
            if let Some(folder) = file.parent() {
                std::fs::create_dir_all(folder).map_err(|source| FsError::new(folder, source))?;
            }
            write_bytes_atomically(&file, &bytes, WriteOptions::default())
        })
        .await
        .map_err(|error| {
            BackupError::Input(format!("the writer stopped: {error}; run the backup again"))
        })?;
        written.map_err(|error| BackupError::Store {
            target: self.name.clone(),
            object: relative.to_owned(),
            problem: error.source.to_string(),
            hint: io_hint(error.source.kind()),
        })
    }

    /// A store failure, with what to do about it.
    fn error(&self, relative: &str, error: &object_store::Error) -> BackupError {
        let text = error.to_string();
        let lower = text.to_lowercase();
        let io = std::iter::successors(
            Some(error as &(dyn std::error::Error + 'static)),
            |current| current.source(),
        )
        .find_map(|current| current.downcast_ref::<std::io::Error>());
        let hint = if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
            "the bucket does not exist: create it (e.g. `aws s3 mb s3://BUCKET`) or fix its name"
        } else if matches!(
            error,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || lower.contains("accessdenied")
            || lower.contains("signaturedoesnotmatch")
            || lower.contains("invalidaccesskeyid")
        {
            "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may write the bucket"
        } else if let Some(io) = io {
            io_hint(io.kind())
        } else if lower.contains("no space left") {
            io_hint(std::io::ErrorKind::StorageFull)
        } else if lower.contains("permission denied") {
            io_hint(std::io::ErrorKind::PermissionDenied)
        } else {
            "check the target and the network"
        };
        BackupError::Store {
            target: self.name.clone(),
            object: relative.to_owned(),
            problem: text,
            hint,
        }
    }
}
