//! Where registry state lives among a local repository's hosted-file rows. Every row path starts
//! with the image name; the second part starts with `_`, which no name component may, so a
//! prefix listing of one image never reaches into another (`a/_tags/` vs the image `a/tags`).
use crate::domain::digest::Digest;

/// A blob linked into an image (pushed, mounted or referenced there).
pub fn blob_link(image: &str, digest: &Digest) -> String {
    format!("{image}/_blobs/{digest}")
}

pub fn manifest_row(image: &str, digest: &Digest) -> String {
    format!("{image}/_manifests/{digest}")
}

pub fn tags_prefix(image: &str) -> String {
    format!("{image}/_tags/")
}

pub fn tag_row(image: &str, tag: &str) -> String {
    format!("{}{tag}", tags_prefix(image))
}

/// One row per image that has manifests, for `_catalog`.
pub const IMAGES_PREFIX: &str = "_images/";

pub fn image_marker(image: &str) -> String {
    format!("{IMAGES_PREFIX}{image}")
}

pub fn referrers_prefix(image: &str, subject: &Digest) -> String {
    format!("{image}/_referrers/{}/", subject.hex())
}

pub fn referrer_row(image: &str, subject: &Digest, referrer: &Digest) -> String {
    format!("{}{referrer}", referrers_prefix(image, subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let d = Digest::of_bytes(b"");
        let hex = d.hex();
        assert_eq!(blob_link("a/b", &d), format!("a/b/_blobs/sha256:{hex}"));
        assert_eq!(manifest_row("a", &d), format!("a/_manifests/sha256:{hex}"));
        assert_eq!(tag_row("a", "v1"), "a/_tags/v1");
        assert!(tag_row("a", "v1").starts_with(&tags_prefix("a")));
        assert!(!tag_row("a/tags", "v1").starts_with(&tags_prefix("a")));
        assert_eq!(image_marker("x/y"), "_images/x/y");
        let r = Digest::of_bytes(b"r");
        assert_eq!(referrer_row("a", &d, &r), format!("a/_referrers/{hex}/{r}"));
    }
}
