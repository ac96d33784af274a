//! The TUI's state and its pure update function: a message (a key, a tick, a result from the
//! server) changes the state and asks for commands (requests to send). No IO, no terminal, so
//! every behaviour is a plain unit test.
use std::collections::VecDeque;

/// How many events the tail keeps.
pub const EVENT_LIMIT: usize = 1000;
pub const OBJECT_PAGE: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Repositories,
    Objects,
    Health,
    Events,
}

impl View {
    pub const ALL: [View; 4] = [View::Repositories, View::Objects, View::Health, View::Events];

    pub fn title(self) -> &'static str {
        match self {
            View::Repositories => "Repositories",
            View::Objects => "Objects",
            View::Health => "Health",
            View::Events => "Events",
        }
    }
}

/// Keys, already translated from the terminal's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Up,
    Down,
    PageUp,
    PageDown,
    Tab,
    BackTab,
    Backspace,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoRow {
    pub name: String,
    pub kind: String,
    pub package: String,
    pub objects: u64,
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub upstream_errors: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRow {
    pub path: String,
    pub size: u64,
    pub class: String,
    pub stored_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendRow {
    pub name: String,
    pub ok: bool,
    pub latency_ms: u64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub repository: String,
    pub path: String,
}

impl EventRow {
    fn matches(&self, filter: &str) -> bool {
        let filter = filter.to_lowercase();
        filter.is_empty()
            || [&self.kind, &self.repository, &self.path]
                .iter()
                .any(|f| f.to_lowercase().contains(&filter))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    Connecting,
    Live,
    /// Lost; the next attempt is number `attempt`, after `wait_secs`.
    Reconnecting {
        attempt: u32,
        wait_secs: u64,
        error: String,
    },
}

/// What a one-line prompt is collecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    Prefix,
    EventFilter,
    ProbePath,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub prompt: Prompt,
    pub text: String,
}

/// A destructive action waiting for `y`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    Evict { repo: String, path: String },
    Flush { repo: String, all: bool },
}

impl Confirm {
    pub fn question(&self) -> String {
        match self {
            Confirm::Evict { repo, path } => format!("Evict {path} from {repo}? (y/n)"),
            Confirm::Flush { repo, all: true } => format!("Flush every cached copy of {repo}? (y/n)"),
            Confirm::Flush { repo, all: false } => format!("Flush the cached indexes of {repo}? (y/n)"),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objects {
    pub repo: String,
    /// `local`, `remote` or `virtual`.
    pub kind: String,
    pub prefix: String,
    pub rows: Vec<ObjectRow>,
    pub selected: usize,
    /// The cursor this page was read with, and those of the pages before it.
    pub cursor: Option<String>,
    pub previous: Vec<Option<String>>,
    pub next: Option<String>,
    pub loading: bool,
}

/// Requests the update asks the runner to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    LoadRepositories,
    LoadObjects {
        repo: String,
        prefix: String,
        cursor: Option<String>,
    },
    Evict {
        repo: String,
        path: String,
    },
    Flush {
        repo: String,
        all: bool,
    },
    Probe {
        repo: String,
        path: String,
    },
    LoadHealth,
    Quit,
}

/// What can happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Key(Key),
    /// Every couple of seconds: live views refresh.
    Tick,
    Repositories(Result<Vec<RepoRow>, String>),
    Objects {
        repo: String,
        result: Result<(Vec<ObjectRow>, Option<String>), String>,
    },
    Health(Result<Vec<BackendRow>, String>),
    Event(EventRow),
    Stream(Stream),
    /// An evict or flush finished: what to tell the user.
    Done(Result<String, String>),
    Probed(Result<String, String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub endpoint: String,
    pub view: View,
    pub help: bool,
    /// The last thing worth telling (a result, an error).
    pub status: Option<String>,
    pub repos: Vec<RepoRow>,
    pub repo_selected: usize,
    pub repos_error: Option<String>,
    pub objects: Objects,
    pub health: Vec<BackendRow>,
    pub health_error: Option<String>,
    pub events: VecDeque<EventRow>,
    pub event_filter: String,
    pub stream: Stream,
    pub input: Option<Input>,
    pub confirm: Option<Confirm>,
    pub quit: bool,
}

impl App {
    pub fn new(endpoint: &str) -> App {
        App {
            endpoint: endpoint.to_string(),
            view: View::Repositories,
            help: false,
            status: None,
            repos: Vec::new(),
            repo_selected: 0,
            repos_error: None,
            objects: Objects::default(),
            health: Vec::new(),
            health_error: None,
            events: VecDeque::new(),
            event_filter: String::new(),
            stream: Stream::Connecting,
            input: None,
            confirm: None,
            quit: false,
        }
    }

    /// What the first frame needs.
    pub fn start(&self) -> Vec<Command> {
        vec![Command::LoadRepositories, Command::LoadHealth]
    }

    pub fn selected_repo(&self) -> Option<&RepoRow> {
        self.repos.get(self.repo_selected)
    }

    /// The events the filter lets through, newest first.
    pub fn visible_events(&self) -> impl Iterator<Item = &EventRow> {
        self.events.iter().filter(|e| e.matches(&self.event_filter))
    }

    fn open_objects(&mut self, repo: String) -> Vec<Command> {
        self.view = View::Objects;
        let kind = self
            .repos
            .iter()
            .find(|r| r.name == repo)
            .map(|r| r.kind.clone())
            .unwrap_or_default();
        self.objects = Objects {
            repo: repo.clone(),
            kind,
            loading: true,
            ..Objects::default()
        };
        vec![Command::LoadObjects {
            repo,
            prefix: String::new(),
            cursor: None,
        }]
    }

    fn reload_objects(&mut self) -> Vec<Command> {
        if self.objects.repo.is_empty() {
            return Vec::new();
        }
        self.objects.loading = true;
        vec![Command::LoadObjects {
            repo: self.objects.repo.clone(),
            prefix: self.objects.prefix.clone(),
            cursor: self.objects.cursor.clone(),
        }]
    }

    fn switch(&mut self, view: View) -> Vec<Command> {
        self.view = view;
        match view {
            View::Repositories => vec![Command::LoadRepositories],
            View::Health => vec![Command::LoadHealth],
            View::Objects if self.objects.repo.is_empty() => match self.selected_repo() {
                Some(r) => {
                    let name = r.name.clone();
                    self.open_objects(name)
                }
                None => Vec::new(),
            },
            View::Objects | View::Events => Vec::new(),
        }
    }
}

fn step(selected: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    (selected as isize + delta).clamp(0, len as isize - 1) as usize
}

/// Applies `msg` and returns the requests to send.
pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) => keys::on_key(app, key),
        Msg::Tick => match app.view {
            View::Repositories if app.input.is_none() => vec![Command::LoadRepositories],
            View::Health => vec![Command::LoadHealth],
            _ => Vec::new(),
        },
        Msg::Repositories(Ok(rows)) => {
            app.repos = rows;
            app.repo_selected = step(app.repo_selected, app.repos.len(), 0);
            app.repos_error = None;
            Vec::new()
        }
        Msg::Repositories(Err(e)) => {
            app.repos_error = Some(e);
            Vec::new()
        }
        Msg::Objects { repo, result } => {
            if repo != app.objects.repo {
                return Vec::new();
            }
            app.objects.loading = false;
            match result {
                Ok((rows, next)) => {
                    app.objects.rows = rows;
                    app.objects.next = next;
                    app.objects.selected = step(app.objects.selected, app.objects.rows.len(), 0);
                }
                Err(e) => app.status = Some(e),
            }
            Vec::new()
        }
        Msg::Health(Ok(rows)) => {
            app.health = rows;
            app.health_error = None;
            Vec::new()
        }
        Msg::Health(Err(e)) => {
            app.health_error = Some(e);
            Vec::new()
        }
        Msg::Event(event) => {
            app.events.push_front(event);
            app.events.truncate(EVENT_LIMIT);
            Vec::new()
        }
        Msg::Stream(s) => {
            app.stream = s;
            Vec::new()
        }
        Msg::Done(result) => {
            app.status = Some(result.unwrap_or_else(|e| e));
            app.reload_objects()
        }
        Msg::Probed(result) => {
            app.status = Some(result.unwrap_or_else(|e| e));
            Vec::new()
        }
    }
}

/// The keys the footer shows for what is on screen.
pub fn footer_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    if app.confirm.is_some() {
        return vec![("y", "yes"), ("any other key", "no")];
    }
    if app.input.is_some() {
        return vec![("Enter", "apply"), ("Esc", "cancel")];
    }
    let mut keys = match app.view {
        View::Repositories => vec![("↑↓", "select"), ("Enter", "objects"), ("p", "probe"), ("r", "refresh")],
        View::Objects => vec![
            ("↑↓", "select"),
            ("/", "prefix"),
            ("n/b", "next/prev page"),
            ("e", "evict"),
            ("f/F", "flush idx/all"),
            ("p", "probe"),
            ("Esc", "back"),
        ],
        View::Health => vec![("r", "refresh")],
        View::Events => vec![("/", "filter"), ("Esc", "clear filter"), ("c", "clear")],
    };
    keys.extend([("Tab", "view"), ("?", "help"), ("q", "quit")]);
    keys
}

mod keys;
#[cfg(test)]
mod tests;
