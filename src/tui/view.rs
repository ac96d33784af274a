//! Drawing the state: tabs on top, the current view, a status line and the keys in the footer;
//! `?` lays the help over it. Pure over `App`, so snapshots on ratatui's `TestBackend` pin it.
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Tabs, Wrap};

use super::state::{App, Stream, View, footer_keys};

/// `1.5 KiB`, `12 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let [top, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_tabs(frame, app, top);
    match app.view {
        View::Repositories => draw_repositories(frame, app, body),
        View::Objects => draw_objects(frame, app, body),
        View::Health => draw_health(frame, app, body),
        View::Events => draw_events(frame, app, body),
    }
    draw_status(frame, app, status);
    draw_footer(frame, app, footer);
    if app.help {
        draw_help(frame, body);
    }
}

fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let titles: Vec<String> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {}", i + 1, v.title()))
        .collect();
    let index = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
    let tabs = Tabs::new(titles)
        .select(index)
        .highlight_style(bold().fg(Color::Yellow))
        .divider("|");
    // The endpoint shows when it fits beside the tabs (about 50 columns).
    let endpoint = app.endpoint.len() as u16 + 1;
    if area.width < 52 + endpoint {
        frame.render_widget(tabs, area);
        return;
    }
    let [left, right] = Layout::horizontal([Constraint::Min(0), Constraint::Length(endpoint)]).areas(area);
    frame.render_widget(tabs, left);
    frame.render_widget(
        Paragraph::new(app.endpoint.as_str()).style(Style::default().fg(Color::DarkGray)),
        right,
    );
}

fn table<'a>(header: &[&'a str], rows: Vec<Row<'a>>, widths: Vec<Constraint>, title: String) -> Table<'a> {
    Table::new(rows, widths)
        .header(Row::new(header.iter().map(|h| Cell::from(*h))).style(bold()))
        .row_highlight_style(selected())
        // A marker as well as the colour, for monochrome terminals and screen readers.
        .highlight_symbol("> ")
        .block(Block::bordered().title(title))
}

fn draw_repositories(frame: &mut Frame, app: &App, area: Rect) {
    let rows: Vec<Row> = app
        .repos
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(r.name.clone()),
                Cell::from(r.kind.clone()),
                Cell::from(r.package.clone()),
                Cell::from(r.objects.to_string()),
                Cell::from(size(r.bytes)),
                Cell::from(r.hits.to_string()),
                Cell::from(r.misses.to_string()),
                Cell::from(r.upstream_errors.to_string()),
            ])
        })
        .collect();
    let title = match &app.repos_error {
        Some(e) => format!(" Repositories (refresh failed: {e}) "),
        None => format!(" Repositories ({}) ", app.repos.len()),
    };
    let widths = vec![
        Constraint::Min(12),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let t = table(
        &[
            "Name", "Kind", "Package", "Objects", "Bytes", "Hits", "Misses", "Errors",
        ],
        rows,
        widths,
        title,
    );
    let mut state = TableState::default().with_selected((!app.repos.is_empty()).then_some(app.repo_selected));
    frame.render_stateful_widget(t, area, &mut state);
}

fn draw_objects(frame: &mut Frame, app: &App, area: Rect) {
    let o = &app.objects;
    if o.repo.is_empty() {
        let hint = Paragraph::new("Pick a repository (1) and press Enter to browse its objects.")
            .block(Block::bordered().title(" Objects "));
        frame.render_widget(hint, area);
        return;
    }
    let rows: Vec<Row> = o
        .rows
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(r.path.clone()),
                Cell::from(size(r.size)),
                Cell::from(r.class.clone()),
                Cell::from(r.stored_at.clone()),
            ])
        })
        .collect();
    if o.rows.is_empty() && !o.loading {
        let text = if o.kind == "virtual" {
            "A virtual repository holds nothing itself: browse its members.".to_string()
        } else if o.prefix.is_empty() {
            "Nothing stored here yet.".to_string()
        } else {
            format!("Nothing stored under '{}'.", o.prefix)
        };
        frame.render_widget(
            Paragraph::new(text).block(Block::bordered().title(format!(" {} ", o.repo))),
            area,
        );
        return;
    }
    let page = o.previous.len() + 1;
    let mut title = format!(" {} ", o.repo);
    if !o.prefix.is_empty() {
        title.push_str(&format!("prefix '{}' ", o.prefix));
    }
    title.push_str(&format!("page {page}{} ", if o.next.is_some() { "+" } else { "" }));
    if o.loading {
        title.push_str("(loading) ");
    }
    let widths = vec![
        Constraint::Min(20),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(16),
    ];
    let t = table(&["Path", "Size", "Class", "Stored"], rows, widths, title);
    let mut state = TableState::default().with_selected((!o.rows.is_empty()).then_some(o.selected));
    frame.render_stateful_widget(t, area, &mut state);
}

