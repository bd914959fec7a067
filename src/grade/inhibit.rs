//! Inhibition judged by what it does: Alertmanager's `inhibit_rules` applied to example alerts, as
//! Alertmanager applies them (a firing source alert mutes a target alert when the source matches the
//! rule's source matchers, the target its target matchers, and both have the same values of the
//! rule's `equal` labels). Matchers are read in both of Alertmanager's forms: `source_matchers`
//! (`alertname = TargetDown`, `alertname=~"A|B"`) and the older `source_match` / `source_match_re` maps.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde_yaml_ng::Value;

use super::Outcome;
use super::document::{load, scalar_text};

type Labels = BTreeMap<String, String>;

/// One label matcher.
#[derive(Debug)]
enum Matcher {
    Equal(String, String),
    NotEqual(String, String),
    Regex(String, Regex),
    NotRegex(String, Regex),
}

impl Matcher {
    fn matches(&self, labels: &Labels) -> bool {
        let value = |name: &str| labels.get(name).map_or("", String::as_str);
        match self {
            Self::Equal(name, wanted) => value(name) == wanted,
            Self::NotEqual(name, wanted) => value(name) != wanted,
            Self::Regex(name, regex) => regex.is_match(value(name)),
            Self::NotRegex(name, regex) => !regex.is_match(value(name)),
        }
    }
}

/// An anchored regex, as Alertmanager's.
fn anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|error| format!("the matcher's regex {pattern:?} is invalid: {error}"))
}

/// `name op value`, the value quoted or not.
fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let at = text.find(['=', '!']).ok_or_else(|| {
        format!("{text:?} is not a matcher (name=value, name!=value, name=~regex, name!~regex)")
    })?;
    let name = text[..at].trim().to_owned();
    let rest = &text[at..];
    let (op, value) = ["=~", "!~", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|value| (*op, value.trim())))
        .ok_or_else(|| format!("{text:?} has no operator (=, !=, =~, !~)"))?;
    let value = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        serde_json::from_str::<String>(value)
            .unwrap_or_else(|_| value[1..value.len() - 1].to_owned())
    } else {
        value.to_owned()
    };
    Ok(match op {
        "=" => Matcher::Equal(name, value),
        "!=" => Matcher::NotEqual(name, value),
        "=~" => Matcher::Regex(name, anchored(&value)?),
        _ => Matcher::NotRegex(name, anchored(&value)?),
    })
}

