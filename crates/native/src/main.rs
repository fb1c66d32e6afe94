//! `reservas serve | migrate | seed | tick`, with `--listen` and `--database` overriding
//! `LISTEN_ADDR` and `DATABASE_URL`.

use reservas::{init_logging, server, spawn_ticker};
use reservas_app::Config;
use std::sync::Arc;

const USAGE: &str = "usage: reservas <serve|migrate|seed|tick> [--listen ADDR] [--database PATH_OR_URL]";

struct Args {
    command: String,
    listen: Option<String>,
    database: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(USAGE)?;
    if !["serve", "migrate", "seed", "tick"].contains(&command.as_str()) {
        return Err(format!("unknown command {command}\n{USAGE}"));
    }
    let (mut listen, mut database) = (None, None);
    while let Some(flag) = args.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let value = inline.or_else(|| args.next()).ok_or(format!("{name} needs a value\n{USAGE}"))?;
        match name.as_str() {
            "--listen" => listen = Some(value),
            "--database" => database = Some(value),
            _ => return Err(format!("unknown flag {name}\n{USAGE}")),
        }
    }
    Ok(Args { command, listen, database })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    init_logging();
    let mut config = Config::from_lookup(|name| std::env::var(name).ok())?;
    if let Some(listen) = args.listen {
        config.listen_addr = listen;
    }
    if let Some(database) = args.database {
        config.database_url = database;
    }
    let env = Arc::new(reservas::open_env(config, reservas::clock::NativeClock::new()).await?);
    match args.command.as_str() {
        "serve" => {
            let running = server::start(env.clone(), &env.config.listen_addr).await?;
            tracing::info!(addr = %running.addr, database = %env.config.database_url, kv = reservas_app::ports::Kv::backend(&env.kv), "listening");
            let _ticker = spawn_ticker(env.clone(), env.config.job_interval);
            tokio::signal::ctrl_c().await?;
            tracing::info!("shutting down");
            running.shutdown().await;
        }
        "migrate" => println!("{{\"migrated\": true, \"database\": {:?}}}", env.config.database_url),
        "seed" => {
            let created = reservas_app::admin::seed(env.as_ref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::json!({ "created": created }));
        }
        "tick" => {
            let report = reservas_app::jobs::tick(env.as_ref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{report}");
        }
        other => unreachable!("parse_args accepted {other}"),
    }
    Ok(())
}
