//! Reading a student's YAML or JSON file and walking it: `route.group_by`,
//! `scrape_configs[job_name=forecaster].honor_labels`, `panels.0.title`.

use std::path::Path;

use serde_yaml_ng::Value;

/// Tolerance for numbers read from files (a threshold written `0.90` is `0.9`).
pub(super) const TOLERANCE: f64 = 1e-9;

/// The file parsed as YAML (JSON is YAML), or the reason and the fix.
pub(super) fn load(repo: &Path, file: &str) -> Result<Value, String> {
    let path = repo.join(file);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            format!("{file} does not exist")
        } else {
            format!("{file} cannot be read: {error}")
        }
    })?;
    let mut value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|error| format!("{file} is not valid YAML/JSON: {error}"))?;
    value
        .apply_merge()
        .map_err(|error| format!("{file} has a bad YAML merge: {error}"))?;
    Ok(value)
}

/// The value at `path` in `document`, or which step of the path found nothing.
pub(super) fn lookup<'a>(document: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut current = document;
    let mut walked = String::new();
    for step in steps(path) {
        let next = if let Some(selector) = step.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
        {
            let (key, wanted) = selector.split_once('=').unwrap_or((selector, ""));
            current.as_sequence().and_then(|items| {
                items.iter().find(|item| {
                    item.get(key.trim())
                        .is_some_and(|value| scalar_text(value) == Some(wanted.trim().to_owned()))
                })
            })
        } else if let (Ok(index), Some(items)) = (step.parse::<usize>(), current.as_sequence()) {
            items.get(index)
        } else {
            current.get(step)
        };
        if !walked.is_empty() && !step.starts_with('[') {
            walked.push('.');
        }
        walked.push_str(step);
        current = next.ok_or_else(|| format!("{walked} is missing"))?;
    }
    Ok(current)
}

/// `a.b[k=v].c` as `a`, `b`, `[k=v]`, `c`.
fn steps(path: &str) -> Vec<&str> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                steps.push(&rest[..open]);
            }
            let close = rest[open..]
                .find(']')
                .map_or(rest.len(), |end| open + end + 1);
            steps.push(&rest[open..close]);
            rest = &rest[close..];
        }
        if !rest.is_empty() {
            steps.push(rest);
        }
    }
    steps
}

/// A scalar as text (`5s`, `0.9`, `true`), `None` for lists and maps.
#[must_use]
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some("null".to_owned()),
        _ => None,
    }
}

/// Whether two values are the same: numbers within [`TOLERANCE`], durations by their length
/// (`180s` is `3m`), lists item by item, anything else as written.
#[must_use]
pub(super) fn same(found: &Value, expected: &Value) -> bool {
    match (found, expected) {
        (Value::Sequence(found), Value::Sequence(expected)) => {
            found.len() == expected.len() && found.iter().zip(expected).all(|(a, b)| same(a, b))
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => match (number(found), number(expected)) {
            (Some(a), Some(b)) => (a - b).abs() <= TOLERANCE,
            _ => false,
        },
        (Value::String(a), Value::String(b)) => {
            a == b || matches!((duration(a), duration(b)), (Some(x), Some(y)) if x == y)
        }
        _ => found == expected,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A Prometheus duration in seconds (`3m`, `1m30s`), `None` when it is not one.
#[must_use]
pub(super) fn duration(text: &str) -> Option<u64> {
    crate::time::PromDuration::try_from(text.trim().to_owned())
        .ok()
        .map(|duration| duration.seconds())
}

/// A value as a student would write it, for messages.
#[must_use]
pub(super) fn show(value: &Value) -> String {
    scalar_text(value).unwrap_or_else(|| {
        serde_json::to_string(value).unwrap_or_else(|_| "(unprintable)".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn paths_walk_keys_indexes_and_selected_items() {
        let document = yaml(
            "scrape_configs:\n  - job_name: a\n  - job_name: forecaster\n    honor_labels: true\nroute: {group_by: [alertname]}\n",
        );
        assert_eq!(
            lookup(
                &document,
                "scrape_configs[job_name=forecaster].honor_labels"
            )
            .unwrap(),
            &Value::Bool(true)
        );
        assert_eq!(
            lookup(&document, "scrape_configs.0.job_name").unwrap(),
            &yaml("a")
        );
        assert_eq!(
            lookup(&document, "route.group_by.0").unwrap(),
            &yaml("alertname")
        );
        assert_eq!(
            lookup(&document, "scrape_configs[job_name=nope].honor_labels").unwrap_err(),
            "scrape_configs[job_name=nope] is missing"
        );
        assert_eq!(
            lookup(&document, "route.receiver").unwrap_err(),
            "route.receiver is missing"
        );
    }

    #[test]
    fn values_compare_with_tolerance_and_durations_by_length() {
        assert!(same(&yaml("0.90"), &yaml("0.9")));
        assert!(same(&yaml("'0.9'"), &yaml("0.9")));
        assert!(!same(&yaml("0.8"), &yaml("0.9")));
        assert!(same(&yaml("180s"), &yaml("3m")));
        assert!(!same(&yaml("2m"), &yaml("3m")));
        assert!(same(&yaml("[alertname]"), &yaml("[alertname]")));
        assert!(!same(&yaml("[alertname, instance]"), &yaml("[alertname]")));
        assert!(same(&yaml("true"), &yaml("true")));
    }
}
