//! `--match`: a PromQL series selector (`name{label="v", other=~"re.*"}`), parsed and matched the way
//! Prometheus does: a missing label has the empty value, regular expressions are fully anchored
//! (`^(?s:re)$`), and a selector must hold a matcher that does not match the empty string.

use regex::Regex;

use crate::series::Labels;

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    kind: MatchKind,
}

#[derive(Debug, Clone)]
enum MatchKind {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

impl Matcher {
    /// Whether a label's value (empty when the series lacks the label) passes.
    #[must_use]
    pub fn matches(&self, value: &str) -> bool {
        match &self.kind {
            MatchKind::Equal(expected) => value == expected,
            MatchKind::NotEqual(expected) => value != expected,
            MatchKind::Regex(regex) => regex.is_match(value),
            MatchKind::NotRegex(regex) => !regex.is_match(value),
        }
    }
}

/// A parsed selector: every matcher must pass.
#[derive(Debug, Clone)]
pub struct Selector {
    pub text: String,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Whether a series with `labels` (sorted by name) is selected.
    #[must_use]
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|matcher| {
            let value = labels.get(&matcher.name).map_or("", String::as_str);
            matcher.matches(value)
        })
    }

    /// Parses `text`; the error says what is wrong, for `TsdbError::Selector`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            position: 0,
        };
        let mut matchers = Vec::new();
        parser.skip_spaces();
        if parser
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        {
            let name = parser.identifier(true);
            matchers.push(Matcher {
                name: "__name__".to_owned(),
                kind: MatchKind::Equal(name),
            });
        }
        parser.skip_spaces();
        if parser.peek() == Some('{') {
            parser.position += 1;
            loop {
                parser.skip_spaces();
                match parser.peek() {
                    Some('}') => {
                        parser.position += 1;
                        break;
                    }
                    None => return Err("the `{` is never closed by `}`".to_owned()),
                    _ => {}
                }
                matchers.push(parser.matcher()?);
                parser.skip_spaces();
                match parser.next() {
                    Some(',') => {}
                    Some('}') => break,
                    other => {
                        return Err(format!(
                            "expected `,` or `}}` after a matcher, found {}",
                            describe(other)
                        ));
                    }
                }
            }
        }
        parser.skip_spaces();
        if let Some(rest) = parser.peek() {
            return Err(format!(
                "unexpected {} at position {}: only a series selector such as up{{job=\"node\"}} is accepted",
                describe(Some(rest)),
                parser.position + 1
            ));
        }
        if matchers.is_empty() {
            return Err("the selector is empty".to_owned());
        }
        if matchers.iter().all(|matcher| matcher.matches("")) {
            return Err(
                "every matcher matches the empty string, so it would select every series; \
                 add one that does not, such as {__name__=~\".+\"}"
                    .to_owned(),
            );
        }
        Ok(Self {
            text: text.to_owned(),
            matchers,
        })
    }
}

fn describe(character: Option<char>) -> String {
    character.map_or_else(|| "the end".to_owned(), |c| format!("`{c}`"))
}

struct Parser {
    chars: Vec<char>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn next(&mut self) -> Option<char> {
        let next = self.peek();
        self.position += usize::from(next.is_some());
        next
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn identifier(&mut self, colons: bool) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            let allowed = c.is_ascii_alphabetic()
                || c == '_'
                || (colons && c == ':')
                || (!name.is_empty() && c.is_ascii_digit());
            if !allowed {
                break;
            }
            name.push(c);
            self.position += 1;
        }
        name
    }

    fn matcher(&mut self) -> Result<Matcher, String> {
        let name = match self.peek() {
            Some('"' | '\'' | '`') => self.string()?,
            _ => self.identifier(false),
        };
        if name.is_empty() {
            return Err(format!(
                "expected a label name at position {}, found {}",
                self.position + 1,
                describe(self.peek())
            ));
        }
        self.skip_spaces();
        let operator: String = [self.next(), self.peek()].iter().flatten().collect();
        let operator = match operator.as_str() {
            "!=" | "=~" | "!~" => {
                self.position += 1;
                operator
            }
            _ if operator.starts_with('=') => "=".to_owned(),
            _ => {
                return Err(format!("expected =, !=, =~ or !~ after the label {name}"));
            }
        };
        self.skip_spaces();
        let value = self.string()?;
        let regex = || {
            Regex::new(&format!("^(?s:{value})$"))
                .map_err(|error| format!("the regular expression {value:?} is invalid: {error}"))
        };
        let kind = match operator.as_str() {
            "=" => MatchKind::Equal(value.clone()),
            "!=" => MatchKind::NotEqual(value.clone()),
            "=~" => MatchKind::Regex(regex()?),
            _ => MatchKind::NotRegex(regex()?),
        };
        Ok(Matcher { name, kind })
    }

    /// A PromQL string: double or single quotes with Go escapes, or backticks taken literally.
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.next() {
            Some(quote @ ('"' | '\'' | '`')) => quote,
            other => {
                return Err(format!(
                    "expected a quoted value, found {}",
                    describe(other)
                ));
            }
        };
        let mut value = String::new();
        loop {
            match self.next() {
                None => return Err(format!("the string opened by {quote} is never closed")),
                Some(c) if c == quote => return Ok(value),
                Some('\\') if quote != '`' => value.push(self.escape()?),
                Some(c) => value.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, String> {
        let hex = |parser: &mut Self, digits: usize| -> Result<char, String> {
            let text: String = (0..digits).filter_map(|_| parser.next()).collect();
            u32::from_str_radix(&text, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("invalid escape with {text:?}"))
        };
        Ok(match self.next() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('a') => '\u{7}',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('v') => '\u{b}',
            Some('x') => hex(self, 2)?,
            Some('u') => hex(self, 4)?,
            Some('U') => hex(self, 8)?,
            Some(c @ ('\\' | '"' | '\'')) => c,
            other => return Err(format!("unknown escape \\{}", describe(other))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn selectors_match_like_prometheus() {
        let series = labels(&[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("job", "api"),
        ]);
        let cases = [
            ("http_requests_total", true),
            ("http_requests", false),
            ("{__name__=~'http_.*'}", true),
            ("{__name__=~'http'}", false),
            (r#"http_requests_total{code=~"2..", job!="web"}"#, true),
            (r#"http_requests_total{code!~"2.."}"#, false),
            (r#"{job="api", missing=""}"#, true),
            (r#"{job="api", missing!=""}"#, false),
            ("{job=`api`,}", true),
            (r#"{job=~"a|b"}"#, false),
            (r#"{__name__=~"(?s:.*)", job="api"}"#, true),
        ];
        for (text, expected) in cases {
            let selector = Selector::parse(text).unwrap();
            assert_eq!(selector.matches(&series), expected, "{text}");
        }
    }

    #[test]
    fn escapes_are_go_strings() {
        let selector = Selector::parse(r#"{q="a\"b\\c\nd\u00e9"}"#).unwrap();
        assert!(selector.matches(&labels(&[("q", "a\"b\\c\ndé")])));
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        let cases = [
            ("", "empty"),
            (r#"{job=~".*"}"#, "empty string"),
            (r#"{job="a""#, "found the end"),
            (r#"{job="a"#, "never closed"),
            (r#"{job="a" job="b"}"#, "expected `,`"),
            (r#"{job~"a"}"#, "expected =, !=, =~ or !~"),
            (r#"{job=~"("}"#, "regular expression"),
            ("up[5m]", "only a series selector"),
            (r#"{="a"}"#, "label name"),
            (r#"{job="\q"}"#, "unknown escape"),
        ];
        for (text, expected) in cases {
            let error = Selector::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
