//! `/ui/stats`: what every readable repository holds and how its cache is used, with the total
//! and a small bar chart of hits, misses and upstream errors (inline SVG, no script).
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};
use std::sync::Arc;

use super::{Layout, Viewer, render};
use crate::adapters::http::AppState;
use crate::app::auth::Principal;
use crate::app::stats::RepositoryStats;
use crate::domain::token::Scope;

/// Width of the chart's bar area, in SVG units.
const BAR_WIDTH: u64 = 400;
const ROW_HEIGHT: u64 = 24;
const LABEL_WIDTH: u64 = 140;

/// One stacked bar: widths of its hit, miss and error segments.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Bar {
    pub label: String,
    pub y: u64,
    pub hits: u64,
    pub misses: u64,
    pub errors: u64,
    pub total: u64,
    /// Where each segment starts.
    pub misses_x: u64,
    pub errors_x: u64,
    pub text_y: u64,
}

/// Bars for the repositories that saw any traffic, scaled to the busiest.
pub(super) fn bars(each: &[(String, RepositoryStats)]) -> Vec<Bar> {
    let busy: Vec<&(String, RepositoryStats)> = each
        .iter()
        .filter(|(_, s)| s.counts.hits + s.counts.misses + s.counts.upstream_errors > 0)
        .collect();
    let max = busy
        .iter()
        .map(|(_, s)| s.counts.hits + s.counts.misses + s.counts.upstream_errors)
        .max()
        .unwrap_or(1)
        .max(1);
    let scale = |n: u64| (n * BAR_WIDTH).div_ceil(max);
    busy.iter()
        .enumerate()
        .map(|(i, (name, s))| {
            let (hits, misses, errors) = (
                scale(s.counts.hits),
                scale(s.counts.misses),
                scale(s.counts.upstream_errors),
            );
            let y = i as u64 * ROW_HEIGHT;
            Bar {
                label: name.clone(),
                y: y + 4,
                hits,
                misses,
                errors,
                total: s.counts.hits + s.counts.misses + s.counts.upstream_errors,
                misses_x: LABEL_WIDTH + hits,
                errors_x: LABEL_WIDTH + hits + misses,
                text_y: y + 17,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "ui/stats.html")]
struct StatsPage {
    layout: Layout,
    total: RepositoryStats,
    each: Vec<(String, RepositoryStats)>,
    bars: Vec<Bar>,
    chart_height: u64,
    chart_width: u64,
    label_width: u64,
}

#[handler]
pub(super) async fn index(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if viewer.principal == Principal::Anonymous
        && let Err(r) = viewer.need(state, req, Scope::Read, None)
    {
        return r;
    }
    let visible = |name: &str| viewer.may(state, Scope::Read, Some(name));
    let (total, each) = match state.stats.all(&visible).await {
        Ok(found) => found,
        Err(e) => return viewer.unavailable(state, &e.to_string()),
    };
    let bars = bars(&each);
    let page = StatsPage {
        layout: viewer.layout(state, "Stats", "stats"),
        total,
        chart_height: (bars.len() as u64 * ROW_HEIGHT).max(ROW_HEIGHT) + 8,
        chart_width: LABEL_WIDTH + BAR_WIDTH + 60,
        label_width: LABEL_WIDTH,
        bars,
        each,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ProxyCounts;

    fn stats(hits: u64, misses: u64, upstream_errors: u64) -> RepositoryStats {
        RepositoryStats {
            counts: ProxyCounts {
                hits,
                misses,
                upstream_errors,
                ..ProxyCounts::default()
            },
            ..RepositoryStats::default()
        }
    }

    #[test]
    fn bars_scale_to_the_busiest_and_skip_idle_repositories() {
        let each = vec![
            ("busy".to_string(), stats(30, 10, 0)),
            ("idle".to_string(), stats(0, 0, 0)),
            ("some".to_string(), stats(5, 4, 1)),
        ];
        let bars = bars(&each);
        assert_eq!(bars.len(), 2);
        assert_eq!((bars[0].hits, bars[0].misses, bars[0].errors), (300, 100, 0));
        assert_eq!(bars[0].hits + bars[0].misses + bars[0].errors, BAR_WIDTH);
        assert_eq!((bars[1].label.as_str(), bars[1].total), ("some", 10));
        assert_eq!((bars[1].hits, bars[1].misses, bars[1].errors), (50, 40, 10));
        assert_eq!(bars[1].misses_x, LABEL_WIDTH + 50);
        assert!(bars[1].y > bars[0].y);
        assert!(super::bars(&[]).is_empty());
    }
}
