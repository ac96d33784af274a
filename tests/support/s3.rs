//! An in-process S3-compatible server for tests: `s3s` over real HTTP on `127.0.0.1:<random
//! port>`, with SigV4 authentication, storing objects in a temporary directory via `s3s-fs`.
//!
//! Self-contained so any test (contract suites, end-to-end tests of the binary) can use it:
//! `let s3 = TestS3::start().await; let config = s3.config("bucket");`.
#![allow(clippy::expect_used)] // a test fixture: failing to start is a test failure

use std::path::Path;

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
}

impl TestS3 {
    pub async fn start() -> TestS3 {
        let dir = tempfile::tempdir().expect("temp dir for the test S3 server");
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs backend");
        let mut builder = S3ServiceBuilder::new(EmptyDelimiterIsNone(fs));
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test S3 server");
        let addr = listener.local_addr().expect("test S3 server address");
        let accept_loop = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        TestS3 {
            endpoint: format!("http://{addr}"),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.to_owned(),
            accept_loop,
            dir,
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
