//! Snapshots of whole screens on ratatui's `TestBackend`: what an operator sees, cell by cell.
use super::*;
use crate::tui::state::{BackendRow, Confirm, EventRow, Input, Key, Msg, ObjectRow, Objects, Prompt, RepoRow, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn app() -> App {
    let mut app = App::new("http://cache:8000");
    update(
        &mut app,
        Msg::Repositories(Ok(vec![
            RepoRow {
                name: "files".into(),
                kind: "local".into(),
                package: "generic".into(),
                objects: 2,
                bytes: 3 * 1024 * 1024,
                ..RepoRow::default()
            },
            RepoRow {
                name: "pypi".into(),
                kind: "remote".into(),
                package: "pypi".into(),
                objects: 40,
                bytes: 1536,
                hits: 120,
                misses: 7,
                upstream_errors: 1,
            },
        ])),
    );
    app
}

fn check(actual: String, expected: &str) {
    assert_eq!(actual, expected.trim_matches('\n'), "\n{actual}\n");
}

#[test]
fn repositories_with_their_counters() {
    let mut app = app();
    update(&mut app, Msg::Key(Key::Down));
    check(
        screen(&app, 80, 8),
        r"
 1 Repositories | 2 Objects | 3 Health | 4 Events             http://cache:8000
┌ Repositories (2) ────────────────────────────────────────────────────────────┐
│  Name         Kind     Package    Objects  Bytes      Hits    Misses  Errors │
│  files        local    generic    2        3.0 MiB    0       0       0      │
│> pypi         remote   pypi       40       1.5 KiB    120     7       1      │
└──────────────────────────────────────────────────────────────────────────────┘

↑↓ select  Enter objects  p probe  r refresh  Tab view  ? help  q quit
",
    );
}

#[test]
fn objects_with_a_pending_eviction() {
    let mut app = app();
    app.view = View::Objects;
    app.objects = Objects {
        repo: "files".into(),
        prefix: "app/".into(),
        rows: vec![
            ObjectRow {
                path: "app/app-1.0.tar.gz".into(),
                size: 2048,
                class: String::new(),
                stored_at: "2026-12-01 10:00".into(),
            },
            ObjectRow {
                path: "app/app-1.1.tar.gz".into(),
                size: 4096,
                class: String::new(),
                stored_at: "2026-12-02 09:30".into(),
            },
        ],
        next: Some("app/app-1.1.tar.gz".into()),
        ..Objects::default()
    };
    app.confirm = Some(Confirm::Evict {
        repo: "files".into(),
        path: "app/app-1.0.tar.gz".into(),
    });
    check(
        screen(&app, 80, 8),
        r"
 1 Repositories | 2 Objects | 3 Health | 4 Events             http://cache:8000
┌ files prefix 'app/' page 1+ ─────────────────────────────────────────────────┐
│  Path                                   Size       Class     Stored          │
│> app/app-1.0.tar.gz                     2.0 KiB              2026-12-01 10:00│
│  app/app-1.1.tar.gz                     4.0 KiB              2026-12-02 09:30│
└──────────────────────────────────────────────────────────────────────────────┘
Evict app/app-1.0.tar.gz from files? (y/n)
y yes  any other key no
",
    );
}

#[test]
fn an_empty_page_says_why() {
    let mut app = app();
    update(&mut app, Msg::Key(Key::Enter));
    update(
        &mut app,
        Msg::Objects {
            repo: "files".into(),
            result: Ok((vec![], None)),
        },
    );
    let shown = screen(&app, 60, 6);
    assert!(
        shown.contains("┌ files ") && shown.contains("Nothing stored here yet."),
        "{shown}"
    );
    app.objects.kind = "virtual".into();
    let shown = screen(&app, 80, 6);
    assert!(shown.contains("holds nothing itself"), "{shown}");
}

#[test]
fn health_and_a_failing_backend() {
    let mut app = app();
    app.view = View::Health;
    update(
        &mut app,
        Msg::Health(Ok(vec![
            BackendRow {
                name: "database".into(),
                ok: true,
                latency_ms: 2,
                error: None,
            },
            BackendRow {
                name: "cache".into(),
                ok: false,
                latency_ms: 5000,
                error: Some("connection refused".into()),
            },
        ])),
    );
    check(
        screen(&app, 80, 8),
        r"
 1 Repositories | 2 Objects | 3 Health | 4 Events             http://cache:8000
┌ Health: NOT READY ───────────────────────────────────────────────────────────┐
│Backend      Status   Latency   Error                                         │
│database     ok       2 ms                                                    │
│cache        FAILING  5000 ms   connection refused                            │
└──────────────────────────────────────────────────────────────────────────────┘

r refresh  Tab view  ? help  q quit
",
    );
}

#[test]
fn the_event_tail_reconnecting_with_a_filter_prompt() {
    let mut app = app();
    app.view = View::Events;
    for (kind, path) in [("upload", "a.txt"), ("fetch", "simple/requests/")] {
        update(
            &mut app,
            Msg::Event(EventRow {
                at: "14:01:40".into(),
                kind: kind.into(),
                repository: "pypi".into(),
                path: path.into(),
            }),
        );
    }
    update(
        &mut app,
        Msg::Stream(Stream::Reconnecting {
            attempt: 3,
            wait_secs: 4,
            error: "cannot reach the server".into(),
        }),
    );
    app.input = Some(Input {
        prompt: Prompt::EventFilter,
        text: "sim".into(),
    });
    app.event_filter = "sim".into();
    check(
        screen(&app, 80, 7),
        r"
 1 Repositories | 2 Objects | 3 Health | 4 Events             http://cache:8000
┌ Events: reconnecting in 4s (attempt 3: cannot reach the server) filter 'sim' ┐
│Time     Kind                Repository       Path                            │
│14:01:40 fetch               pypi             simple/requests/                │
└──────────────────────────────────────────────────────────────────────────────┘
Filter: sim_
Enter apply  Esc cancel
",
    );
}

#[test]
fn help_over_a_narrow_terminal_and_a_resize() {
    let mut app = app();
    update(&mut app, Msg::Key(Key::Char('?')));
    let narrow = screen(&app, 44, 12);
    check(
        narrow,
        r"
 1 Repositories | 2 Objects | 3 Health | 4 E
┌ Help: any key closes ────────────────────┐
│ 1-4, Tab repositories, objects, health,  │
│events                                    │
│   ↑↓ j k move; PgUp/PgDn jump            │
│    Enter browse the selected repository  │
│        / objects: prefix search; events: │
│filter                                    │
│    n / b next / previous page of objects │
└──────────────────────────────────────────┘

↑↓ select  Enter objects  p probe  r refresh
",
    );
    // The same state on a bigger terminal lays out again; nothing is left of the old size.
    let wide = screen(&app, 100, 20);
    assert!(wide.lines().count() == 20 && wide.contains("http://cache:8000"));
    assert!(wide.contains("q quit") && wide.contains("        q quit"));
}
