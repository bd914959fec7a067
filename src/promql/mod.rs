//! PromQL expressions as syntax trees: a label matcher added to every selector of a query, for the
//! classroom's per-namespace rules and `grade --kubernetes`. Parsed by `promql-parser` (Prometheus'
//! grammar), never edited as text: `sum by (namespace) (x)`, `label_replace(…, "x{}", …)` and
//! subqueries all hold text that looks like a selector and is not one.
//!
//! One home for PromQL as a syntax tree: [`with_label`] (scoping, here) and [`holds`] (the grader's
//! comparison, in `compare`).

mod compare;

pub use compare::holds;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::{self, Expr, VectorSelector};

/// Why an expression could not be scoped.
#[derive(Debug, thiserror::Error)]
pub enum PromqlError {
    /// The expression is not valid PromQL.
    #[error(
        "{expr:?} is not valid PromQL: {problem}; fix the query (promtool check rules shows where)"
    )]
    Parse { expr: String, problem: String },
}

/// `expr` with `label="value"` on every vector and range selector, in place of any matcher on `label`
/// it had: a query scoped to one namespace can never read another.
pub fn with_label(expr: &str, label: &str, value: &str) -> Result<String, PromqlError> {
    let mut tree = parser::parse(expr).map_err(|problem| PromqlError::Parse {
        expr: expr.to_owned(),
        problem,
    })?;
    scope(&mut tree, label, value);
    Ok(tree.to_string())
}

fn scope(expr: &mut Expr, label: &str, value: &str) {
    match expr {
        Expr::Aggregate(aggregate) => {
            scope(&mut aggregate.expr, label, value);
            if let Some(param) = &mut aggregate.param {
                scope(param, label, value);
            }
        }
        Expr::Unary(unary) => scope(&mut unary.expr, label, value),
        Expr::Binary(binary) => {
            scope(&mut binary.lhs, label, value);
            scope(&mut binary.rhs, label, value);
        }
        Expr::Paren(paren) => scope(&mut paren.expr, label, value),
        Expr::Subquery(subquery) => scope(&mut subquery.expr, label, value),
        Expr::VectorSelector(selector) => scope_selector(selector, label, value),
        Expr::MatrixSelector(matrix) => scope_selector(&mut matrix.vs, label, value),
        Expr::Call(call) => {
            for arg in &mut call.args.args {
                scope(arg, label, value);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn scope_selector(selector: &mut VectorSelector, label: &str, value: &str) {
    let pinned = || Matcher::new(MatchOp::Equal, label, value);
    let keep = |matchers: Vec<Matcher>| -> Vec<Matcher> {
        let mut kept: Vec<Matcher> = matchers.into_iter().filter(|m| m.name != label).collect();
        kept.push(pinned());
        kept
    };
    let Matchers {
        matchers,
        or_matchers,
    } = std::mem::replace(&mut selector.matchers, Matchers::empty());
    // `{a="1" or b="2"}`: each alternative is scoped, else one alternative would escape the scope.
    selector.matchers = if or_matchers.is_empty() {
        Matchers::new(keep(matchers))
    } else {
        Matchers::empty().with_or_matchers(or_matchers.into_iter().map(keep).collect())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scoped query's selectors, as the parser reads them back: every one carries the matcher.
    fn selectors(expr: &str) -> Vec<String> {
        fn walk(expr: &Expr, out: &mut Vec<String>) {
            match expr {
                Expr::Aggregate(a) => walk(&a.expr, out),
                Expr::Unary(u) => walk(&u.expr, out),
                Expr::Binary(b) => {
                    walk(&b.lhs, out);
                    walk(&b.rhs, out);
                }
                Expr::Paren(p) => walk(&p.expr, out),
                Expr::Subquery(s) => walk(&s.expr, out),
                Expr::VectorSelector(v) => out.push(v.to_string()),
                Expr::MatrixSelector(m) => out.push(m.vs.to_string()),
                Expr::Call(c) => c.args.args.iter().for_each(|arg| walk(arg, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&parser::parse(expr).unwrap(), &mut out);
        out
    }

    #[test]
    fn every_selector_gets_the_matcher_and_nothing_else_changes() {
        for (query, count) in [
            ("model_result > 0.9", 1),
            ("up == 0", 1),
            (
                r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))"#,
                1,
            ),
            ("changes(model_result[5m]) == 0 and on (instance) up", 2),
            (
                "max_over_time(sum by (namespace) (model_result)[10m:1m] offset 1m)",
                1,
            ),
            (
                r#"label_replace(up, "x", "$1", "job", "model_result{a}")"#,
                1,
            ),
            (r#"{__name__=~"model_.+", namespace="bob"}"#, 1),
        ] {
            let scoped = with_label(query, "namespace", "alice").unwrap();
            let found = selectors(&scoped);
            assert_eq!(found.len(), count, "{query} -> {scoped}");
            for selector in &found {
                assert!(
                    selector.contains(r#"namespace="alice""#) && !selector.contains("bob"),
                    "{query} -> {scoped}"
                );
            }
        }
        // The label names of `by` and the strings are left as they were.
        let scoped = with_label(
            r#"label_replace(sum by (namespace) (up), "x", "$1", "job", "(.*)")"#,
            "namespace",
            "alice",
        )
        .unwrap();
        assert!(scoped.contains("sum by (namespace)"), "{scoped}");
        assert!(scoped.contains(r#""(.*)""#), "{scoped}");
    }

    #[test]
    fn an_invalid_query_is_refused_naming_it() {
        let error = with_label("sum(", "namespace", "a")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"sum(\" is not valid PromQL"), "{error}");
    }
}
