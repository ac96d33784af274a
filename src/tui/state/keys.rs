//! What each key does in each view (part of the pure update; see `state`).
use super::{App, Command, Confirm, Input, Key, Prompt, View, step};

pub(super) fn on_key(app: &mut App, key: Key) -> Vec<Command> {
    if let Some(confirm) = app.confirm.take() {
        return match key {
            Key::Char('y') | Key::Char('Y') => match confirm {
                Confirm::Evict { repo, path } => vec![Command::Evict { repo, path }],
                Confirm::Flush { repo, all } => vec![Command::Flush { repo, all }],
            },
            _ => {
                app.status = Some("Cancelled.".into());
                Vec::new()
            }
        };
    }
    if let Some(mut input) = app.input.take() {
        return match key {
            Key::Esc => Vec::new(),
            Key::Enter => submit(app, input),
            Key::Backspace => {
                input.text.pop();
                live_filter(app, &input);
                app.input = Some(input);
                Vec::new()
            }
            Key::Char(c) => {
                input.text.push(c);
                live_filter(app, &input);
                app.input = Some(input);
                Vec::new()
            }
            _ => {
                app.input = Some(input);
                Vec::new()
            }
        };
    }
    if app.help {
        app.help = false;
        return if key == Key::Char('q') {
            on_key(app, key)
        } else {
            Vec::new()
        };
    }
    match key {
        Key::Char('q') => {
            app.quit = true;
            return vec![Command::Quit];
        }
        Key::Char('?') => {
            app.help = true;
            return Vec::new();
        }
        Key::Tab => {
            let i = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
            return app.switch(View::ALL[(i + 1) % View::ALL.len()]);
        }
        Key::BackTab => {
            let i = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
            return app.switch(View::ALL[(i + View::ALL.len() - 1) % View::ALL.len()]);
        }
        Key::Char(c @ '1'..='4') => return app.switch(View::ALL[(c as u8 - b'1') as usize]),
        _ => {}
    }
    match app.view {
        View::Repositories => repositories_key(app, key),
        View::Objects => objects_key(app, key),
        View::Health => match key {
            Key::Char('r') => vec![Command::LoadHealth],
            _ => Vec::new(),
        },
        View::Events => match key {
            Key::Char('/') => {
                app.input = Some(Input {
                    prompt: Prompt::EventFilter,
                    text: app.event_filter.clone(),
                });
                Vec::new()
            }
            Key::Char('c') => {
                app.events.clear();
                Vec::new()
            }
            Key::Esc => {
                app.event_filter.clear();
                Vec::new()
            }
            _ => Vec::new(),
        },
    }
}

/// The event filter applies as it is typed.
fn live_filter(app: &mut App, input: &Input) {
    if input.prompt == Prompt::EventFilter {
        app.event_filter = input.text.clone();
    }
}

fn submit(app: &mut App, input: Input) -> Vec<Command> {
    match input.prompt {
        Prompt::Prefix => {
            app.objects.prefix = input.text.trim().to_string();
            app.objects.cursor = None;
            app.objects.previous.clear();
            app.objects.selected = 0;
            app.reload_objects()
        }
        Prompt::EventFilter => {
            app.event_filter = input.text;
            Vec::new()
        }
        Prompt::ProbePath => {
            let repo = match app.view {
                View::Objects => app.objects.repo.clone(),
                _ => app.selected_repo().map(|r| r.name.clone()).unwrap_or_default(),
            };
            if repo.is_empty() {
                return Vec::new();
            }
            app.status = Some(format!("Probing {repo}/{}…", input.text.trim()));
            vec![Command::Probe {
                repo,
                path: input.text.trim().to_string(),
            }]
        }
    }
}

fn repositories_key(app: &mut App, key: Key) -> Vec<Command> {
    match key {
        Key::Up | Key::Char('k') => app.repo_selected = step(app.repo_selected, app.repos.len(), -1),
        Key::Down | Key::Char('j') => app.repo_selected = step(app.repo_selected, app.repos.len(), 1),
        Key::PageUp => app.repo_selected = step(app.repo_selected, app.repos.len(), -10),
        Key::PageDown => app.repo_selected = step(app.repo_selected, app.repos.len(), 10),
        Key::Enter => {
            if let Some(r) = app.selected_repo() {
                let name = r.name.clone();
                return app.open_objects(name);
            }
        }
        Key::Char('r') => return vec![Command::LoadRepositories],
        Key::Char('p') => match app.selected_repo() {
            Some(r) if r.kind == "remote" => {
                app.input = Some(Input {
                    prompt: Prompt::ProbePath,
                    text: String::new(),
                })
            }
            Some(r) => app.status = Some(format!("{} is not a remote: nothing to probe.", r.name)),
            None => {}
        },
        _ => {}
    }
    Vec::new()
}

fn objects_key(app: &mut App, key: Key) -> Vec<Command> {
    let o = &mut app.objects;
    match key {
        Key::Up | Key::Char('k') => o.selected = step(o.selected, o.rows.len(), -1),
        Key::Down | Key::Char('j') => o.selected = step(o.selected, o.rows.len(), 1),
        Key::PageUp => o.selected = step(o.selected, o.rows.len(), -10),
        Key::PageDown => o.selected = step(o.selected, o.rows.len(), 10),
        Key::Esc => {
            app.view = View::Repositories;
            return vec![Command::LoadRepositories];
        }
        Key::Char('/') => {
            app.input = Some(Input {
                prompt: Prompt::Prefix,
                text: o.prefix.clone(),
            })
        }
        Key::Char('n') if o.next.is_some() => {
            let next = o.next.take();
            o.previous.push(o.cursor.take());
            o.cursor = next;
            o.selected = 0;
            return app.reload_objects();
        }
        Key::Char('b') if !o.previous.is_empty() => {
            o.cursor = o.previous.pop().flatten();
            o.selected = 0;
            return app.reload_objects();
        }
        Key::Char('r') => return app.reload_objects(),
        Key::Char('e') => {
            if let Some(row) = o.rows.get(o.selected) {
                app.confirm = Some(Confirm::Evict {
                    repo: o.repo.clone(),
                    path: row.path.clone(),
                });
            }
        }
        Key::Char(c @ ('f' | 'F')) if !o.repo.is_empty() => {
            app.confirm = Some(Confirm::Flush {
                repo: o.repo.clone(),
                all: c == 'F',
            })
        }
        Key::Char('p') if !o.repo.is_empty() => {
            let path = o.rows.get(o.selected).map(|r| r.path.clone()).unwrap_or_default();
            app.input = Some(Input {
                prompt: Prompt::ProbePath,
                text: path,
            });
        }
        _ => {}
    }
    Vec::new()
}
