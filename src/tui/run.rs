//! The terminal loop: keys, ticks and server answers become messages for `state::update`; the
//! commands it returns run as tasks that answer with messages. The event tail runs beside it.
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::client::Api;
use super::state::{App, Command, Key, Msg, update};
use super::view::draw;

/// How often the live views refresh.
const TICK: Duration = Duration::from_secs(2);

fn key(event: KeyEvent) -> Option<Msg> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char('c') {
        return Some(Msg::Key(Key::Char('q')));
    }
    let k = match event.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    };
    Some(Msg::Key(k))
}

fn spawn(api: &Arc<Api>, tx: &mpsc::UnboundedSender<Msg>, command: Command) {
    let (api, tx) = (api.clone(), tx.clone());
    tokio::spawn(async move {
        let msg = match command {
            Command::LoadRepositories => Msg::Repositories(api.repositories().await),
            Command::LoadObjects { repo, prefix, cursor } => {
                let result = api.objects(&repo, &prefix, cursor.as_deref()).await;
                Msg::Objects { repo, result }
            }
            Command::Evict { repo, path } => Msg::Done(api.evict(&repo, &path).await),
            Command::Flush { repo, all } => Msg::Done(api.flush(&repo, all).await),
            Command::Probe { repo, path } => Msg::Probed(api.probe(&repo, &path).await),
            Command::LoadHealth => Msg::Health(api.health().await),
            Command::Quit => return,
        };
        let _ = tx.send(msg);
    });
}

/// Runs until `q`. The terminal is restored on every way out, panics included (ratatui's hook).
pub async fn run(endpoint: &str, token: Option<&str>) -> Result<(), String> {
    let api = Arc::new(Api::new(endpoint, token)?);
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut app = App::new(endpoint.trim_end_matches('/'));
    // Not a terminal (a pipe, CI): one clear line instead of a panic.
    let mut terminal = ratatui::try_init().map_err(|e| {
        let _ = crossterm::terminal::disable_raw_mode();
        format!("cannot use this terminal: {e}")
    })?;
    let tail = {
        let (api, tx) = (api.clone(), tx.clone());
        tokio::spawn(async move { api.tail_events(tx).await })
    };
    for command in app.start() {
        spawn(&api, &tx, command);
    }
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.tick().await;
    let result = loop {
        if let Err(e) = terminal.draw(|frame| draw(frame, &app)) {
            break Err(format!("cannot draw: {e}"));
        }
        let msg = tokio::select! {
            input = keys.next() => match input {
                Some(Ok(Event::Key(k))) => key(k),
                // A resize needs only the redraw at the top of the loop.
                Some(Ok(_)) => None,
                Some(Err(e)) => break Err(format!("terminal input: {e}")),
                None => break Ok(()),
            },
            _ = tick.tick() => Some(Msg::Tick),
            Some(msg) = rx.recv() => Some(msg),
        };
        if let Some(msg) = msg {
            for command in update(&mut app, msg) {
                spawn(&api, &tx, command);
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    tail.abort();
    ratatui::restore();
    result
}
