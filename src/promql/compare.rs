//! PromQL judged as PromQL: the student's expression and the criterion's are parsed (the `GreptimeDB` project's
//! `promql-parser`, Prometheus' grammar) and compared as trees, so spacing, quoting and parentheses
//! the parser drops do not matter (`model_result>0.9` holds `model_result > 0.9`).

use promql_parser::parser::{self, Expr};

/// Whether `expression` holds `part`: some subexpression of it prints, once parsed, as `part` does;
/// a bare metric name (`node_cpu_seconds_total`) is held by any selector of that metric, whatever its
/// label matchers. `Err` names the expression that does not parse.
pub fn holds(expression: &str, part: &str) -> Result<bool, String> {
    let tree = parser::parse(expression)
        .map_err(|error| format!("`{}` is not valid PromQL: {error}", expression.trim()))?;
    let wanted = parser::parse(part)
        .map_err(|error| format!("the criterion's `{part}` is not valid PromQL: {error}"))?;
    let metric = bare_metric(&wanted);
    let printed = wanted.to_string();
    let mut found = false;
    walk(&tree, &mut |node| {
        found |= match (&metric, node) {
            (Some(name), Expr::VectorSelector(selector)) => {
                selector_metric(selector) == Some(name.as_str())
            }
            (Some(name), Expr::MatrixSelector(matrix)) => {
                selector_metric(&matrix.vs) == Some(name.as_str())
            }
            _ => node.to_string() == printed,
        };
    });
    Ok(found)
}

/// The metric a selector names, by its name or by an `__name__="…"` matcher.
fn selector_metric(selector: &parser::VectorSelector) -> Option<&str> {
    selector.name.as_deref().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|matcher| {
                matcher.name == "__name__"
                    && matches!(matcher.op, promql_parser::label::MatchOp::Equal)
            })
            .map(|matcher| matcher.value.as_str())
    })
}

/// `name` when the expression is a selector of a metric name and nothing else.
fn bare_metric(expr: &Expr) -> Option<String> {
    match expr {
        Expr::VectorSelector(selector)
            if selector.matchers.matchers.is_empty()
                && selector.matchers.or_matchers.is_empty() =>
        {
            selector.name.clone()
        }
        _ => None,
    }
}

/// Calls `visit` on `expr` and every subexpression, parents first.
fn walk(expr: &Expr, visit: &mut dyn FnMut(&Expr)) {
    visit(expr);
    match expr {
        Expr::Aggregate(aggregate) => {
            walk(&aggregate.expr, visit);
            if let Some(param) = &aggregate.param {
                walk(param, visit);
            }
        }
        Expr::Unary(unary) => walk(&unary.expr, visit),
        Expr::Binary(binary) => {
            walk(&binary.lhs, visit);
            walk(&binary.rhs, visit);
        }
        Expr::Paren(paren) => walk(&paren.expr, visit),
        Expr::Subquery(subquery) => walk(&subquery.expr, visit),
        Expr::Call(call) => {
            for argument in &call.args.args {
                walk(argument, visit);
            }
        }
        Expr::MatrixSelector(matrix) => visit(&Expr::VectorSelector(matrix.vs.clone())),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_and_parentheses_do_not_matter() {
        assert!(holds("model_result>0.9", "model_result > 0.9").unwrap());
        assert!(holds("(model_result > 0.90)", "model_result > 0.9").unwrap());
        assert!(holds("max by (job) (model_result) > 0.9 and up == 1", "up == 1").unwrap());
        assert!(!holds("model_result > 0.8", "model_result > 0.9").unwrap());
        assert!(!holds("model_result_total > 0.9", "model_result > 0.9").unwrap());
    }

    #[test]
    fn a_metric_name_is_held_by_any_selector_of_it() {
        let busy = r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])) > 0.8"#;
        assert!(holds(busy, "node_cpu_seconds_total").unwrap());
        assert!(holds(r#"{__name__="model_result", job="m"}"#, "model_result").unwrap());
        assert!(!holds(busy, "node_cpu_seconds").unwrap());
        assert!(!holds("model_result_bucket", "model_result").unwrap());
    }

    #[test]
    fn broken_promql_is_named() {
        let error = holds("model_result >", "model_result").unwrap_err();
        assert!(
            error.contains("`model_result >` is not valid PromQL"),
            "{error}"
        );
    }
}