fn draw_health(frame: &mut Frame, app: &App, area: Rect) {
    let rows: Vec<Row> = app
        .health
        .iter()
        .map(|b| {
            let (text, color) = if b.ok {
                ("ok", Color::Green)
            } else {
                ("FAILING", Color::Red)
            };
            Row::new(vec![
                Cell::from(b.name.clone()),
                Cell::from(text).style(Style::default().fg(color)),
                Cell::from(format!("{} ms", b.latency_ms)),
                Cell::from(b.error.clone().unwrap_or_default()),
            ])
        })
        .collect();
    let ready = !app.health.is_empty() && app.health.iter().all(|b| b.ok);
    let title = match &app.health_error {
        Some(e) => format!(" Health (check failed: {e}) "),
        None if ready => " Health: ready ".to_string(),
        None if app.health.is_empty() => " Health ".to_string(),
        None => " Health: NOT READY ".to_string(),
    };
    let widths = vec![
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    frame.render_widget(
        table(&["Backend", "Status", "Latency", "Error"], rows, widths, title),
        area,
    );
}

fn draw_events(frame: &mut Frame, app: &App, area: Rect) {
    let rows: Vec<Row> = app
        .visible_events()
        .take(area.height as usize)
        .map(|e| {
            Row::new(vec![
                Cell::from(e.at.clone()),
                Cell::from(e.kind.clone()),
                Cell::from(e.repository.clone()),
                Cell::from(e.path.clone()),
            ])
        })
        .collect();
    let stream = match &app.stream {
        Stream::Connecting => "connecting".to_string(),
        Stream::Live => "live".to_string(),
        Stream::Reconnecting {
            attempt,
            wait_secs,
            error,
        } => format!("reconnecting in {wait_secs}s (attempt {attempt}: {error})"),
    };
    let mut title = format!(" Events: {stream} ");
    if !app.event_filter.is_empty() {
        title.push_str(&format!("filter '{}' ", app.event_filter));
    }
    let widths = vec![
        Constraint::Length(8),
        Constraint::Length(19),
        Constraint::Length(16),
        Constraint::Min(10),
    ];
    frame.render_widget(
        table(&["Time", "Kind", "Repository", "Path"], rows, widths, title),
        area,
    );
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let line = if let Some(confirm) = &app.confirm {
        Line::from(Span::styled(confirm.question(), bold().fg(Color::Yellow)))
    } else if let Some(input) = &app.input {
        let label = match input.prompt {
            super::state::Prompt::Prefix => "Prefix",
            super::state::Prompt::EventFilter => "Filter",
            super::state::Prompt::ProbePath => "Probe path",
        };
        Line::from(vec![
            Span::styled(format!("{label}: "), bold()),
            Span::raw(input.text.clone()),
            Span::styled("_", Style::default().add_modifier(Modifier::SLOW_BLINK)),
        ])
    } else {
        Line::from(app.status.clone().unwrap_or_default())
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = Vec::new();
    for (i, (key, what)) in footer_keys(app).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(key, bold().fg(Color::Cyan)));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

const HELP: &[(&str, &str)] = &[
    ("1-4, Tab", "repositories, objects, health, events"),
    ("↑↓ j k", "move; PgUp/PgDn jump"),
    ("Enter", "browse the selected repository"),
    ("/", "objects: prefix search; events: filter"),
    ("n / b", "next / previous page of objects"),
    ("e", "evict the selected object (asks first)"),
    ("f / F", "flush a remote's indexes / everything"),
    ("p", "probe the upstream of a remote"),
    ("r", "refresh now (lists refresh by themselves)"),
    ("c", "events: clear the tail"),
    ("Esc", "back, or cancel a prompt"),
    ("q", "quit"),
];

fn draw_help(frame: &mut Frame, body: Rect) {
    let width = body.width.min(60);
    let height = body.height.min(HELP.len() as u16 + 2);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>9} "), bold().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Help: any key closes ")),
        area,
    );
}

#[cfg(test)]
mod tests;
