//! The committed spec is the contract: this fails when `openapi/openapi.json` differs from what
//! the code generates. Regenerate with `cargo run -- openapi > openapi/openapi.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[test]
fn committed_spec_matches_the_code() {
    let generated = artifactapi::adapters::http::openapi_service().spec();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == generated.trim(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[test]
fn every_operation_has_an_id_and_a_summary() {
    let spec: serde_json::Value = serde_json::from_str(&artifactapi::adapters::http::openapi_service().spec()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v2/repositories") && paths.contains_key("/api/v2/health/ready"));
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{method} {path} has no operationId");
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
        }
    }
}

/// Two `OpenApi` impls declaring methods of one path make the path key appear twice in the JSON,
/// and every parser then keeps only one of them: operations silently vanish from generated
/// clients. Every `operationId` in the text must survive parsing.
#[test]
fn no_path_is_declared_twice() {
    let text = artifactapi::adapters::http::openapi_service().spec();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    let parsed: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(
        parsed,
        text.matches("\"operationId\"").count(),
        "a path key is duplicated"
    );
    for id in [
        "getRepository",
        "deleteRepository",
        "replaceRepository",
        "patchRepository",
    ] {
        assert!(text.contains(&format!("\"operationId\": \"{id}\"")), "{id} missing");
    }
}

/// The main request and response bodies carry examples (shown in Swagger UI, used by fuzzers).
#[test]
fn main_bodies_have_examples() {
    let spec: serde_json::Value = serde_json::from_str(&artifactapi::adapters::http::openapi_service().spec()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for name in [
        "RepositoryInput",
        "RepositoryView",
        "ApiError",
        "TokenInput",
        "ProbeInput",
        "StatsView",
    ] {
        assert!(schemas[name]["example"].is_object(), "{name} has no example");
    }
}
