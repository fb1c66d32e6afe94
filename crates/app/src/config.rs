//! Configuration, read once into a typed struct. Natively from the environment, under Spin from
//! Spin variables (the same names in lower case); both go through [`Config::from_lookup`].

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Every name the service reads, so hosts can list and forward them (Spin variables, docs).
pub const VARIABLES: &[&str] = &[
    "ENVIRONMENT",
    "LISTEN_ADDR",
    "DATABASE_URL",
    "DATABASE_AUTH_TOKEN",
    "REDIS_URL",
    "BASE_URL",
    "JWT_SECRET",
    "JWT_ALGORITHM",
    "JWT_EXPIRATION_HOURS",
    "ADMIN_ALLOWED_EMAILS",
    "ADMIN_PASSWORD_HASH",
    "JOBS_TOKEN",
    "HOLD_SECONDS",
    "REMINDER_MINUTES_BEFORE",
    "JOB_EXPIRATION_INTERVAL_SECONDS",
    "MAX_NIGHTS",
    "ICS_SALT",
    "ICAL_MAX_STALENESS_MINUTES",
    "DOMAIN",
    "ALLOWED_ORIGINS",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_PHONE_ID",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_API_BASE",
    "MERCADOPAGO_ACCESS_TOKEN",
    "MERCADOPAGO_WEBHOOK_SECRET",
    "MERCADOPAGO_API_BASE",
    "EMAIL_API_URL",
    "EMAIL_API_KEY",
    "EMAIL_FROM",
    "WHISPER_URL",
    "WHISPER_API",
    "AUDIO_MODEL",
    "AUDIO_MIN_CONFIDENCE",
    "LOGIN_MAX_FAILURES_PER_EMAIL",
    "LOGIN_MAX_FAILURES_PER_CLIENT",
    "TRUSTED_PROXIES",
    "OUTBOX_BACKOFF_BASE_SECONDS",
    "OUTBOX_MAX_ATTEMPTS",
];

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub listen_addr: String,
    pub database_url: String,
    pub database_auth_token: Option<String>,
    pub redis_url: Option<String>,
    pub base_url: String,
    pub jwt_secret: String,
    pub jwt_expiration: Duration,
    pub admin_allowed_emails: Vec<String>,
    pub admin_password_hash: Option<String>,
    pub jobs_token: Option<String>,
    pub hold: Duration,
    pub reminder_before: Duration,
    pub job_interval: Duration,
    pub max_nights: u32,
    pub ics_salt: String,
    pub ical_max_staleness: Duration,
    pub domain: String,
    pub allowed_origins: Vec<String>,
    pub whatsapp_access_token: Option<String>,
    pub whatsapp_app_secret: Option<String>,
    pub whatsapp_phone_id: Option<String>,
    pub whatsapp_verify_token: Option<String>,
    pub whatsapp_api_base: String,
    pub mercadopago_access_token: Option<String>,
    pub mercadopago_webhook_secret: Option<String>,
    pub mercadopago_api_base: String,
    pub email_api_url: Option<String>,
    pub email_api_key: Option<String>,
    pub email_from: Option<String>,
    pub whisper_url: Option<String>,
    pub whisper_api: String,
    pub audio_model: String,
    pub audio_min_confidence: f64,
    pub login_max_failures_per_email: u32,
    pub login_max_failures_per_client: u32,
    /// Proxies whose `X-Forwarded-For` names the client (IP addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub outbox_backoff_base: Duration,
    pub outbox_max_attempts: u32,
}

/// The development JWT secret; refused outside development.
const DEV_JWT_SECRET: &str = "development-only-secret-change-me-0123456789";

