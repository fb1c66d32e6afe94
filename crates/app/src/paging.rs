//! Pagination shared by every admin listing: `?limit=&cursor=` in, `{items, next_cursor,
//! total}` out. The cursor is opaque to clients (an offset today); listings order by a stable
//! key with the row id as tie-breaker, so pages never repeat or skip a row that did not move.

use crate::error::{ApiError, ApiResult};
use serde_json::{json, Value};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub fn parse(query: &[(String, String)]) -> ApiResult<Page> {
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let limit =
            match get("limit") {
                None | Some("") => DEFAULT_LIMIT,
                Some(v) => v.parse::<i64>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                    ApiError::Validation(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
                })?,
            };
        let offset = match get("cursor") {
            None | Some("") => 0,
            Some(c) => c
                .strip_prefix('o')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|o| *o >= 0)
                .ok_or_else(|| ApiError::Validation("cursor is not one this service issued".into()))?,
        };
        Ok(Page { limit, offset })
    }

    /// The listing body. `items` is this page; `total` counts every match.
    pub fn respond(&self, items: Vec<Value>, total: i64) -> Value {
        let next = self.offset + items.len() as i64;
        let next_cursor = (next < total && !items.is_empty()).then(|| format!("o{next}"));
        json!({ "items": items, "next_cursor": next_cursor, "total": total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::parse(&q(&[])).unwrap(), Page { limit: 50, offset: 0 });
        assert_eq!(Page::parse(&q(&[("limit", "200")])).unwrap().limit, 200);
        assert!(Page::parse(&q(&[("limit", "201")])).is_err());
        assert!(Page::parse(&q(&[("limit", "0")])).is_err());
        assert!(Page::parse(&q(&[("cursor", "garbage")])).is_err());
    }

    #[test]
    fn next_cursor_is_null_on_the_last_page() {
        let page = Page { limit: 2, offset: 0 };
        let body = page.respond(vec![json!(1), json!(2)], 3);
        assert_eq!(body["next_cursor"], "o2");
        let last = Page::parse(&q(&[("limit", "2"), ("cursor", "o2")])).unwrap();
        assert_eq!(last.respond(vec![json!(3)], 3)["next_cursor"], Value::Null);
    }
}
