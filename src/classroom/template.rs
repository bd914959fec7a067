//! `promlab classroom template`: a GitHub Classroom template repository for a range of labs: the
//! starter of its first lab, the lab guides, a student README, and `.github/workflows/classroom.yml`
//! with one autograding test per criterion (GitHub Classroom's command grader and reporter), each
//! running `promlab grade --only ID` in the published promlab image, so no student's CI compiles Rust;
//! the live criteria are judged from the student's committed evidence (`--from-evidence`). promtool and amtool, the judges, are copied out of the pinned upstream images first (static Go
//! binaries) and handed to the promlab container.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::path::Path;

use super::{ClassroomError, IMAGE, starter_files, write_tree};
use crate::grade::{GradeError, LabSource};

/// The labs' guides, built in (`labs/NN-name/README.md`), by lab.
const GUIDES: [(&str, &str); 7] = [
    (
        "01-model-mock",
        include_str!("../../labs/01-model-mock/README.md"),
    ),
    (
        "02-prometheus-promql",
        include_str!("../../labs/02-prometheus-promql/README.md"),
    ),
    (
        "03-grafana-dashboard",
        include_str!("../../labs/03-grafana-dashboard/README.md"),
    ),
    (
        "04-alertmanager-discord",
        include_str!("../../labs/04-alertmanager-discord/README.md"),
    ),
    (
        "05-node-cpu",
        include_str!("../../labs/05-node-cpu/README.md"),
    ),
    (
        "06-forecasting",
        include_str!("../../labs/06-forecasting/README.md"),
    ),
    (
        "07-export-backup",
        include_str!("../../labs/07-export-backup/README.md"),
    ),
];

/// The action references of GitHub Classroom's graders: `@v1` unless the instructor pins commits.
#[derive(Debug, Clone)]
pub struct ActionRefs {
    /// A full commit SHA of classroom-resources/autograding-command-grader, or `None` for `v1`.
    pub command_grader: Option<String>,
    /// A full commit SHA of classroom-resources/autograding-grading-reporter, or `None` for `v1`.
    pub grading_reporter: Option<String>,
}

/// actions/checkout v4.2.2, by its commit.
const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";

/// The judges' images, as the compose stack pins them.
const PROMETHEUS_IMAGE: &str = "prom/prometheus:v2.53.3";
const ALERTMANAGER_IMAGE: &str = "prom/alertmanager:v0.28.1";

/// Where the workflow puts promtool and amtool on the runner.
const JUDGES: &str = "/tmp/promlab-judges";

/// Parses `1-7`, `3` or `2-4`.
pub fn parse_labs(text: &str) -> Result<RangeInclusive<u8>, String> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let number = |part: &str| {
        part.trim()
            .parse::<u8>()
            .ok()
            .filter(|lab| (1..=super::LABS).contains(lab))
            .ok_or_else(|| {
                format!("{text:?} is not a range of labs: write FIRST-LAST or one lab, from 1 to 7 (1-7, 4)")
            })
    };
    let (first, last) = (number(first)?, number(last)?);
    if first > last {
        return Err(format!(
            "{text:?} goes backwards: write the first lab first (1-7)"
        ));
    }
    Ok(first..=last)
}

/// One step's id: `lab4-model-rule`.
fn step_id(lab: u8, id: &str) -> String {
    format!("lab{lab}-{id}")
}

fn uses(action: &str, pin: Option<&str>) -> String {
    pin.map_or_else(
        || format!("classroom-resources/{action}@v1 # zizmor: ignore[unpinned-uses] GitHub Classroom's own tag; pin it with --pin-command-grader / --pin-grading-reporter"),
        |sha| format!("classroom-resources/{action}@{sha} # v1"),
    )
}

/// A YAML double-quoted string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// The workflow: judges first, then one command-grader step per criterion of each lab (the live ones
/// from the committed evidence), then the reporter.
pub fn workflow(labs: &RangeInclusive<u8>, refs: &ActionRefs) -> Result<String, GradeError> {
    let mut text = format!(
        "# Written by `promlab classroom template`: GitHub Classroom's autograding, one test per criterion of
# labs/*/criteria.yaml. Each test runs `promlab grade --only ID` in the published promlab image: nothing
# is compiled here. The live criteria (the running stack's) are judged from the evidence the student
# recorded and committed (`--from-evidence`: evidence/lab-N.json, see labs/README.md, Evidence).
name: Autograding
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
concurrency:
  group: autograding-${{{{ github.ref }}}}
  cancel-in-progress: true
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    # The reporter writes the points into the run's check.
    permissions:
      contents: read
      checks: write
      actions: read
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      # promtool and amtool, the judges, from the upstream images the stack pins (static binaries).
      - name: Judges and grader
        run: |
          mkdir -p {JUDGES}
          prometheus=$(docker create {PROMETHEUS_IMAGE})
          docker cp \"$prometheus:/bin/promtool\" {JUDGES}/promtool
          docker rm \"$prometheus\"
          alertmanager=$(docker create {ALERTMANAGER_IMAGE})
          docker cp \"$alertmanager:/bin/amtool\" {JUDGES}/amtool
          docker rm \"$alertmanager\"
          docker pull {IMAGE}
"
    );
    let mut ids = Vec::new();
    for lab in labs.clone() {
        let criteria = LabSource::BuiltIn(lab).criteria()?;
        for criterion in &criteria.criteria {
            let id = step_id(lab, &criterion.id);
            let command = format!(
                "docker run --rm -v \"$PWD:/repo:ro\" -v {JUDGES}:/judges:ro -e PATH=/judges:/usr/local/bin:/usr/bin:/bin {IMAGE} grade --lab {lab} --only {} --dir /repo --no-skip{}",
                criterion.id,
                if criterion.check.is_live() {
                    " --from-evidence"
                } else {
                    ""
                }
            );
            let _ = write!(
                text,
                "      - name: {name}
        id: {id}
        uses: {uses}
        with:
          test-name: {name}
          setup-command: \"\"
          command: {command}
          timeout: 2
          max-score: {points}
",
                name = quoted(&format!("Lab {lab} {}: {}", criterion.id, criterion.title)),
                uses = uses("autograding-command-grader", refs.command_grader.as_deref()),
                command = quoted(&command),
                points = criterion.points,
            );
            ids.push(id);
        }
    }
    let _ = write!(
        text,
        "      - name: Autograding Reporter
        uses: {}
        env:
",
        uses(
            "autograding-grading-reporter",
            refs.grading_reporter.as_deref()
        )
    );
    for id in &ids {
        let _ = writeln!(
            text,
            "          {}_RESULTS: \"${{{{ steps.{id}.outputs.result }}}}\"",
            id.to_ascii_uppercase()
        );
    }
    let _ = writeln!(text, "        with:\n          runners: {}", ids.join(","));
    Ok(text)
}

