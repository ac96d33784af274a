use bytes::Bytes;
use futures::Stream;
use std::pin::Pin;

/// An artifact body: a stream of chunks, never a whole-body buffer.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static>>;
