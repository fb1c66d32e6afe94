//! The load generator and the statistics every section reports.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured: the latency and outcome of every completed operation.
#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies: Vec<Duration>,
    /// How many operations ended with each status (HTTP status; the raw baseline uses 201 for
    /// a committed hold and 409 for an overlap, like the API).
    pub statuses: BTreeMap<u16, usize>,
    /// Operations that got no answer at all (connection or database errors), and the first
    /// such error.
    pub failures: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn record(&mut self, latency: Duration, status: u16) {
        self.latencies.push(latency);
        *self.statuses.entry(status).or_default() += 1;
    }

    pub fn fail(&mut self, error: String) {
        self.failures += 1;
        self.first_error.get_or_insert(error);
    }

    /// Adds another run's operations (and its wall time) to this one.
    pub fn merge(&mut self, other: Outcome) {
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.failures += other.failures;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Completed operations per second of wall time.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Operations with `status` per second of wall time.
    pub fn per_second_with(&self, status: u16) -> f64 {
        self.count(status) as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    pub fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// The share of completed operations that ended with `status`.
    pub fn share(&self, status: u16) -> f64 {
        self.count(status) as f64 / self.latencies.len().max(1) as f64
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p).as_secs_f64() * 1000.0
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        format!(
            "{} done in {:.2}s ({:.1}/s), p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, statuses {:?}, failures {}{}",
            self.latencies.len(),
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0),
            self.statuses,
            self.failures,
            self.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        )
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples; zero when there are none.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sends `total` requests from `concurrency` concurrent workers; each worker takes the next
/// index until none are left, and `request(i)` builds request `i`. A latency runs until the
/// whole response body has arrived.
pub async fn http<F>(concurrency: usize, total: usize, request: F) -> Outcome
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (request, next) = (request.clone(), next.clone());
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return outcome;
                    }
                    let sent = Instant::now();
                    match exchange(request(i)).await {
                        Ok(status) => outcome.record(sent.elapsed(), status),
                        Err(e) => outcome.fail(e.to_string()),
                    }
                }
            })
        })
        .collect();
    let mut outcome = Outcome::default();
    for worker in workers {
        outcome.merge(worker.await.expect("load worker panicked"));
    }
    outcome.elapsed = started.elapsed();
    outcome
}

async fn exchange(request: reqwest::RequestBuilder) -> reqwest::Result<u16> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    response.bytes().await?;
    Ok(status)
}

/// The same for blocking work: one OS thread per state in `states` (a connection each), all
/// taking the next index until `total` are done; `work(state, i)` returns a status or an error.
pub fn threads<S, W>(states: Vec<S>, total: usize, work: W) -> Outcome
where
    S: Send,
    W: Fn(&mut S, usize) -> Result<u16, String> + Sync,
{
    let next = AtomicUsize::new(0);
    let runtime = tokio::runtime::Handle::try_current().ok();
    let started = Instant::now();
    let mut outcome = Outcome::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let (next, work, runtime) = (&next, &work, runtime.clone());
                scope.spawn(move || {
                    let _entered = runtime.as_ref().map(|r| r.enter());
                    let mut outcome = Outcome::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            return outcome;
                        }
                        let began = Instant::now();
                        match work(&mut state, i) {
                            Ok(status) => outcome.record(began.elapsed(), status),
                            Err(e) => outcome.fail(e),
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            outcome.merge(worker.join().expect("raw worker panicked"));
        }
    });
    outcome.elapsed = started.elapsed();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 95.0), Duration::from_millis(95));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
