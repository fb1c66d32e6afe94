//! `reservas-bench`: pre-reserve throughput and latency against the native host (in process,
//! over real HTTP on 127.0.0.1) at several concurrencies, with a non-conflicting and a heavily
//! conflicting mix, next to the raw rate of the same transaction straight on SQLite; then
//! availability and quote latency with a small and a big number of stored reservations.
//!
//! Progress goes to stderr; the figures are printed last on stdout, one `name value` a line.
//! Sizes come from the environment (see [`Settings`]).

mod bulk;
mod host;
mod ical;
mod load;
mod nlu;
mod plan;
mod raw;
mod whatsapp;

use anyhow::{Context, Result};
use chrono::Days;
use load::Outcome;
use plan::{first_night, Booking};
use reservas_app::ports::{Conn, Db};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Cabins the non-conflicting stays are spread over.
const SPREAD_CABINS: usize = 100;
/// Cabins the conflicting stays fight over (fresh ones for each concurrency level).
const CONTESTED_CABINS: usize = 4;
/// Requests sent before the measured runs (connections, caches, the pool).
const WARMUP: usize = 200;
/// Cabins the availability and quote requests rotate over.
const READ_CABINS: usize = 100;
/// The availability window.
const WINDOW_DAYS: u64 = 30;

/// Sizes, from `BENCH_*` environment variables.
struct Settings {
    /// `BENCH_REQUESTS`: pre-reserve requests (and raw transactions) per mix and concurrency.
    requests: usize,
    /// `BENCH_CONCURRENCY`: comma-separated concurrency levels.
    concurrency: Vec<usize>,
    /// `BENCH_SMALL_ROWS` / `BENCH_BIG_ROWS`: stored reservations for the two read runs.
    small_rows: usize,
    big_rows: usize,
    /// `BENCH_BIG_CABINS`: cabins the stored reservations are spread over.
    big_cabins: usize,
    /// `BENCH_READS`: availability and quote requests per size.
    reads: usize,
}

fn env_number(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.trim().replace('_', "").parse().with_context(|| format!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let concurrency = std::env::var("BENCH_CONCURRENCY").unwrap_or_else(|_| "1,16,64".into());
        let concurrency = concurrency
            .split(',')
            .map(|c| c.trim().parse::<usize>().ok().filter(|c| *c > 0))
            .collect::<Option<Vec<_>>>()
            .with_context(|| format!("BENCH_CONCURRENCY={concurrency:?}"))?;
        let settings = Settings {
            requests: env_number("BENCH_REQUESTS", 5_000)?,
            concurrency,
            small_rows: env_number("BENCH_SMALL_ROWS", 1_000)?,
            big_rows: env_number("BENCH_BIG_ROWS", 1_000_000)?,
            big_cabins: env_number("BENCH_BIG_CABINS", 1_000)?.max(1),
            reads: env_number("BENCH_READS", 2_000)?,
        };
        anyhow::ensure!(settings.small_rows <= settings.big_rows, "BENCH_SMALL_ROWS must not exceed BENCH_BIG_ROWS");
        Ok(settings)
    }
}

/// The figures, printed last as `name value` lines.
#[derive(Default)]
struct Figures(Vec<(String, f64, usize)>);

impl Figures {
    fn add(&mut self, name: impl Into<String>, value: f64, decimals: usize) {
        self.0.push((name.into(), value, decimals));
    }

    /// rps, p50, p95 and p99 of a run, as `{prefix}_rps_{suffix}`, `{prefix}_p50_ms_{suffix}`...
    fn add_run(&mut self, prefix: &str, suffix: &str, outcome: &Outcome) {
        self.add(format!("{prefix}_rps_{suffix}"), outcome.per_second(), 1);
        for p in [50, 95, 99] {
            let value = outcome.percentile_ms(f64::from(p));
            self.add(format!("{prefix}_p{p}_ms_{suffix}"), value, 3);
        }
    }

    fn print(&self) {
        for (name, value, decimals) in &self.0 {
            println!("{name} {value:.decimals$}");
        }
    }
}

