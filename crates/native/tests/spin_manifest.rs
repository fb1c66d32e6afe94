//! spin.toml agrees with the app: every route of `reservas_app::routes::ROUTES` reaches the
//! component of its group under Spin's routing rules, every trigger serves something, and every
//! configuration name is a declared Spin variable.

use reservas_app::config::VARIABLES;
use reservas_app::routes::{Route, ROUTES};
use std::collections::BTreeSet;
use toml::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spin.toml");
    let text = std::fs::read_to_string(path).expect("spin.toml at the workspace root");
    text.parse::<Value>().expect("spin.toml is valid TOML")
}

/// One `[[trigger.http]]` route, in Spin's syntax: exact (`/a/b`), with `:name` segments, or a
/// prefix ending in `/...` (which also matches the prefix itself).
#[derive(Debug, Clone)]
struct HttpTrigger {
    route: String,
    component: String,
    segments: Vec<String>,
    wildcard: bool,
}

impl HttpTrigger {
    fn new(route: &str, component: &str) -> HttpTrigger {
        let (base, wildcard) = match route.strip_suffix("/...") {
            Some(base) => (base, true),
            None => (route, false),
        };
        HttpTrigger { route: route.to_owned(), component: component.to_owned(), segments: split(base), wildcard }
    }

    fn is_catch_all(&self) -> bool {
        self.wildcard && self.segments.is_empty()
    }

    /// How specific the match is, when it matches: more pattern segments first, then more
    /// literal ones, then exact over prefix. The highest wins, as in Spin.
    fn score(&self, path: &str) -> Option<(usize, usize, bool)> {
        let path = split(path);
        if path.len() < self.segments.len() || (!self.wildcard && path.len() != self.segments.len()) {
            return None;
        }
        let mut literals = 0;
        for (pattern, segment) in self.segments.iter().zip(&path) {
            if pattern.starts_with(':') {
                if segment.is_empty() {
                    return None;
                }
            } else if pattern == segment {
                literals += 1;
            } else {
                return None;
            }
        }
        Some((self.segments.len(), literals, !self.wildcard))
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn http_triggers(manifest: &Value) -> Vec<HttpTrigger> {
    manifest["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]] entries")
        .iter()
        .map(|t| {
            let route = t["route"].as_str().expect("every http trigger has a string route");
            let component = t["component"].as_str().expect("component by id");
            HttpTrigger::new(route, component)
        })
        .collect()
}

/// The trigger Spin picks for `path`, or None.
fn winner<'a>(triggers: &'a [HttpTrigger], path: &str) -> Option<&'a HttpTrigger> {
    let mut best: Option<(&HttpTrigger, (usize, usize, bool))> = None;
    for trigger in triggers {
        if let Some(score) = trigger.score(path) {
            match best {
                Some((other, s)) if s == score => {
                    panic!("{path}: ambiguous between routes {} and {}", other.route, trigger.route)
                }
                Some((_, s)) if s > score => {}
                _ => best = Some((trigger, score)),
            }
        }
    }
    best.map(|(t, _)| t)
}

/// A concrete path for a route pattern, each `{param}` filled with `value`.
fn sample(route: &Route, value: &str) -> String {
    route.pattern.split('/').map(|s| if s.starts_with('{') { value } else { s }).collect::<Vec<_>>().join("/")
}

/// The literal part of a route pattern before its first parameter.
fn literal_prefix(route: &Route) -> Option<String> {
    let i = route.pattern.find("/{")?;
    Some(route.pattern[..i].to_owned())
}

fn components(manifest: &Value) -> &toml::map::Map<String, Value> {
    manifest["component"].as_table().expect("[component.*] tables")
}

fn declared_variables(manifest: &Value) -> BTreeSet<String> {
    manifest["variables"].as_table().expect("[variables]").keys().cloned().collect()
}

/// The names inside `{{ name }}` templates.
fn template_names(text: &str) -> Vec<String> {
    text.split("{{").skip(1).filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim().to_owned())).collect()
}

#[test]
fn every_route_reaches_the_component_of_its_group() {
    let manifest = manifest();
    let triggers = http_triggers(&manifest);
    for route in ROUTES {
        let expected = route.group.component();
        for value in ["sample-value", "1", "pre-reserve"] {
            let path = sample(route, value);
            let trigger = winner(&triggers, &path)
                .unwrap_or_else(|| panic!("{} {}: no http trigger serves {path}", route.method, route.pattern));
            assert_eq!(
                trigger.component, expected,
                "{} {}: {path} goes to component {} (route {}), not {expected}",
                route.method, route.pattern, trigger.component, trigger.route
            );
        }
        // No trigger of another component may claim part of a parameter's values.
        if let Some(prefix) = literal_prefix(route) {
            for trigger in triggers.iter().filter(|t| t.component != expected) {
                let base = format!("/{}", trigger.segments.join("/"));
                assert!(
                    !base.starts_with(&format!("{prefix}/")),
                    "route {} of {} takes some values of {}",
                    trigger.route,
                    trigger.component,
                    route.pattern
                );
            }
        }
    }
}

