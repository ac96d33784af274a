//! `BlobStore` on S3-compatible object storage, through the `minio` crate.
//!
//! Bodies stream both ways: uploads go part by part (see [`multipart`]), downloads hand the HTTP
//! response body straight to the caller. S3 makes a PUT visible atomically, which gives the
//! port's whole-object-or-nothing guarantee.

mod multipart;

use async_trait::async_trait;
use futures::StreamExt;
use minio::s3::creds::StaticProvider;
use minio::s3::error::{Error, S3ServerError, ValidationErr};
use minio::s3::http::BaseUrl;
use minio::s3::minio_error_response::MinioErrorCode;
use minio::s3::response_traits::HasS3Fields;
use minio::s3::types::{Region, S3Api, ToStream};
use minio::s3::utils::from_http_header_value;
use minio::s3::{MinioClient, MinioClientBuilder};
use std::path::Path;
use tokio_util::io::ReaderStream;

use super::key::{check_key, check_prefix};
use crate::domain::range::ByteSpan;
use crate::ports::{BlobMeta, BlobObject, BlobStore, ByteStream, ListedKey, PortError};

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// Base URL such as `http://127.0.0.1:9000`; requests use path-style addressing.
    pub endpoint: String,
    /// Signing region; empty means `us-east-1`. Never looked up from the server.
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Prepended (with a `/`) to every key, so several instances can share a bucket; may be empty.
    pub prefix: String,
    /// A PEM bundle trusted on top of the platform store (the instance's `ca_file`). The
    /// proxy, if any, comes from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

pub struct S3BlobStore {
    client: MinioClient,
    bucket: String,
    /// The configured prefix without surrounding slashes.
    prefix: String,
}

impl S3BlobStore {
    /// Builds the client and makes sure the bucket exists, creating it if missing.
    pub async fn connect(config: S3Config) -> Result<Self, PortError> {
        let mut base_url: BaseUrl = config
            .endpoint
            .parse()
            .map_err(|e| PortError::Backend(format!("S3 endpoint {:?}: {e}", config.endpoint)))?;
        base_url.virtual_style = false;
        let default_region = config.region.is_empty();
        if !default_region {
            // A region on the base URL is used for signing without asking the server.
            base_url.region = Region::new(config.region.as_str()).map_err(validation_err)?;
        }
        let provider = StaticProvider::new(&config.access_key, &config.secret_key, None);
        if let Some(ca_file) = &config.ca_file {
            // minio reads it itself; checked here first so a bad file is named clearly.
            crate::adapters::tls::read_certs(ca_file).map_err(|e| PortError::Tls(format!("S3 ca_file {e}")))?;
        }
        let client = MinioClientBuilder::new(base_url)
            .provider(Some(provider))
            .ssl_cert_file(config.ca_file.as_deref())
            .skip_region_lookup(default_region)
            .build()
            .map_err(s3_err)?;
        let prefix = config.prefix.trim_matches('/').to_owned();
        check_prefix(&prefix)?;
        let store = Self {
            client,
            bucket: config.bucket,
            prefix,
        };
        store.ensure_bucket().await?;
        Ok(store)
    }

    async fn bucket_exists(&self) -> Result<bool, PortError> {
        let request = self.client.bucket_exists(&self.bucket).map_err(validation_err)?;
        Ok(request.build().send().await.map_err(s3_err)?.exists())
    }

    async fn ensure_bucket(&self) -> Result<(), PortError> {
        if self.bucket_exists().await? {
            return Ok(());
        }
        let request = self.client.create_bucket(&self.bucket).map_err(validation_err)?;
        if let Err(e) = request.build().send().await {
            // Another instance may have created it in the meantime.
            if !self.bucket_exists().await? {
                return Err(s3_err(e));
            }
        }
        Ok(())
    }

    fn object_key(&self, key: &str) -> Result<String, PortError> {
        check_key(key)?;
        Ok(self.with_prefix(key))
    }

    fn with_prefix(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, body: ByteStream, size_hint: Option<u64>) -> Result<(), PortError> {
        let object = self.object_key(key)?;
        let part_size = multipart::part_size_for(size_hint);
        multipart::upload(&self.client, &self.bucket, &object, body, part_size).await
    }

    async fn put_file(&self, key: &str, file: &Path, size: u64) -> Result<(), PortError> {
        let object = self.object_key(key)?;
        let opened = tokio::fs::File::open(file)
            .await
            .map_err(|e| PortError::Backend(format!("open {}: {e}", file.display())))?;
        let len = opened
            .metadata()
            .await
            .map_err(|e| PortError::Backend(format!("stat {}: {e}", file.display())))?
            .len();
        if len != size {
            return Err(PortError::Backend(format!(
                "put_file {}: size is {len} bytes, caller said {size}",
                file.display()
            )));
        }
        let body: ByteStream = Box::pin(ReaderStream::with_capacity(opened, 64 * 1024));
        let part_size = multipart::part_size_for(Some(size));
        multipart::upload(&self.client, &self.bucket, &object, body, part_size)
            .await
            .map_err(|e| match e {
                // A local read failure is this store's problem, not a client disconnect.
                PortError::Interrupted(msg) => PortError::Backend(format!("read {}: {msg}", file.display())),
                other => other,
            })
    }