impl Config {
    /// Builds the configuration from a lookup by variable name (upper case). Empty values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let environment = match get("ENVIRONMENT").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("staging") => Environment::Production,
            Some(other) => return Err(ConfigError(format!("ENVIRONMENT: unknown value {other:?}"))),
        };
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            get(name).map_or(Ok(default), |v| {
                v.parse::<u64>().map_err(|_| ConfigError(format!("{name}: not a whole number: {v:?}")))
            })
        };
        if let Some(alg) = get("JWT_ALGORITHM") {
            if alg != "HS256" {
                return Err(ConfigError(format!("JWT_ALGORITHM: only HS256 is supported, got {alg:?}")));
            }
        }
        let jwt_secret = match (get("JWT_SECRET"), environment) {
            (Some(s), Environment::Production) if s.len() < 32 => {
                return Err(ConfigError("JWT_SECRET: at least 32 bytes in production".into()))
            }
            (Some(s), _) => s,
            (None, Environment::Development) => DEV_JWT_SECRET.to_owned(),
            (None, Environment::Production) => return Err(ConfigError("JWT_SECRET is required in production".into())),
        };
        let admin_password_hash = get("ADMIN_PASSWORD_HASH");
        if environment == Environment::Production && admin_password_hash.is_none() {
            return Err(ConfigError("ADMIN_PASSWORD_HASH is required in production".into()));
        }
        let jobs_token = get("JOBS_TOKEN");
        if environment == Environment::Production && jobs_token.is_none() {
            return Err(ConfigError("JOBS_TOKEN is required in production".into()));
        }
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        let hold_seconds = number("HOLD_SECONDS", 1800)?;
        if hold_seconds == 0 {
            return Err(ConfigError("HOLD_SECONDS must be positive".into()));
        }
        let max_nights = number("MAX_NIGHTS", 30)?;
        if max_nights == 0 || max_nights > 365 {
            return Err(ConfigError("MAX_NIGHTS must be between 1 and 365".into()));
        }
        let audio_min_confidence = match get("AUDIO_MIN_CONFIDENCE") {
            None => 0.5,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|c| (0.0..=1.0).contains(c))
                .ok_or_else(|| ConfigError(format!("AUDIO_MIN_CONFIDENCE: not in 0..1: {v:?}")))?,
        };
        let trusted_proxies = list("TRUSTED_PROXIES")
            .iter()
            .map(|p| p.parse().map_err(|_| ConfigError(format!("TRUSTED_PROXIES: not an IP address: {p:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            environment,
            listen_addr: get("LISTEN_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()),
            database_url: get("DATABASE_URL").unwrap_or_else(|| "data/reservas.db".into()),
            database_auth_token: get("DATABASE_AUTH_TOKEN"),
            redis_url: get("REDIS_URL"),
            base_url: get("BASE_URL")
                .unwrap_or_else(|| "http://127.0.0.1:3000".into())
                .trim_end_matches('/')
                .to_owned(),
            jwt_secret,
            jwt_expiration: Duration::from_secs(number("JWT_EXPIRATION_HOURS", 12)? * 3600),
            admin_allowed_emails: list("ADMIN_ALLOWED_EMAILS").into_iter().map(|e| e.to_lowercase()).collect(),
            admin_password_hash,
            jobs_token,
            hold: Duration::from_secs(hold_seconds),
            reminder_before: Duration::from_secs(number("REMINDER_MINUTES_BEFORE", 10)? * 60),
            job_interval: Duration::from_secs(number("JOB_EXPIRATION_INTERVAL_SECONDS", 60)?.max(1)),
            max_nights: max_nights as u32,
            ics_salt: get("ICS_SALT").unwrap_or_else(|| "development-ics-salt".into()),
            ical_max_staleness: Duration::from_secs(number("ICAL_MAX_STALENESS_MINUTES", 20)? * 60),
            domain: get("DOMAIN").unwrap_or_else(|| "localhost".into()),
            allowed_origins: list("ALLOWED_ORIGINS"),
            whatsapp_access_token: get("WHATSAPP_ACCESS_TOKEN"),
            whatsapp_app_secret: get("WHATSAPP_APP_SECRET"),
            whatsapp_phone_id: get("WHATSAPP_PHONE_ID"),
            whatsapp_verify_token: get("WHATSAPP_VERIFY_TOKEN"),
            whatsapp_api_base: get("WHATSAPP_API_BASE").unwrap_or_else(|| "https://graph.facebook.com/v23.0".into()),
            mercadopago_access_token: get("MERCADOPAGO_ACCESS_TOKEN"),
            mercadopago_webhook_secret: get("MERCADOPAGO_WEBHOOK_SECRET"),
            mercadopago_api_base: get("MERCADOPAGO_API_BASE").unwrap_or_else(|| "https://api.mercadopago.com".into()),
            email_api_url: get("EMAIL_API_URL"),
            email_api_key: get("EMAIL_API_KEY"),
            email_from: get("EMAIL_FROM"),
            whisper_url: get("WHISPER_URL"),
            whisper_api: get("WHISPER_API").unwrap_or_else(|| "openai".into()),
            audio_model: get("AUDIO_MODEL").unwrap_or_else(|| "whisper-1".into()),
            audio_min_confidence,
            login_max_failures_per_email: number("LOGIN_MAX_FAILURES_PER_EMAIL", 10)?.max(1) as u32,
            login_max_failures_per_client: number("LOGIN_MAX_FAILURES_PER_CLIENT", 30)?.max(1) as u32,
            trusted_proxies,
            outbox_backoff_base: Duration::from_secs(number("OUTBOX_BACKOFF_BASE_SECONDS", 30)?),
            outbox_max_attempts: number("OUTBOX_MAX_ATTEMPTS", 8)?.max(1) as u32,
        })
    }

    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn development_defaults_are_usable() {
        let c = Config::from_lookup(lookup(&[])).unwrap();
        assert!(c.is_development());
        assert_eq!(c.hold, Duration::from_secs(1800));
        assert_eq!(c.max_nights, 30);
        assert_eq!(c.listen_addr, "127.0.0.1:3000");
    }

    #[test]
    fn production_requires_secrets() {
        let err = Config::from_lookup(lookup(&[("ENVIRONMENT", "production")])).unwrap_err();
        assert!(err.0.contains("JWT_SECRET"));
    }

    #[test]
    fn only_hs256_is_accepted() {
        let err = Config::from_lookup(lookup(&[("JWT_ALGORITHM", "RS256")])).unwrap_err();
        assert!(err.0.contains("HS256"));
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(Config::from_lookup(lookup(&[("HOLD_SECONDS", "soon")])).is_err());
        assert!(Config::from_lookup(lookup(&[("HOLD_SECONDS", "0")])).is_err());
    }
}
