//! `UploadSessions` contract: create-only ids, optimistic versions, reaping by age.
use std::sync::Arc;

use artifactapi::domain::registry::upload::UploadState;
use artifactapi::ports::{PortError, UploadSession, UploadSessions};
use chrono::Duration;

use super::{digest, now};

fn session(id: &str, age: Duration) -> UploadSession {
    let t = now() - age;
    UploadSession {
        id: id.into(),
        repo: "docker-local".into(),
        image: "team/app".into(),
        state: UploadState::Started,
        parts: vec![],
        version: 0,
        created_at: t,
        updated_at: t,
    }
}

pub async fn upload_sessions_contract(sessions: Arc<dyn UploadSessions>) {
    assert_eq!(sessions.get("u1").await.unwrap(), None);
    assert!(!sessions.delete("u1").await.unwrap());

    let s = session("u1", Duration::zero());
    sessions.create(&s).await.unwrap();
    assert_eq!(sessions.get("u1").await.unwrap(), Some(s.clone()));
    assert!(matches!(
        sessions.create(&session("u1", Duration::hours(1))).await,
        Err(PortError::Conflict)
    ));

    let next = UploadSession {
        state: UploadState::Receiving { offset: 10 },
        parts: vec!["uploads/u1/0".into()],
        updated_at: now(),
        ..s.clone()
    };
    sessions.update(&next).await.unwrap();
    let stored = sessions.get("u1").await.unwrap().unwrap();
    assert_eq!(
        stored,
        UploadSession {
            version: 1,
            ..next.clone()
        },
        "version bumped"
    );
    assert!(
        matches!(sessions.update(&next).await, Err(PortError::Conflict)),
        "stale version"
    );
    assert_eq!(
        sessions.get("u1").await.unwrap(),
        Some(stored.clone()),
        "a stale update changes nothing"
    );

    // Two replicas racing from the same version: exactly one wins.
    let racers = (0..10u64).map(|i| {
        let sessions = sessions.clone();
        let mine = UploadSession {
            state: UploadState::Receiving { offset: 10 + i },
            ..stored.clone()
        };
        tokio::spawn(async move { sessions.update(&mine).await })
    });
    let results: Vec<_> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Ok(()) | Err(PortError::Conflict))),
        "{results:?}"
    );
    let after_race = sessions.get("u1").await.unwrap().unwrap();
    assert_eq!(after_race.version, 2);

    let committed = UploadSession {
        state: UploadState::Committed {
            digest: digest("blob").to_string(),
        },
        ..after_race
    };
    sessions.update(&committed).await.unwrap();
    assert_eq!(sessions.get("u1").await.unwrap().unwrap().state, committed.state);

    let gone = session("never-created", Duration::zero());
    assert!(matches!(
        sessions.update(&gone).await,
        Err(PortError::NotFound | PortError::Conflict)
    ));

    sessions.create(&session("old", Duration::hours(25))).await.unwrap();
    sessions.create(&session("older", Duration::hours(48))).await.unwrap();
    let stale: Vec<String> = sessions
        .older_than(now() - Duration::hours(24))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(stale, ["older", "old"]);

    assert!(sessions.delete("u1").await.unwrap());
    assert_eq!(sessions.get("u1").await.unwrap(), None);
}
