//! The console page (`GET /`): one HTML file with its CSS and vanilla
//! JavaScript inside, embedded in the binary (no build step, no CDN). It
//! polls the API every two seconds and draws the chart as inline SVG.

pub const PAGE: &str = include_str!("page.html");
