use super::*;

fn repo(name: &str, kind: &str) -> RepoRow {
    RepoRow {
        name: name.into(),
        kind: kind.into(),
        package: "generic".into(),
        ..RepoRow::default()
    }
}

fn object(path: &str) -> ObjectRow {
    ObjectRow {
        path: path.into(),
        size: 3,
        class: String::new(),
        stored_at: "2026-01-01 00:00".into(),
    }
}

fn keys(app: &mut App, keys: &[Key]) -> Vec<Command> {
    keys.iter().flat_map(|k| update(app, Msg::Key(*k))).collect()
}

fn loaded() -> App {
    let mut app = App::new("http://127.0.0.1:8000");
    update(
        &mut app,
        Msg::Repositories(Ok(vec![repo("files", "local"), repo("mirror", "remote")])),
    );
    app
}

#[test]
fn starts_by_loading_and_ticks_refresh_the_live_views() {
    let mut app = App::new("http://x");
    assert_eq!(app.start(), vec![Command::LoadRepositories, Command::LoadHealth]);
    assert_eq!(update(&mut app, Msg::Tick), vec![Command::LoadRepositories]);
    update(&mut app, Msg::Key(Key::Char('3')));
    assert_eq!(app.view, View::Health);
    assert_eq!(update(&mut app, Msg::Tick), vec![Command::LoadHealth]);
    update(&mut app, Msg::Key(Key::Char('4')));
    assert_eq!(update(&mut app, Msg::Tick), vec![]);
}

#[test]
fn selecting_a_repository_opens_its_objects_and_pages_through_them() {
    let mut app = loaded();
    let cmds = keys(&mut app, &[Key::Down, Key::Down, Key::Enter]);
    assert_eq!(app.repo_selected, 1, "selection stops at the last row");
    assert_eq!(
        cmds,
        vec![Command::LoadObjects {
            repo: "mirror".into(),
            prefix: String::new(),
            cursor: None
        }]
    );
    assert_eq!(app.view, View::Objects);
    update(
        &mut app,
        Msg::Objects {
            repo: "mirror".into(),
            result: Ok((vec![object("a"), object("b")], Some("b".into()))),
        },
    );
    assert_eq!(
        keys(&mut app, &[Key::Char('n')]),
        vec![Command::LoadObjects {
            repo: "mirror".into(),
            prefix: String::new(),
            cursor: Some("b".into())
        }]
    );
    update(
        &mut app,
        Msg::Objects {
            repo: "mirror".into(),
            result: Ok((vec![object("c")], None)),
        },
    );
    assert_eq!(keys(&mut app, &[Key::Char('n')]), vec![], "no next page");
    assert_eq!(
        keys(&mut app, &[Key::Char('b')]),
        vec![Command::LoadObjects {
            repo: "mirror".into(),
            prefix: String::new(),
            cursor: None
        }]
    );
    // A late answer for another repository is ignored.
    update(
        &mut app,
        Msg::Objects {
            repo: "files".into(),
            result: Ok((vec![object("zzz")], None)),
        },
    );
    assert_eq!(app.objects.rows, vec![object("c")]);
}

#[test]
fn prefix_search_restarts_from_the_first_page() {
    let mut app = loaded();
    keys(&mut app, &[Key::Enter]);
    app.objects.cursor = Some("x".into());
    app.objects.previous = vec![None];
    let cmds = keys(
        &mut app,
        &[
            Key::Char('/'),
            Key::Char('a'),
            Key::Char('p'),
            Key::Char('x'),
            Key::Backspace,
            Key::Enter,
        ],
    );
    assert_eq!(
        cmds,
        vec![Command::LoadObjects {
            repo: "files".into(),
            prefix: "ap".into(),
            cursor: None
        }]
    );
    assert!(app.objects.previous.is_empty() && app.input.is_none());
    // Esc abandons a prompt without searching.
    assert_eq!(keys(&mut app, &[Key::Char('/'), Key::Char('z'), Key::Esc]), vec![]);
    assert_eq!(app.objects.prefix, "ap");
}