/// `1k`, `1m`, `250k`, `1234` — the size suffix of the read figures.
fn size_label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = Settings::from_env()?;
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    eprintln!(
        "reservas-bench: {} requests per run at concurrency {:?}; reads at {} and {} reservations; files in {}",
        settings.requests,
        settings.concurrency,
        settings.small_rows,
        settings.big_rows,
        dir.path().display()
    );
    let started = Instant::now();
    let mut figures = Figures::default();
    prereserve_section(&settings, dir.path(), &mut figures).await?;
    read_section(&settings, dir.path(), &mut figures).await?;
    ical::section(dir.path(), &mut figures).await?;
    nlu::section(&mut figures)?;
    whatsapp::section(dir.path(), &mut figures).await?;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    figures.print();
    Ok(())
}

/// A pre-reserve request for stay `plan(i)`.
fn pre_reserve(
    host: &host::Host,
    plan: impl Fn(usize) -> Booking + Send + Sync + 'static,
) -> impl Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static {
    let client = host.client.clone();
    let url = host.url("/reservations/pre-reserve");
    move |i| {
        let b = plan(i);
        client.post(&url).json(&json!({
            "accommodation_id": b.accommodation_id,
            "check_in": b.check_in.to_string(),
            "check_out": b.check_out.to_string(),
            "guests": 2,
            "channel": "web",
            "contact_name": "Bench Guest",
            "contact_phone": "+54 9 11 5555 0000",
        }))
    }
}

async fn prereserve_section(s: &Settings, dir: &Path, figures: &mut Figures) -> Result<()> {
    let host = host::start(&dir.join("host.db")).await?;
    let token = host.admin_token().await?;
    let cabins = Arc::new(host.create_accommodations(&token, SPREAD_CABINS).await?);
    let raw = raw::Baseline::create(&dir.join("raw.db"), SPREAD_CABINS).await?;
    let raw_cabins = raw.cabins.clone();
    eprintln!("host on {}; warming up", host.url(""));

    // Stay indexes are global, so no run reuses a night of an earlier one.
    let mut next = 0;
    let spread_from = |offset: usize, cabins: &Arc<Vec<i64>>| {
        let cabins = cabins.clone();
        move |i: usize| plan::spread(&cabins, offset + i)
    };
    load::http(4, WARMUP, pre_reserve(&host, spread_from(next, &cabins))).await;
    raw.run(4, WARMUP, |i| plan::spread(&raw_cabins, next + i)).await?;
    next += WARMUP;

    // SQLite takes one writer at a time: the rate on one connection is the ceiling.
    let sequential = raw.run(1, s.requests, |i| plan::spread(&raw_cabins, next + i)).await?;
    eprintln!("raw SQLite transaction, sequential: {}", sequential.summary());
    let sequential = sequential.per_second_with(201);
    figures.add("raw_sqlite_tx_per_s_sequential", sequential, 1);
    next += s.requests;

    for &c in &s.concurrency {
        let http = load::http(c, s.requests, pre_reserve(&host, spread_from(next, &cabins))).await;
        eprintln!("pre-reserve, distinct stays, c{c}: {}", http.summary());
        let direct = raw.run(c, s.requests, |i| plan::spread(&raw_cabins, next + i)).await?;
        eprintln!("raw SQLite transaction, c{c}: {}", direct.summary());
        next += s.requests;

        let contested = Arc::new(host.create_accommodations(&token, CONTESTED_CABINS).await?);
        let conflict = load::http(c, s.requests, pre_reserve(&host, move |i| plan::contested(&contested, i))).await;
        eprintln!("pre-reserve, contested stays, c{c}: {}", conflict.summary());

        let suffix = format!("c{c}");
        figures.add_run("prereserve", &suffix, &http);
        figures.add(format!("prereserve_created_share_{suffix}"), http.share(201), 4);
        figures.add_run("prereserve_conflict", &suffix, &conflict);
        figures.add(format!("prereserve_conflict_created_share_{suffix}"), conflict.share(201), 4);
        figures.add(format!("raw_sqlite_tx_per_s_{suffix}"), direct.per_second_with(201), 1);
        figures.add(format!("raw_sqlite_failed_{suffix}"), direct.failures as f64, 0);
        figures.add(format!("raw_sqlite_p50_ms_{suffix}"), direct.percentile_ms(50.0), 3);
        figures.add(
            format!("ratio_vs_raw_sqlite_{suffix}"),
            http.per_second_with(201) / direct.per_second_with(201).max(f64::EPSILON),
            3,
        );
        figures.add(
            format!("ratio_vs_raw_sqlite_sequential_{suffix}"),
            http.per_second_with(201) / sequential.max(f64::EPSILON),
            3,
        );
    }
    host.stop().await;
    Ok(())
}

