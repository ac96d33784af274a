//! The UI's static files, embedded in the binary: htmx (vendored from its npm package, 0BSD),
//! the stylesheet and the events page script.
use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{Response, handler};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../../static/htmx.min.js"),
    },
    Asset {
        name: "ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../../static/ui.css"),
    },
    Asset {
        name: "events.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../../static/events.js"),
    },
];

#[handler]
pub(super) fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => Response::builder()
            .header(header::CONTENT_TYPE, asset.content_type)
            // Pages link them with `?v=<version>`, so an upgrade is fetched at once.
            .header(header::CACHE_CONTROL, "public, max-age=86400")
            .body(asset.body),
        None => super::plain(StatusCode::NOT_FOUND, "no such file"),
    }
}
