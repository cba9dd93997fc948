//! The console's built front-end, embedded at compile time (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file `name` (`index.html`, `app.js`, …) and its content type.
pub fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    let (_, body) = FILES.iter().find(|(n, _)| *n == name)?;
    let ty = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Some((body, ty))
}

/// The graph component alone (a script defining `PalisadeGraph`), for self-contained report
/// pages (`netpol connlist -o html`, `paths -o html`).
pub fn graph_js() -> &'static str {
    get("graph.js")
        .and_then(|(b, _)| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// The console's style sheet, shared by the report pages.
pub fn style_css() -> &'static str {
    get("app.css")
        .and_then(|(b, _)| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// The graph component and style for the report pages of `netpol connlist -o html` and
/// `paths -o html`.
pub fn graph_assets() -> palisade_netpol::render::GraphAssets<'static> {
    palisade_netpol::render::GraphAssets {
        script: graph_js(),
        style: style_css(),
    }
}
