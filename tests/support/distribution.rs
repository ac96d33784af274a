//! Debian's `docker-registry` (the CNCF distribution registry, filesystem storage) as a real
//! docker upstream on a loopback port.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Distribution {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

pub fn available() -> bool {
    Command::new("docker-registry")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Distribution {
    pub async fn start() -> Distribution {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", super::server::free_port());
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned from here on, so `Drop` reaps the process on every path.
        let registry = Distribution { child, addr, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if client.get(format!("http://{}/v2/", registry.addr)).send().await.is_ok() {
                return registry;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("docker-registry did not start on {}", registry.addr);
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        self.stop();
    }
}
