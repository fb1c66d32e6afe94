//! The `reservas` binary as a new user runs it: serve on the embedded default, migrate, seed,
//! tick; JSON logs with a request id on every request line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn reservas() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reservas"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENVIRONMENT", "development")
        .env("ADMIN_ALLOWED_EMAILS", "admin@example.com")
        .env("JOBS_TOKEN", "cli-token");
    cmd
}

struct Served {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &std::path::Path) -> Served {
    let mut child = reservas()
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn reservas serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = lines.recv_timeout(Duration::from_secs(20)).expect("server printed nothing");
        let log: serde_json::Value = serde_json::from_str(&line).expect("log lines are JSON");
        if log["fields"]["message"] == "listening" {
            break log["fields"]["addr"].as_str().expect("addr").to_owned();
        }
    };
    Served { child, addr, lines }
}

#[tokio::test]
async fn a_new_user_serves_seeds_and_books_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("reservas.db");
    let migrate = reservas().args(["migrate", "--database"]).arg(&db).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    assert!(db.exists(), "migrate creates the database file and its folder");
    let seed = reservas().args(["seed", "--database"]).arg(&db).output().unwrap();
    assert!(seed.status.success());
    let seeded: serde_json::Value =
        serde_json::from_slice(seed.stdout.split(|b| *b == b'\n').rfind(|l| !l.is_empty()).unwrap()).unwrap();
    assert_eq!(seeded["created"].as_array().unwrap().len(), 2, "two demo cabins");
    let again = reservas().args(["seed", "--database"]).arg(&db).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("\"created\":[]"), "seeding twice adds nothing");

    let served = serve(&db);
    let client = reqwest::Client::new();
    let base = format!("http://{}", served.addr);
    let health = client.get(format!("{base}/api/v1/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let check_in = (chrono::Utc::now() + chrono::Duration::days(20)).format("%Y-%m-%d").to_string();
    let check_out = (chrono::Utc::now() + chrono::Duration::days(22)).format("%Y-%m-%d").to_string();
    let hold = client
        .post(format!("{base}/api/v1/reservations/pre-reserve"))
        .json(&serde_json::json!({
            "accommodation_id": 1, "check_in": check_in, "check_out": check_out, "guests": 2,
            "channel": "whatsapp", "contact_name": "Ana", "contact_phone": "+5491122334455"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(hold.status(), 201);
    let request_id = hold.headers()["x-request-id"].to_str().unwrap().to_owned();

    let tick = reservas().args(["tick", "--database"]).arg(&db).output().unwrap();
    assert!(tick.status.success());
    assert!(String::from_utf8_lossy(&tick.stdout).contains("\"expired_holds\":0"));

    // Every log line is JSON; the request's lines carry its id.
    std::thread::sleep(Duration::from_millis(100));
    let lines: Vec<String> = served.lines.try_iter().collect();
    let mut seen = 0;
    for line in &lines {
        let log: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if log["span"]["request_id"] == request_id.as_str() {
            seen += 1;
        }
    }
    assert!(seen >= 2, "the hold's log lines carry its request id: {lines:?}");
}

#[test]
fn unknown_commands_and_flags_exit_2_with_usage() {
    let out = reservas().arg("dance").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    let out = reservas().args(["serve", "--colour", "blue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_configuration_is_refused_at_start() {
    let out = reservas().args(["migrate"]).env("ENVIRONMENT", "production").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}
