//! Reading client JSON into domain values, with the contract's error for each failure.

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

/// A request body that parsed as a JSON object.
pub struct JsonBody(Map<String, Value>);

impl JsonBody {
    pub fn parse(body: &[u8]) -> ApiResult<JsonBody> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(JsonBody(map)),
            Ok(_) => Err(ApiError::Validation("the body must be a JSON object".into())),
            Err(e) => Err(ApiError::MalformedJson(e.to_string())),
        }
    }

    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn required_str(&self, field: &str) -> ApiResult<&str> {
        match self.raw(field) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ApiError::Validation(format!("{field} must be a string"))),
            None => Err(ApiError::Validation(format!("{field} is required"))),
        }
    }

    pub fn optional_str(&self, field: &str) -> ApiResult<Option<&str>> {
        match self.raw(field) {
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::Validation(format!("{field} must be a string"))),
            None => Ok(None),
        }
    }

    /// A non-empty trimmed string of at most `max` characters.
    pub fn text(&self, field: &str, max: usize) -> ApiResult<String> {
        let value = self.required_str(field)?.trim();
        check_text(field, value, max)?;
        Ok(value.to_owned())
    }

    /// An integer id: a JSON integer, or a string of digits.
    pub fn id(&self, field: &str) -> ApiResult<i64> {
        let invalid = || ApiError::Validation(format!("{field} must be a positive integer"));
        match self.raw(field) {
            Some(Value::Number(n)) => n.as_i64().filter(|v| *v > 0).ok_or_else(invalid),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(invalid),
            Some(_) => Err(invalid()),
            None => Err(ApiError::Validation(format!("{field} is required"))),
        }
    }

    pub fn optional_bool(&self, field: &str) -> ApiResult<Option<bool>> {
        match self.raw(field) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::Validation(format!("{field} must be true or false"))),
            None => Ok(None),
        }
    }
}

pub fn check_text(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::Validation(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ApiError::Validation(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ApiError::Validation(format!("{field} contains control characters")));
    }
    Ok(())
}

/// A phone number as guests write it: digits with optional `+`, spaces, dashes, dots and
/// parentheses; 6 to 20 digits. Stored as `+` and digits only.
pub fn parse_phone(value: &str) -> ApiResult<String> {
    let invalid = || ApiError::Validation("contact_phone must be a phone number".into());
    let trimmed = value.trim();
    let mut digits = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(invalid()),
        }
    }
    if !(6..=20).contains(&digits.len()) {
        return Err(invalid());
    }
    Ok(if trimmed.starts_with('+') { format!("+{digits}") } else { digits })
}

/// A plausible email address (one `@`, a dot in the domain, no spaces), lower-cased.
pub fn parse_email(value: &str) -> ApiResult<String> {
    let value = value.trim();
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(value.to_lowercase())
    } else {
        Err(ApiError::Validation("contact_email must be an email address".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_an_empty_object_and_garbage_is_malformed() {
        assert!(JsonBody::parse(b"").is_ok());
        assert!(matches!(JsonBody::parse(b"{not json"), Err(ApiError::MalformedJson(_))));
        assert!(matches!(JsonBody::parse(b"[1,2]"), Err(ApiError::Validation(_))));
    }

    #[test]
    fn ids_accept_integers_and_digit_strings() {
        let body = JsonBody::parse(br#"{"a": 3, "b": "4", "c": 1.5, "d": -2, "e": true}"#).unwrap();
        assert_eq!(body.id("a").unwrap(), 3);
        assert_eq!(body.id("b").unwrap(), 4);
        for f in ["c", "d", "e", "missing"] {
            assert!(body.id(f).is_err(), "{f}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(parse_phone("+54 9 11 2233-4455").unwrap(), "+5491122334455");
        assert_eq!(parse_phone("011 4444 5555").unwrap(), "01144445555");
        assert!(parse_phone("call me").is_err());
        assert!(parse_phone("123").is_err());
        assert!(parse_phone("=1+2").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email("Ana@Example.com").unwrap(), "ana@example.com");
        for bad in ["ana", "ana@", "@x.com", "ana@x", "a b@x.com", "ana@x.com."] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