#[test]
fn evict_and_flush_ask_first() {
    let mut app = loaded();
    keys(&mut app, &[Key::Enter]);
    update(
        &mut app,
        Msg::Objects {
            repo: "files".into(),
            result: Ok((vec![object("a.txt"), object("b.txt")], None)),
        },
    );
    assert_eq!(keys(&mut app, &[Key::Down, Key::Char('e')]), vec![]);
    assert_eq!(
        app.confirm.as_ref().map(Confirm::question).as_deref(),
        Some("Evict b.txt from files? (y/n)")
    );
    assert_eq!(keys(&mut app, &[Key::Char('n')]), vec![]);
    assert_eq!(app.status.as_deref(), Some("Cancelled."));
    assert_eq!(
        keys(&mut app, &[Key::Char('e'), Key::Char('y')]),
        vec![Command::Evict {
            repo: "files".into(),
            path: "b.txt".into()
        }]
    );
    // A finished action reports and reloads the page.
    assert_eq!(
        update(&mut app, Msg::Done(Ok("Evicted b.txt.".into()))),
        vec![Command::LoadObjects {
            repo: "files".into(),
            prefix: String::new(),
            cursor: None
        }]
    );
    assert_eq!(app.status.as_deref(), Some("Evicted b.txt."));
    assert_eq!(
        keys(&mut app, &[Key::Char('F'), Key::Char('y')]),
        vec![Command::Flush {
            repo: "files".into(),
            all: true
        }]
    );
}

#[test]
fn probe_only_remotes() {
    let mut app = loaded();
    assert_eq!(keys(&mut app, &[Key::Char('p')]), vec![]);
    assert!(app.status.as_deref().unwrap().contains("not a remote"));
    let cmds = keys(&mut app, &[Key::Down, Key::Char('p'), Key::Char('x'), Key::Enter]);
    assert_eq!(
        cmds,
        vec![Command::Probe {
            repo: "mirror".into(),
            path: "x".into()
        }]
    );
    update(&mut app, Msg::Probed(Ok("200 in 3 ms".into())));
    assert_eq!(app.status.as_deref(), Some("200 in 3 ms"));
}

#[test]
fn the_event_tail_is_bounded_newest_first_and_filtered() {
    let mut app = App::new("http://x");
    for i in 0..(EVENT_LIMIT + 5) {
        update(
            &mut app,
            Msg::Event(EventRow {
                at: i.to_string(),
                kind: if i % 2 == 0 { "upload" } else { "fetch" }.into(),
                repository: "files".into(),
                path: format!("f{i}"),
            }),
        );
    }
    assert_eq!(app.events.len(), EVENT_LIMIT);
    assert_eq!(app.events.front().unwrap().path, format!("f{}", EVENT_LIMIT + 4));
    keys(
        &mut app,
        &[Key::Char('4'), Key::Char('/'), Key::Char('F'), Key::Char('E')],
    );
    assert_eq!(app.event_filter, "FE", "the filter applies while typing");
    assert!(app.visible_events().all(|e| e.kind == "fetch"));
    keys(&mut app, &[Key::Enter, Key::Esc]);
    assert_eq!(app.visible_events().count(), EVENT_LIMIT);
    update(
        &mut app,
        Msg::Stream(Stream::Reconnecting {
            attempt: 2,
            wait_secs: 2,
            error: "refused".into(),
        }),
    );
    assert!(matches!(app.stream, Stream::Reconnecting { attempt: 2, .. }));
}

#[test]
fn help_views_and_quit() {
    let mut app = loaded();
    keys(&mut app, &[Key::Char('?')]);
    assert!(app.help);
    keys(&mut app, &[Key::Char('x')]);
    assert!(!app.help, "any key closes help");
    assert_eq!(
        keys(&mut app, &[Key::Tab]),
        vec![Command::LoadObjects {
            repo: "files".into(),
            prefix: String::new(),
            cursor: None
        }]
    );
    keys(&mut app, &[Key::BackTab]);
    assert_eq!(app.view, View::Repositories);
    assert_eq!(keys(&mut app, &[Key::Char('q')]), vec![Command::Quit]);
    assert!(app.quit);
    assert!(footer_keys(&app).contains(&("?", "help")));
}

#[test]
fn errors_are_kept_for_the_screen() {
    let mut app = loaded();
    update(&mut app, Msg::Repositories(Err("cannot reach the server".into())));
    assert_eq!(app.repos.len(), 2, "the last good list stays");
    assert_eq!(app.repos_error.as_deref(), Some("cannot reach the server"));
    update(&mut app, Msg::Repositories(Ok(vec![repo("files", "local")])));
    assert_eq!((app.repo_selected, app.repos_error.clone()), (0, None));
}