    async fn get(&self, key: &str, span: Option<ByteSpan>) -> Result<BlobObject, PortError> {
        let object = self.object_key(key)?;
        let request = self.client.get_object(&self.bucket, &object).map_err(validation_err)?;
        let response = request
            .offset(span.map(|s| s.start))
            .length(span.map(|s| s.len()))
            .build()
            .send()
            .await
            .map_err(s3_err)?;
        let headers = response.headers();
        let last_modified = headers
            .get(http::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| from_http_header_value(v).ok());
        let total = headers
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(range_total);
        let (stream, length) = response.into_boxed_stream().map_err(s3_err)?;
        let size = match (total, span) {
            (Some(total), _) => total,
            (None, None) => length,
            // Without Content-Range the server sent the whole object: only right if that is the span.
            (None, Some(span)) if span.start == 0 && span.len() == length => length,
            (None, Some(_)) => {
                return Err(PortError::Backend(format!(
                    "S3 ignored the range requested for {object}"
                )));
            }
        };
        Ok(BlobObject {
            meta: BlobMeta { size, last_modified },
            body: stream,
        })
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobMeta>, PortError> {
        let object = self.object_key(key)?;
        let request = self.client.stat_object(&self.bucket, &object).map_err(validation_err)?;
        let response = match request.build().send().await.map_err(s3_err) {
            Ok(r) => r,
            Err(PortError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let size = response.size().map_err(validation_err)?;
        let last_modified = response.last_modified().map_err(validation_err)?;
        Ok(Some(BlobMeta { size, last_modified }))
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let object = self.object_key(key)?;
        let request = self
            .client
            .delete_object(&self.bucket, object.as_str())
            .map_err(validation_err)?;
        match request.build().send().await.map_err(s3_err) {
            Ok(_) | Err(PortError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// ListObjectsV2 lists in UTF-8 byte order; `start-after` and `max-keys` make one page.
    async fn list(&self, prefix: &str, after: Option<String>, limit: usize) -> Result<Vec<ListedKey>, PortError> {
        check_prefix(prefix)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let full_prefix = self.with_prefix(prefix);
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let request = self.client.list_objects(&self.bucket).map_err(validation_err)?;
        let mut pages = request
            .recursive(true)
            .prefix(full_prefix)
            .start_after(after.map(|a| self.with_prefix(&a)))
            .max_keys(u16::try_from(limit.min(1000)).unwrap_or(1000))
            .build()
            .to_stream()
            .await;
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            for entry in page.map_err(s3_err)?.contents {
                if entry.is_prefix {
                    continue;
                }
                if let Some(key) = entry.name.strip_prefix(&strip) {
                    keys.push(ListedKey {
                        key: key.to_owned(),
                        meta: BlobMeta {
                            size: entry.size.unwrap_or_default(),
                            last_modified: entry.last_modified,
                        },
                    });
                }
                if keys.len() == limit {
                    return Ok(keys);
                }
            }
        }
        Ok(keys)
    }

    async fn check(&self) -> Result<(), PortError> {
        if self.bucket_exists().await? {
            Ok(())
        } else {
            Err(PortError::Backend(format!(
                "S3 bucket {:?} does not exist",
                self.bucket
            )))
        }
    }
}

/// The total size from a `Content-Range: bytes <start>-<end>/<total>` header.
fn range_total(value: &str) -> Option<u64> {
    value.rsplit_once('/').and_then(|(_, total)| total.trim().parse().ok())
}

/// A missing object is `NotFound`; everything else is `Backend` with a one-line message. The
/// secret key is never part of a request, so it cannot appear here.
fn s3_err(e: Error) -> PortError {
    match &e {
        Error::S3Server(S3ServerError::S3Error(response)) => match response.code() {
            MinioErrorCode::NoSuchKey => PortError::NotFound,
            code => PortError::Backend(format!(
                "S3 {code:?}: {} ({})",
                response.message().as_deref().unwrap_or("no message"),
                response.resource()
            )),
        },
        Error::S3Server(S3ServerError::HttpError(404, _)) => PortError::NotFound,
        _ => match crate::adapters::tls::client::tls_failure(&e) {
            Some(reason) => PortError::Tls(format!("S3: {reason}")),
            None => PortError::Backend(describe(&e)),
        },
    }
}

fn validation_err(e: ValidationErr) -> PortError {
    PortError::Backend(describe(&e))
}

/// The error and its causes on one line (minio's top-level messages omit the cause).
fn describe(e: &dyn std::error::Error) -> String {
    let mut message = format!("S3: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let config = S3Config {
            bucket: "b".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: String::new(),
            access_key: "AK".into(),
            secret_key: "very-secret".into(),
            prefix: String::new(),
            ca_file: None,
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret") && shown.contains("AK"), "{shown}");
    }

    #[test]
    fn content_range_total() {
        assert_eq!(range_total("bytes 0-9/100"), Some(100));
        assert_eq!(range_total("bytes */100"), Some(100));
        assert_eq!(range_total("bytes 0-9/*"), None);
    }
}
