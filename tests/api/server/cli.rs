//! The `reach` command line, run as a real process: schema, migrate, token, serve, settings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

pub(crate) fn reach(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reach"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("REACH_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("REACH_LOG_LEVEL", "warn");
    // As `harness::app::fresh_database`: the fake platform listens on http://127.0.0.1.
    cmd.env("REACH_PLUGINS__PLATFORM__ALLOW_HTTP", "true");
    cmd.env("REACH_PLUGINS__PLATFORM__ALLOW_DESTINATIONS", r#"["127.0.0.0/8"]"#);
    cmd
}

pub(crate) fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("reach-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills the server when the test ends, pass or fail.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `reach serve` with `args`, returning the process, the lines it printed before
/// `listening on`, and the address.
fn serve(dir: &std::path::Path, args: &[&str]) -> (Server, Vec<String>, String) {
    listening(start(dir, args, &[]))
}

/// Starts `reach serve` with `args` and extra environment, without waiting for it.
pub(crate) fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let child = reach(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

/// Waits for a started server to listen: the lines it printed before, and its address.
pub(crate) fn listening(mut server: Server) -> (Server, Vec<String>, String) {
    let stdout = server.0.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            return (server, lines, addr.trim().to_owned());
        }
        lines.push(line);
    }
    panic!("the server stopped before listening: {lines:?}");
}

async fn viewer(addr: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": "{ viewer { kind name user { name } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[test]
fn schema_command_prints_the_checked_in_sdl() {
    let out = reach(&temp_dir()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let checked_in = include_str!("../../../schema.graphql");
    assert!(
        String::from_utf8(out.stdout).unwrap() == checked_in,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn migrate_token_and_serve_share_the_generated_secret() {
    let dir = temp_dir();
    let out = reach(&dir).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.join("reach.db").exists(),
        "SQLite file created in the working directory"
    );

    let out = reach(&dir)
        .args(["token", "--support", "--name", "ops"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let (_server, lines, addr) = serve(&dir, &[]);
    assert!(
        lines.contains(&"plugin email: holding mail as PENDING: REACH_SMTP_URL is not set".to_owned()),
        "reach serve lists the plugins it started: {lines:?}"
    );
    let body = viewer(&addr, &token).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({"kind": "SUPPORT", "name": "ops", "user": null})
    );
}

#[tokio::test]
async fn demo_prints_a_token_per_persona_and_user_tokens_work() {
    let dir = temp_dir();
    let (server, lines, addr) = serve(&dir, &["--demo"]);
    let text = lines.join("\n");
    assert!(text.contains("GraphiQL: http://"), "{text}");
    assert!(text.contains("Console:  http://"), "{text}");
    for persona in [
        "Support",
        "Decision Maker",
        "Phone Manager (account-wide)",
        "Phone Manager (Austin Office)",
        "User",
    ] {
        assert!(text.contains(persona), "{persona} in {text}");
    }
    let user_token = lines
        .iter()
        .position(|l| l.contains("User, Northwind Traders"))
        .and_then(|i| lines.get(i + 1))
        .unwrap()
        .trim()
        .to_owned();
    let body = viewer(&addr, &user_token).await;
    assert_eq!(body["data"]["viewer"]["kind"], "USER");
    assert_eq!(body["data"]["viewer"]["user"]["name"], "Uma User");

    // `reach token --user <email>` against the same database.
    drop(server);
    let out = reach(&dir)
        .args(["token", "--user", "dana@northwind.example"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (_server, lines, addr) = serve(&dir, &["--demo"]);
    assert!(
        lines.join("\n").contains("already present"),
        "a second --demo does not duplicate the directory"
    );
    let body = viewer(&addr, &token).await;
    assert_eq!(body["data"]["viewer"]["user"]["name"], "Dana Decider");

    let out = reach(&dir)
        .args(["token", "--user", "nobody@nowhere.example"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_bad_setting_stops_start_up_naming_it() {
    let dir = temp_dir();
    for (key, value, name) in [
        ("REACH_LISTEN", "nowhere", "REACH_LISTEN"),
        ("REACH_DATABASE_URL", "mysql://x", "REACH_DATABASE_URL"),
        ("REACH_LIMITS__MAX_DEPTH", "0", "REACH_LIMITS__MAX_DEPTH"),
        ("REACH_LOG_FORMAT", "xml", "REACH_LOG_FORMAT"),
        ("REACH_LISTN", "127.0.0.1:1", "LISTN"),
        ("REACH_LIMITS__MAX_DEPT", "3", "LIMITS.MAX_DEPT"),
        // A plugin switched on but misconfigured stops start-up naming the setting.
        ("REACH_PLUGINS__EMAIL__TLS", "maybe", "REACH_PLUGINS__EMAIL__TLS"),
        ("REACH_PLUGINS__EMAIL__FROM", "nobody", "REACH_PLUGINS__EMAIL__FROM"),
        (
            "REACH_PLUGINS__EMAIL__TEMPLATES_DIR",
            "/nonexistent/reach",
            "REACH_PLUGINS__EMAIL__TEMPLATES_DIR",
        ),
        (
            "REACH_PLUGINS__EMAIL__MAX_ATTEMPTS",
            "0",
            "REACH_PLUGINS__EMAIL__MAX_ATTEMPTS",
        ),
        ("REACH_SMTP_URL", "smtp://", "REACH_SMTP_URL"),
    ] {
        let mut child = reach(&dir)
            .arg("serve")
            .env(key, value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{key}={value} did not stop the server"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!status.success(), "{key}={value}");
        assert!(stderr.contains(name), "{key}={value}: {stderr}");
    }
    // reach.toml is read: a bad value, and a misspelt key, stop start-up naming the key.
    std::fs::write(dir.join("reach.toml"), "listen = \"not an address\"\n").unwrap();
    let out = reach(&dir).arg("serve").output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("listen"));
    std::fs::write(dir.join("reach.toml"), "[limit]\nmax_depth = 3\n").unwrap();
    let out = reach(&dir).arg("serve").output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("limit"));
}

/// A port another process holds stops start-up with a message that names the address and the
/// setting to change, whether the address came from `--listen` or from `REACH_LISTEN`.
#[test]
fn a_port_in_use_stops_start_up_naming_the_address_and_the_setting() {
    let dir = temp_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    // Waits for the server to stop (it must not start), and answers whether it failed and
    // what it printed on stderr.
    let stopped = |mut cmd: Command| {
        let mut child = Server(cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server started on a port in use"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
        (status.success(), stderr)
    };
    let mut by_flag = reach(&dir);
    by_flag.args(["serve", "--listen", &addr]);
    let mut by_env = reach(&dir);
    by_env.arg("serve").env("REACH_LISTEN", &addr);
    for (how, cmd) in [("--listen", by_flag), ("REACH_LISTEN", by_env)] {
        let (success, stderr) = stopped(cmd);
        assert!(!success, "{how}: {stderr}");
        let want = format!(
            "error: cannot listen on {addr}: address already in use; set `listen` (REACH_LISTEN, or `reach serve \
             --listen`) to another port, or stop what holds it"
        );
        assert!(stderr.contains(&want), "{how}: {stderr}");
    }
    drop(taken);
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let dir = temp_dir();
    let (mut server, _, addr) = serve(&dir, &[]);
    let health = reqwest::get(format!("{addr}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
}

#[tokio::test]
async fn several_servers_start_at_once_on_a_fresh_postgresql_database() {
    use secrecy::ExposeSecret;
    let Some(backend) = crate::harness::app::postgres() else {
        return;
    };
    let (settings, _database) = crate::harness::app::fresh_database(&backend).await;
    let url = settings.database_url.expose_secret().to_owned();
    let dir = temp_dir();
    // All three migrate and fill the demo at the same moment: one does it, the others wait.
    let started: Vec<Server> = (0..3)
        .map(|_| start(&dir, &["--demo"], &[("REACH_DATABASE_URL", url.as_str())]))
        .collect();
    let running: Vec<_> = started.into_iter().map(listening).collect();
    let created = running
        .iter()
        .filter(|(_, lines, _)| lines[0].contains("created"))
        .count();
    assert_eq!(created, 1, "exactly one process filled the demo directory");
    for (_, lines, addr) in &running {
        let token = lines[2].trim();
        let body = viewer(addr, token).await;
        assert_eq!(
            body["data"]["viewer"]["kind"], "SUPPORT",
            "every process serves: {body}"
        );
    }
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    assert_eq!(
        crate::harness::app::count(&db, "SELECT COUNT(*) AS n FROM account").await,
        2
    );
    db.close().await.unwrap();
}
