//! A private `redis-server` on a free port, for tests that stop Redis (the shared one on 6379
//! is never touched).
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrivateRedis {
    child: Child,
    pub url: String,
}

impl PrivateRedis {
    /// `None` when `redis-server` is not installed.
    pub async fn start() -> Option<PrivateRedis> {
        let port = super::server::free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(redis)
    }

    /// SIGKILL: the server is gone at once, connections reset.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
