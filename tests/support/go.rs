//! The real go command against a GOPROXY on this server (no network: GOSUMDB off, GONOSUMDB and
//! GOPRIVATE unset, every cache in a temp dir), and module files built as `go mod` lays them out.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

/// Whether the go command is here (else the test skips, or fails under REQUIRE_BACKENDS).
pub fn go_found() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The case-encoding of a module path or version (`!x` for a capital X).
pub fn escape(path: &str) -> String {
    path.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['!', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A module zip: every file under `{module}@{version}/`.
pub fn module_zip(module: &str, version: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        zip.start_file(
            format!("{module}@{version}/{name}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(data.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Runs `go args…` in `dir` with GOPROXY=`proxy` and everything else under `home`.
pub async fn go(dir: &Path, home: &Path, proxy: &str, args: &[&str]) -> Output {
    let (dir, home, proxy) = (dir.to_path_buf(), home.to_path_buf(), proxy.to_string());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&home).unwrap();
        Command::new("go")
            .args(&args)
            .current_dir(&dir)
            .env("GOPROXY", proxy)
            .env("GOSUMDB", "off")
            .env("GONOSUMDB", "*")
            .env("GOFLAGS", "-mod=mod -modcacherw")
            .env("GOPATH", home.join("gopath"))
            .env("GOMODCACHE", home.join("modcache"))
            .env("GOCACHE", home.join("gocache"))
            .env("GOTOOLCHAIN", "local")
            .env("HOME", &home)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