/// Sequential availability (30-day window) and quote (a free two-night gap) requests,
/// rotating over the first cabins.
async fn measure_reads(host: &host::Host, cabins: &[i64], reads: usize) -> (Outcome, Outcome) {
    let cabins: Arc<Vec<i64>> = Arc::new(cabins.iter().take(READ_CABINS).copied().collect());
    let from = first_night();
    let (to, gap_in, gap_out) = (from + Days::new(WINDOW_DAYS), from + Days::new(2), from + Days::new(4));
    let availability = {
        let (client, cabins) = (host.client.clone(), cabins.clone());
        let base = host.url("/accommodations");
        move |i: usize| client.get(format!("{base}/{}/availability?from={from}&to={to}", cabins[i % cabins.len()]))
    };
    let quote = {
        let (client, cabins) = (host.client.clone(), cabins.clone());
        let base = host.url("/accommodations");
        move |i: usize| {
            client.get(format!(
                "{base}/{}/quote?check_in={gap_in}&check_out={gap_out}&guests=2",
                cabins[i % cabins.len()]
            ))
        }
    };
    (load::http(1, reads, availability).await, load::http(1, reads, quote).await)
}

/// A host whose database holds `rows` bulk reservations, and what reading from it measured.
struct ReadTarget {
    label: String,
    host: host::Host,
    cabins: Vec<i64>,
    availability: Outcome,
    quote: Outcome,
}

async fn read_target(s: &Settings, dir: &Path, rows: usize, figures: &mut Figures) -> Result<ReadTarget> {
    let label = size_label(rows);
    let host = host::start(&dir.join(format!("reads-{label}.db"))).await?;
    let conn = host.env.db.connect().await?;
    let cabins = bulk::accommodations(&conn, s.big_cabins).await?;
    let began = Instant::now();
    bulk::reservations(&conn, cabins[0], cabins.len() as i64, 0..rows as i64).await?;
    conn.query("PRAGMA wal_checkpoint(TRUNCATE)", &[]).await?;
    let seconds = began.elapsed().as_secs_f64();
    eprintln!("loaded {rows} reservations over {} cabins in {seconds:.1}s", cabins.len());
    figures.add(format!("bulk_load_s_{label}"), seconds, 1);
    Ok(ReadTarget { label, host, cabins, availability: Outcome::default(), quote: Outcome::default() })
}

/// Rounds of reads, alternating between the small and the big database, so background noise
/// falls on both alike.
const READ_ROUNDS: usize = 10;

async fn read_section(s: &Settings, dir: &Path, figures: &mut Figures) -> Result<()> {
    let mut targets = Vec::new();
    for rows in [s.small_rows, s.big_rows] {
        targets.push(read_target(s, dir, rows, figures).await?);
    }
    for t in &targets {
        measure_reads(&t.host, &t.cabins, WARMUP).await;
    }
    for _ in 0..READ_ROUNDS {
        for t in &mut targets {
            let (availability, quote) = measure_reads(&t.host, &t.cabins, s.reads.div_ceil(READ_ROUNDS)).await;
            t.availability.merge(availability);
            t.quote.merge(quote);
        }
    }
    for t in &targets {
        for (name, outcome) in [("availability", &t.availability), ("quote", &t.quote)] {
            eprintln!("{name} at {}: {}", t.label, outcome.summary());
            if outcome.share(200) < 1.0 {
                eprintln!("warning: not every {name} request answered 200");
            }
            for p in [50, 95, 99] {
                figures.add(format!("{name}_p{p}_ms_{}", t.label), outcome.percentile_ms(f64::from(p)), 3);
            }
        }
    }
    if let [small, big] = &targets[..] {
        for (name, s_out, b_out) in
            [("availability", &small.availability, &big.availability), ("quote", &small.quote, &big.quote)]
        {
            let ratio = b_out.percentile_ms(95.0) / s_out.percentile_ms(95.0).max(f64::EPSILON);
            figures.add(format!("{name}_ratio_{}_vs_{}", big.label, small.label), ratio, 3);
        }
    }
    for t in targets {
        t.host.stop().await;
    }
    Ok(())
}