/// One side's matchers: `<side>_matchers`, `<side>_match`, `<side>_match_re`.
fn side(rule: &Value, side: &str) -> Result<Vec<Matcher>, String> {
    let mut matchers = Vec::new();
    for item in rule
        .get(format!("{side}_matchers"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let text = item
            .as_str()
            .ok_or_else(|| format!("{side}_matchers holds a non-text item"))?;
        // A matcher list may hold several, comma-separated, in braces.
        let text = text.trim().trim_start_matches('{').trim_end_matches('}');
        for part in split_matchers(text) {
            matchers.push(parse_matcher(&part)?);
        }
    }
    for (key, regex) in [
        (format!("{side}_match"), false),
        (format!("{side}_match_re"), true),
    ] {
        if let Some(map) = rule.get(&key).and_then(Value::as_mapping) {
            for (name, value) in map {
                let name = scalar_text(name).unwrap_or_default();
                let value = scalar_text(value).unwrap_or_default();
                matchers.push(if regex {
                    Matcher::Regex(name, anchored(&value)?)
                } else {
                    Matcher::Equal(name, value)
                });
            }
        }
    }
    Ok(matchers)
}

/// Splits `a="x,y", b=~"z"` at the commas outside quotes.
fn split_matchers(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            current.push(c);
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .collect()
}

/// Whether some rule mutes `target` while `source` fires.
fn muted(
    rules: &[(Vec<Matcher>, Vec<Matcher>, Vec<String>)],
    source: &Labels,
    target: &Labels,
) -> bool {
    rules.iter().any(|(sources, targets, equal)| {
        sources.iter().all(|m| m.matches(source))
            && targets.iter().all(|m| m.matches(target))
            && equal
                .iter()
                .all(|name| source.get(name) == target.get(name))
    })
}

fn labels(map: &BTreeMap<String, String>, instance: &str) -> Labels {
    let mut labels = map.clone();
    labels.insert("instance".to_owned(), instance.to_owned());
    labels
}

/// The check: for each target, a firing `source` on the same instance mutes it, one on another
/// instance does not.
pub(super) fn judge(
    repo: &Path,
    file: &str,
    source: &BTreeMap<String, String>,
    targets: &[BTreeMap<String, String>],
) -> Outcome {
    let document = match load(repo, file) {
        Ok(document) => document,
        Err(reason) => return Outcome::Fail(reason),
    };
    let mut rules = Vec::new();
    for rule in document
        .get("inhibit_rules")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let parsed = side(rule, "source").and_then(|sources| Ok((sources, side(rule, "target")?)));
        let (sources, target_matchers) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => return Outcome::Fail(format!("{file}: {reason}")),
        };
        let equal: Vec<String> = rule
            .get("equal")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(scalar_text)
            .collect();
        rules.push((sources, target_matchers, equal));
    }
    if rules.is_empty() {
        return Outcome::Fail(format!("{file} has no inhibit_rules"));
    }
    let name = |labels: &BTreeMap<String, String>| {
        labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| format!("{labels:?}"))
    };
    for target in targets {
        let firing = labels(source, "host-a:9100");
        if !muted(&rules, &firing, &labels(target, "host-a:9100")) {
            return Outcome::Fail(format!(
                "{file}: {} firing on an instance does not mute {} of that instance",
                name(source),
                name(target)
            ));
        }
        if muted(&rules, &firing, &labels(target, "host-b:9100")) {
            return Outcome::Fail(format!(
                "{file}: {} on one instance also mutes {} of every other instance (`equal: [instance]` missing)",
                name(source),
                name(target)
            ));
        }
    }
    Outcome::Pass(format!(
        "{file}: {} mutes {} of the same instance only",
        name(source),
        targets.iter().map(name).collect::<Vec<_>>().join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(config: &str) -> Outcome {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::write(scratch.path().join("am.yml"), config).unwrap();
        let map = |name: &str| BTreeMap::from([("alertname".to_owned(), name.to_owned())]);
        judge(
            scratch.path(),
            "am.yml",
            &map("TargetDown"),
            &[map("ModelResultHigh"), map("NodeCpuHigh")],
        )
    }

    #[test]
    fn every_way_of_writing_the_rule_is_judged_by_what_it_mutes() {
        for good in [
            "inhibit_rules:\n  - source_matchers: [alertname = TargetDown]\n    target_matchers: ['alertname =~ \"NodeCpuHigh|ModelResultHigh\"']\n    equal: [instance]\n",
            "inhibit_rules:\n  - source_matchers: ['alertname=\"TargetDown\"']\n    target_matchers: ['alertname=~\"ModelResultHigh\"']\n    equal: [instance]\n  - source_match: {alertname: TargetDown}\n    target_match_re: {alertname: 'Node.*'}\n    equal: [instance]\n",
            "inhibit_rules:\n  - source_matchers: ['{alertname=\"TargetDown\"}']\n    target_matchers: ['alertname!=\"TargetDown\"']\n    equal: [instance]\n",
        ] {
            assert!(
                matches!(outcome(good), Outcome::Pass(_)),
                "{good}: {:?}",
                outcome(good)
            );
        }
        let everywhere = "inhibit_rules:\n  - source_matchers: [alertname = TargetDown]\n    target_matchers: ['alertname =~ \"NodeCpuHigh|ModelResultHigh\"']\n";
        assert!(
            outcome(everywhere)
                .message()
                .contains("every other instance")
        );
        let partial = "inhibit_rules:\n  - source_matchers: [alertname = TargetDown]\n    target_matchers: [alertname = ModelResultHigh]\n    equal: [instance]\n";
        assert!(
            outcome(partial)
                .message()
                .contains("does not mute NodeCpuHigh")
        );
        assert!(
            outcome("route: {receiver: x}\n")
                .message()
                .contains("no inhibit_rules")
        );
        assert!(
            outcome("inhibit_rules:\n  - source_matchers: ['alertname=~\"(\"']\n")
                .message()
                .contains("invalid")
        );
    }
}
