//! The management API client, generated at build time from the committed spec
//! (`openapi/openapi.json`) by progenitor. Nothing here is written by hand: if the spec cannot
//! drive a generator, this crate does not build.
progenitor::generate_api!(spec = "../../openapi/openapi.json", interface = Builder);
