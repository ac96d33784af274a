//! An in-process S3-compatible server for tests: `s3s` over real HTTP on `127.0.0.1:<random
//! port>`, with SigV4 authentication, storing objects in a temporary directory via `s3s-fs`.
//!
//! Self-contained so any test (contract suites, end-to-end tests of the binary) can use it:
//! `let s3 = TestS3::start().await; let config = s3.config("bucket");`.
#![allow(clippy::expect_used)] // a test fixture: failing to start is a test failure

use std::path::Path;
use std::sync::{Arc, Mutex};

use artifactapi::adapters::blob::s3::S3Config;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const ACCESS_KEY: &str = "artifactapi-test";
const SECRET_KEY: &str = "artifactapi-test-secret";

/// A running server; it stops and its directory is removed when this is dropped.
pub struct TestS3 {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    accept_loop: JoinHandle<()>,
    dir: tempfile::TempDir,
    /// HTTPS only: the config new connections get, and the open connections (aborted when the
    /// config changes, so clients must handshake again).
    tls: Option<Arc<Mutex<Arc<rustls::ServerConfig>>>>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TestS3 {
    pub async fn start() -> TestS3 {
        Self::start_with(None).await
    }

    /// Over HTTPS with `config` (see `support::tls`); `endpoint` is `https://127.0.0.1:<port>`.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> TestS3 {
        Self::start_with(Some(config)).await
    }

    /// Presents `config` from now on and drops every open connection.
    pub fn set_tls(&self, config: Arc<rustls::ServerConfig>) {
        if let Some(tls) = &self.tls {
            *tls.lock().expect("tls lock") = config;
        }
        for connection in self.connections.lock().expect("connections lock").drain(..) {
            connection.abort();
        }
    }

    async fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> TestS3 {
        let dir = tempfile::tempdir().expect("temp dir for the test S3 server");
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs backend");
        let mut builder = S3ServiceBuilder::new(EmptyDelimiterIsNone(fs));
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test S3 server");
        let addr = listener.local_addr().expect("test S3 server address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let tls = tls.map(|config| Arc::new(Mutex::new(config)));
        let connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (loop_tls, loop_connections) = (tls.clone(), connections.clone());
        let accept_loop = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                let config = loop_tls.as_ref().map(|c| c.lock().expect("tls lock").clone());
                let task = tokio::spawn(async move {
                    let http = ConnBuilder::new(TokioExecutor::new());
                    match config {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(socket), service).await;
                        }
                        Some(config) => {
                            let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(socket).await else {
                                return;
                            };
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
                let mut open = loop_connections.lock().expect("connections lock");
                open.retain(|c| !c.is_finished());
                open.push(task.abort_handle());
            }
        });
        TestS3 {
            endpoint: format!("{scheme}://{addr}"),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.to_owned(),
            accept_loop,
            dir,
            tls,
            connections,
        }
    }

    /// A config for `bucket` (created by `S3BlobStore::connect` if missing), no key prefix.
    pub fn config(&self, bucket: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            endpoint: self.endpoint.clone(),
            region: "us-east-1".to_owned(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            prefix: String::new(),
            ca_file: None,
        }
    }

    /// The server's storage directory (buckets are subdirectories; in-progress multipart
    /// uploads are `.upload_id-*` files at the top).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// s3s-fs treats `delimiter=` (empty, as the minio SDK sends for a recursive listing) as a
/// delimiter that matches everywhere and lists nothing; S3 and MinIO treat it as no delimiter.
/// This wrapper fixes that and passes every other operation s3s-fs implements straight through.
struct EmptyDelimiterIsNone(s3s_fs::FileSystem);

fn no_empty(delimiter: &mut Option<String>) {
    if delimiter.as_deref() == Some("") {
        *delimiter = None;
    }
}

macro_rules! delegating_s3 {
    ($($op:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for EmptyDelimiterIsNone {
            async fn list_objects(&self, mut req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
                no_empty(&mut req.input.delimiter);
                self.0.list_objects(req).await
            }

            async fn list_objects_v2(&self, mut req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
                no_empty(&mut req.input.delimiter);
                self.0.list_objects_v2(req).await
            }

            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.0.$op(req).await
                }
            )*
        }
    };
}

delegating_s3! {
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
    put_object(PutObjectInput) -> PutObjectOutput;
    upload_part(UploadPartInput) -> UploadPartOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
}