/// The student's README: what to do, where the holes are, how to check one's work.
fn readme(labs: &RangeInclusive<u8>) -> String {
    let mut text = format!(
        "# Monitoring labs {}–{}

This repository is your monitoring stack (Prometheus, Alertmanager, Grafana, node-exporter, a model
mock and a forecaster) with the labs' work left to you. Every place you write is marked with a
comment starting `TODO lab N, step S` (or a `TODO-lab-N.md` note where the work is a whole file):
`grep -rn \"TODO lab\" .` lists them.

1. Start the stack, as it is, from this folder: `docker compose -f compose/compose.yaml up -d`.
2. Follow the lab's guide:
",
        labs.start(),
        labs.end()
    );
    for lab in labs.clone() {
        let (folder, guide) = GUIDES[usize::from(lab - 1)];
        let title = guide
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ");
        let _ = writeln!(text, "   - [{title}](labs/{folder}/README.md)");
    }
    let _ = write!(
        text,
        "3. Check your work before you push: `docker run --rm -v \"$PWD:/repo:ro\" {IMAGE} grade --lab N --dir /repo`
   (or `promlab grade --lab N` with promlab installed). Each criterion says PASS, or FAIL with its fix.
4. Commit and push: GitHub Classroom grades every push (the *Actions* tab shows each criterion and its
   points). Criteria that need the running stack are graded from the evidence you record while it runs
   and commit: `promlab grade --lab N --prometheus-url http://127.0.0.1:9090 --alertmanager-url
   http://127.0.0.1:9093 --record evidence/lab-N.json` (labs/README.md, *Evidence*).

Never commit a secret: your Discord webhook URL goes into `secrets/discord_webhook_url`, which git
ignores.
"
    );
    text
}

/// Every file of the template repository.
pub fn files(
    labs: &RangeInclusive<u8>,
    refs: &ActionRefs,
) -> Result<BTreeMap<String, String>, ClassroomError> {
    let mut files = starter_files(*labs.start())?;
    for lab in labs.clone() {
        let (folder, guide) = GUIDES[usize::from(lab - 1)];
        files.insert(format!("labs/{folder}/README.md"), guide.to_owned());
    }
    files.insert("README.md".to_owned(), readme(labs));
    files.insert(
        ".github/workflows/classroom.yml".to_owned(),
        workflow(labs, refs)?,
    );
    Ok(files)
}

/// `promlab classroom template`: writes the template repository into `out` (new or empty), at once.
pub fn write(
    labs: &RangeInclusive<u8>,
    refs: &ActionRefs,
    out: &Path,
) -> Result<usize, ClassroomError> {
    let files = files(labs, refs)?;
    write_tree(out, &files)?;
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_ranges_are_read_and_refused_with_the_form() {
        assert_eq!(parse_labs("1-7").unwrap(), 1..=7);
        assert_eq!(parse_labs("4").unwrap(), 4..=4);
        for bad in ["0-3", "5-2", "1-8", "x", ""] {
            assert!(parse_labs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_criterion_is_one_test_worth_its_points_the_live_ones_judged_from_evidence() {
        let refs = ActionRefs {
            command_grader: None,
            grading_reporter: None,
        };
        let text = workflow(&(4..=5), &refs).unwrap();
        let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let steps = document["jobs"]["grade"]["steps"].as_sequence().unwrap();
        let graders: Vec<&serde_yaml_ng::Value> = steps
            .iter()
            .filter(|step| {
                step["uses"]
                    .as_str()
                    .is_some_and(|uses| uses.contains("command-grader"))
            })
            .collect();
        let mut expected = 0;
        for lab in [4, 5] {
            let criteria = LabSource::BuiltIn(lab).criteria().unwrap();
            for criterion in &criteria.criteria {
                expected += 1;
                let step = graders
                    .iter()
                    .find(|step| step["id"].as_str() == Some(&step_id(lab, &criterion.id)))
                    .unwrap_or_else(|| panic!("no step for lab {lab} {}", criterion.id));
                assert_eq!(
                    step["with"]["max-score"].as_u64(),
                    Some(u64::from(criterion.points))
                );
                let command = step["with"]["command"].as_str().unwrap();
                assert!(
                    command.contains(&format!("--lab {lab} --only {} ", criterion.id)),
                    "{command}"
                );
                assert_eq!(
                    command.ends_with(" --from-evidence"),
                    criterion.check.is_live(),
                    "{command}"
                );
            }
        }
        assert_eq!(graders.len(), expected);
        let reporter = steps.last().unwrap();
        assert_eq!(
            reporter["with"]["runners"]
                .as_str()
                .unwrap()
                .split(',')
                .count(),
            expected
        );
    }
}
