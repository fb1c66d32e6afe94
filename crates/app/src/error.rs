//! The API's one error type, mapped once to the contract's codes and statuses.

use crate::http::Response;
use crate::ports::DbError;
use reservas_domain::stay::StayError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidDates(String),
    #[error("{0}")]
    InvalidGuests(String),
    #[error("accommodation not found")]
    AccommodationNotFound,
    #[error("{0}")]
    NotFound(String),
    #[error("another request for these dates is being processed; try again shortly")]
    ProcessingOrUnavailable,
    #[error("a night in that range is already taken")]
    DateOverlap,
    #[error("{0}")]
    InvalidState(String),
    #[error("the hold has expired")]
    Expired,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("request body exceeds 1 MiB")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many attempts; try again later")]
    RateLimited,
    #[error("the database is busy; try again")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::MalformedJson(_) => "validation_error",
            ApiError::InvalidDates(_) => "invalid_dates",
            ApiError::InvalidGuests(_) => "invalid_guests",
            ApiError::AccommodationNotFound => "accommodation_not_found",
            ApiError::NotFound(_) => "not_found",
            ApiError::ProcessingOrUnavailable => "processing_or_unavailable",
            ApiError::DateOverlap => "date_overlap",
            ApiError::InvalidState(_) => "invalid_state",
            ApiError::Expired => "expired",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RateLimited => "rate_limited",
            ApiError::Busy => "service_unavailable",
            ApiError::Unexpected(_) => "internal_error",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_) => 400,
            ApiError::Validation(_) | ApiError::InvalidDates(_) | ApiError::InvalidGuests(_) => 422,
            ApiError::AccommodationNotFound | ApiError::NotFound(_) => 404,
            ApiError::ProcessingOrUnavailable | ApiError::DateOverlap | ApiError::InvalidState(_) => 409,
            ApiError::Expired => 410,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::PayloadTooLarge => 413,
            ApiError::MethodNotAllowed => 405,
            ApiError::RateLimited => 429,
            ApiError::Busy => 503,
            ApiError::Unexpected(_) => 500,
        }
    }

    /// The JSON error body. Unexpected errors never show their internals.
    pub fn to_response(&self) -> Response {
        let detail = match self {
            ApiError::Unexpected(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let mut response = Response::json(self.status(), &json!({ "error": self.code(), "detail": detail }));
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers.push(("www-authenticate".into(), "Bearer".into()));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            // Only the night-slot table's constraint means "taken"; any other UNIQUE is a bug.
            DbError::Unique(ref what) if what.contains("night_slots") => ApiError::DateOverlap,
            DbError::Busy => ApiError::Busy,
            other => ApiError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<StayError> for ApiError {
    fn from(e: StayError) -> Self {
        ApiError::InvalidDates(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
