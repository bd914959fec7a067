//! The classroom's roster: a CSV file of students, each given a namespace of the cluster.
//!
//! ```csv
//! student,namespace
//! Ada Lovelace,lab-ada
//! ```
//! Read strictly: the header is exactly `student,namespace`, every row has both, namespaces are DNS-1123
//! labels and unique. Every error names the file, the line and the fix.

use std::path::Path;

use super::check_dns_label;

/// One student and the namespace their lab runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub name: String,
    pub namespace: String,
}

/// Why a roster cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file could not be read.
    #[error("cannot read the roster {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A line is wrong: what, and how to fix it.
    #[error("the roster {path}, line {line}: {problem}")]
    Line {
        path: String,
        line: u64,
        problem: String,
    },
}

const HEADER: [&str; 2] = ["student", "namespace"];

/// Reads and checks a roster file.
pub fn load(path: &Path) -> Result<Vec<Student>, RosterError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RosterError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

/// Parses and checks a roster; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Vec<Student>, RosterError> {
    let at = |line: u64, problem: String| RosterError::Line {
        path: path.to_owned(),
        line,
        problem,
    };
    // A spreadsheet's "CSV UTF-8" starts with a byte-order mark: not part of the header.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(error)) => return Err(at(1, error.to_string())),
        None => {
            return Err(at(
                1,
                "the file is empty: write the header `student,namespace`, then one student per line".to_owned(),
            ));
        }
    };
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(at(
            1,
            format!(
                "the header is {:?}: write exactly `student,namespace`",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut students: Vec<(u64, Student)> = Vec::new();
    for record in records {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, csv::Position::line);
            at(line, error.to_string())
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let [name, namespace] = [0, 1].map(|i| record.get(i).unwrap_or("").to_owned());
        if record.len() != 2 {
            return Err(at(
                line,
                format!(
                    "{} fields where the header has 2: write `NAME,NAMESPACE` (quote a name that holds a comma: \"Lovelace, Ada\")",
                    record.len()
                ),
            ));
        }
        if name.is_empty() {
            return Err(at(
                line,
                format!(
                    "the student of namespace {namespace:?} has no name: write it before the comma"
                ),
            ));
        }
        check_dns_label(&namespace).map_err(|problem| {
            at(
                line,
                format!("the namespace {namespace:?} of {name}: {problem}"),
            )
        })?;
        if let Some((first, _)) = students.iter().find(|(_, s)| s.namespace == namespace) {
            return Err(at(
                line,
                format!(
                    "the namespace {namespace:?} is also line {first}'s: give each student a namespace of their own"
                ),
            ));
        }
        students.push((line, Student { name, namespace }));
    }
    if students.is_empty() {
        return Err(at(
            2,
            "no student: add one line per student, `NAME,NAMESPACE`".to_owned(),
        ));
    }
    Ok(students.into_iter().map(|(_, student)| student).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_roster_gives_each_student_a_namespace() {
        let students = parse(
            "\u{feff}student,namespace\r\nAda Lovelace,lab-ada\r\n\"Hopper, Grace\", lab-grace\n\n",
            "roster.csv",
        )
        .unwrap();
        assert_eq!(
            students,
            [
                Student {
                    name: "Ada Lovelace".into(),
                    namespace: "lab-ada".into()
                },
                Student {
                    name: "Hopper, Grace".into(),
                    namespace: "lab-grace".into()
                }
            ]
        );
    }

    #[test]
    fn bad_rosters_name_the_line_and_the_fix() {
        for (text, expected) in [
            ("", "line 1: the file is empty"),
            (
                "name,ns\nA,a\n",
                "line 1: the header is \"name,ns\": write exactly",
            ),
            ("student,namespace\n", "line 2: no student"),
            ("student,namespace\nAda,lab-ada,x\n", "line 2: 3 fields"),
            ("student,namespace\nAda\n", "line 2: 1 fields"),
            (
                "student,namespace\n,lab-ada\n",
                "line 2: the student of namespace \"lab-ada\" has no name",
            ),
            (
                "student,namespace\nAda,Lab_Ada\n",
                "line 2: the namespace \"Lab_Ada\" of Ada: use only lowercase letters, digits and '-'",
            ),
            (
                "student,namespace\nAda,-ada\n",
                "start and end with a letter or digit",
            ),
            (
                &format!("student,namespace\nAda,{}\n", "a".repeat(64)),
                "64 characters: at most 63",
            ),
            (
                "student,namespace\nAda,lab\nBob,x\nCy,lab\n",
                "line 4: the namespace \"lab\" is also line 2's",
            ),
        ] {
            let error = parse(text, "roster.csv").unwrap_err().to_string();
            assert!(error.starts_with("the roster roster.csv, line"), "{error}");
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
