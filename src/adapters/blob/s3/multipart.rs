//! Streaming upload of a body of unknown length with bounded memory.
//!
//! minio's `put_object_content` reads part by part too, but it cannot tell a failed body from a
//! failed server, and an upload abandoned mid-way (the request future dropped) is never aborted.
//! So this drives the multipart API itself: a body shorter than one part is a single PUT; a longer
//! one is uploaded part by part, reading the next part while the current one is in flight (at
//! most two parts in memory), and aborted on any error or on drop.

use bytes::Bytes;
use futures::StreamExt;
use minio::s3::MinioClient;
use minio::s3::response_traits::HasEtagFromHeaders;
use minio::s3::segmented_bytes::SegmentedBytes;
use minio::s3::types::{PartInfo, S3Api, UploadId};

use super::{s3_err, validation_err};
use crate::ports::{ByteStream, PortError};

/// Default part size: big enough for few requests, small enough that two fit comfortably in memory.
pub(super) const PART_SIZE: u64 = 16 * 1024 * 1024;
/// S3's limit on the number of parts of one upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for a body of `size_hint` bytes: [`PART_SIZE`] unless that would need more than
/// [`MAX_PARTS`] parts (bodies over ~156 GiB), then the smallest whole MiB that fits.
pub(super) fn part_size_for(size_hint: Option<u64>) -> u64 {
    const MIB: u64 = 1024 * 1024;
    match size_hint {
        Some(size) if size > PART_SIZE * MAX_PARTS => size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB,
        _ => PART_SIZE,
    }
}

/// Uploads `body` to `object`; on return the object is complete or untouched.
pub(super) async fn upload(
    client: &MinioClient,
    bucket: &str,
    object: &str,
    body: ByteStream,
    part_size: u64,
) -> Result<(), PortError> {
    let mut reader = PartReader {
        body,
        carry: None,
        ended: false,
        part_size,
    };
    let first = reader.next_part().await?;
    if reader.ended && (first.len() as u64) < part_size {
        client
            .put_object(bucket, object, first)
            .map_err(validation_err)?
            .build()
            .send()
            .await
            .map_err(s3_err)?;
        return Ok(());
    }

    let created = client
        .create_multipart_upload(bucket, object)
        .map_err(validation_err)?
        .build()
        .send()
        .await
        .map_err(s3_err)?;
    let upload_id = created.upload_id().await.map_err(validation_err)?;
    let pending = PendingUpload {
        client: client.clone(),
        bucket: bucket.to_owned(),
        object: object.to_owned(),
        upload_id: Some(upload_id.clone()),
    };
    let parts = match send_parts(client, bucket, object, &upload_id, first, &mut reader).await {
        Ok(parts) => parts,
        Err(e) => {
            pending.abort().await;
            return Err(e);
        }
    };
    let completed = async {
        client
            .complete_multipart_upload(bucket, object, &upload_id, parts)
            .map_err(validation_err)?
            .build()
            .send()
            .await
            .map_err(s3_err)
    };
    match completed.await {
        Ok(_) => {
            pending.disarm();
            Ok(())
        }
        Err(e) => {
            pending.abort().await;
            Err(e)
        }
    }
}

/// Uploads `first` and every following part, overlapping each upload with reading the next part.
async fn send_parts(
    client: &MinioClient,
    bucket: &str,
    object: &str,
    upload_id: &UploadId,
    first: SegmentedBytes,
    reader: &mut PartReader,
) -> Result<Vec<PartInfo>, PortError> {
    let mut parts = Vec::new();
    let mut current = first;
    let mut number: u16 = 1;
    loop {
        let size = current.len() as u64;
        let send = async {
            client
                .upload_part(bucket, object, upload_id, number, current)
                .map_err(validation_err)?
                .build()
                .send()
                .await
                .map_err(s3_err)
        };
        let (sent, next) = tokio::try_join!(send, reader.next_part())?;
        parts.push(PartInfo::new(number, sent.etag().map_err(validation_err)?, size, None));
        if next.is_empty() {
            return Ok(parts);
        }
        if u64::from(number) >= MAX_PARTS {
            return Err(PortError::Backend(format!(
                "body exceeds {MAX_PARTS} parts of {} bytes",
                reader.part_size
            )));
        }
        number += 1;
        current = next;
    }
}

/// Cuts a body into parts of exactly `part_size` bytes (the last one shorter), without copying.
struct PartReader {
    body: ByteStream,
    /// The rest of a chunk that straddled a part boundary.
    carry: Option<Bytes>,
    ended: bool,
    part_size: u64,
}

impl PartReader {
    /// The next part; empty once the body is exhausted. A body error is `Interrupted`.
    async fn next_part(&mut self) -> Result<SegmentedBytes, PortError> {
        let mut part = SegmentedBytes::new();
        let mut remaining = usize::try_from(self.part_size).unwrap_or(usize::MAX);
        while remaining > 0 {
            let chunk = match self.carry.take() {
                Some(chunk) => chunk,
                None if self.ended => break,
                None => match self.body.next().await {
                    Some(Ok(chunk)) => chunk,
                    Some(Err(e)) => return Err(PortError::Interrupted(e.to_string())),
                    None => {
                        self.ended = true;
                        break;
                    }
                },
            };
            if chunk.len() > remaining {
                self.carry = Some(chunk.slice(remaining..));
                part.append(chunk.slice(..remaining));
                remaining = 0;
            } else if !chunk.is_empty() {
                remaining -= chunk.len();
                part.append(chunk);
            }
        }
        Ok(part)
    }
}

/// An open multipart upload: aborted when dropped unless completed, so neither an error nor an
/// abandoned request leaves parts behind on the server.
struct PendingUpload {
    client: MinioClient,
    bucket: String,
    object: String,
    upload_id: Option<UploadId>,
}

impl PendingUpload {
    fn disarm(mut self) {
        self.upload_id = None;
    }

    async fn abort(mut self) {
        if let Some(upload_id) = self.upload_id.take() {
            abort(self.client.clone(), self.bucket.clone(), self.object.clone(), upload_id).await;
        }
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (client, bucket, object) = (self.client.clone(), self.bucket.clone(), self.object.clone());
            runtime.spawn(abort(client, bucket, object, upload_id));
        }
    }
}

async fn abort(client: MinioClient, bucket: String, object: String, upload_id: UploadId) {
    let result = match client.abort_multipart_upload(&bucket, &object, &upload_id) {
        Ok(request) => request.build().send().await.map(|_| ()).map_err(s3_err),
        Err(e) => Err(validation_err(e)),
    };
    if let Err(e) = result {
        tracing::warn!(%bucket, %object, error = %e, "could not abort multipart upload; parts stay until the bucket's lifecycle removes them");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_grows_only_past_the_part_limit() {
        assert_eq!(part_size_for(None), PART_SIZE);
        assert_eq!(part_size_for(Some(1)), PART_SIZE);
        assert_eq!(part_size_for(Some(PART_SIZE * MAX_PARTS)), PART_SIZE);
        let huge = PART_SIZE * MAX_PARTS + 1;
        let size = part_size_for(Some(huge));
        assert!(size > PART_SIZE && size * MAX_PARTS >= huge && size.is_multiple_of(1024 * 1024));
    }
}