#[test]
fn every_http_trigger_serves_a_route() {
    let manifest = manifest();
    let triggers = http_triggers(&manifest);
    for trigger in triggers.iter().filter(|t| !t.is_catch_all()) {
        let serves = ROUTES
            .iter()
            .any(|route| winner(&triggers, &sample(route, "sample-value")).is_some_and(|w| w.route == trigger.route));
        assert!(serves, "trigger {} ({}) serves no route of ROUTES", trigger.route, trigger.component);
    }
    // The catch-all belongs to ops, so unknown paths get the app's JSON 404.
    let catch_all = triggers.iter().find(|t| t.is_catch_all()).expect("a `/...` trigger");
    assert_eq!(catch_all.component, "ops");
}

#[test]
fn every_referenced_component_exists_and_is_built_from_its_crate() {
    let manifest = manifest();
    let components = components(&manifest);
    let mut referenced: Vec<String> = http_triggers(&manifest).into_iter().map(|t| t.component).collect();
    for trigger in manifest["trigger"]["cron"].as_array().expect("[[trigger.cron]]") {
        referenced.push(trigger["component"].as_str().expect("cron component").to_owned());
        let cron = trigger["cron_expression"].as_str().expect("cron_expression");
        assert_eq!(cron.split_whitespace().count(), 6, "the plugin's cron has six fields: {cron}");
    }
    for id in &referenced {
        let component =
            components.get(id).unwrap_or_else(|| panic!("trigger names component {id}, which is not declared"));
        let crate_name = format!("reservas_{}", id.replace('-', "_"));
        assert_eq!(
            component["source"].as_str(),
            Some(format!("target/wasm32-wasip2/wasm/{crate_name}.wasm").as_str()),
            "component {id}: source"
        );
        let command = component["build"]["command"].as_str().expect("build command");
        assert!(command.contains(&format!("-p reservas-{id}")), "component {id}: {command}");
        let cargo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../components");
        assert!(
            std::path::Path::new(&format!("{cargo}/{id}/Cargo.toml")).exists(),
            "component {id} has no crate in components/{id}"
        );
    }
    for group in ROUTES.iter().map(|r| r.group.component()) {
        assert!(referenced.iter().any(|c| c == group), "group {group} has no trigger");
    }
}

#[test]
fn every_used_variable_is_declared() {
    let manifest = manifest();
    let declared = declared_variables(&manifest);
    for (id, component) in components(&manifest) {
        let mut used = Vec::new();
        if let Some(vars) = component.get("variables").and_then(Value::as_table) {
            for (name, value) in vars {
                let value = value.as_str().unwrap_or_else(|| panic!("{id}.{name} is a string"));
                used.extend(template_names(value));
            }
        }
        if let Some(hosts) = component.get("allowed_outbound_hosts").and_then(Value::as_array) {
            for host in hosts {
                used.extend(template_names(host.as_str().expect("host strings")));
            }
        }
        for name in used {
            assert!(declared.contains(&name), "component {id} uses undeclared variable {name}");
        }
    }
    for (name, spec) in manifest["variables"].as_table().unwrap() {
        let has_default = spec.get("default").is_some();
        let required = spec.get("required").and_then(Value::as_bool) == Some(true);
        assert!(has_default ^ required, "variable {name}: exactly one of default / required");
    }
}

#[test]
fn every_configuration_name_is_a_declared_variable_mapped_to_each_http_component() {
    let manifest = manifest();
    let declared = declared_variables(&manifest);
    let components = components(&manifest);
    let groups: BTreeSet<&str> = ROUTES.iter().map(|r| r.group.component()).collect();
    for name in VARIABLES {
        let lower = name.to_ascii_lowercase();
        assert!(declared.contains(&lower), "config variable {name} is not declared as {lower}");
        // Each HTTP component builds the whole Config: an unmapped name would silently read as
        // unset there.
        for group in &groups {
            let value = components[*group]["variables"].get(&lower).and_then(Value::as_str);
            assert_eq!(value, Some(format!("{{{{ {lower} }}}}").as_str()), "component {group} must map {lower}");
        }
    }
}
