//! The doctor's checks of the host: ports the stack publishes that something else already holds, and
//! the owners of the folders and volumes the services write to (through Docker for named volumes,
//! skipped with the reason when Docker is not there).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::time::Duration;

use super::Report;
use super::repo::Repo;
use crate::compose::Service;

/// Why a data folder with the wrong owner breaks its service.
const DENIED: &str = "the service cannot write there and fails with \"permission denied\": Prometheus, Alertmanager and Grafana then restart over and over, `secrets` cannot write the password and webhook files";

/// The folders each image writes to, the uid it runs as, and the owner to give them.
const DATA_DIRS: [(&str, u32, &str, &str); 4] = [
    (
        "/prometheus",
        65534,
        "65534:65534",
        "Prometheus runs as uid 65534 (nobody)",
    ),
    (
        "/alertmanager",
        65534,
        "65534:65534",
        "Alertmanager runs as uid 65534 (nobody)",
    ),
    ("/var/lib/grafana", 472, "472:0", "Grafana runs as uid 472"),
    (
        "/var/lib/promlab",
        10001,
        "10001:10001",
        "promlab runs as uid 10001",
    ),
];

/// The data folder a mount target is, if any: `(uid, chown owner, who)`.
fn data_dir(target: &str) -> Option<(u32, &'static str, &'static str)> {
    let target = target.trim_end_matches('/');
    DATA_DIRS
        .iter()
        .find(|(dir, ..)| *dir == target)
        .map(|(_, uid, owner, who)| (*uid, *owner, *who))
}

/// Whether a folder with this owner and mode can be written by `uid`.
fn writable_by(uid: u32, owner: u32, mode: u32) -> bool {
    owner == uid || mode & 0o002 != 0
}

/// Host folders mounted where a service writes its data (Windows: Docker Desktop gives every bind mount
/// to the container's user, so there is nothing to check).
#[cfg(not(unix))]
pub(super) fn check_folders(_repo: &Repo, report: &mut Report) {
    report.skipped(
        "data-permissions",
        "host",
        "folder owners are a Unix matter: Docker Desktop on Windows gives bind mounts to the container's user".to_owned(),
    );
}

/// Host folders mounted where a service writes its data: their owner must be the service's user.
#[cfg(unix)]
pub(super) fn check_folders(repo: &Repo, report: &mut Report) {
    use std::os::unix::fs::MetadataExt as _;
    let Some(compose) = &repo.compose else {
        return;
    };
    for service in &compose.services {
        for mount in service
            .mounts
            .iter()
            .filter(|m| m.is_bind() && !m.read_only)
        {
            let Some((uid, owner, who)) = data_dir(&mount.target) else {
                continue;
            };
            let path = compose.dir.join(&mount.source);
            // A missing folder is the compose lint's finding (Docker would create it owned by root).
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            let shown = path.canonicalize().unwrap_or(path);
            if writable_by(uid, metadata.uid(), metadata.mode()) {
                report.ok(
                    "data-permissions",
                    &service.name,
                    format!(
                        "{} (its {}) belongs to uid {uid}",
                        shown.display(),
                        mount.target
                    ),
                );
            } else {
                report.problem(
                    "data-permissions",
                    &service.name,
                    format!(
                        "{} (mounted at {}) belongs to uid {}, but {who}",
                        shown.display(),
                        mount.target,
                        metadata.uid()
                    ),
                    DENIED,
                    format!("sudo chown -R {owner} {}", shown.display()),
                );
            }
        }
    }
}

/// What marks each of the stack's services on its HTTP port: a path and a text its answer contains.
fn signature(service: &str) -> Option<(&'static str, &'static str)> {
    Some(match service {
        "prometheus" => ("/-/ready", "Prometheus"),
        "alertmanager" => ("/api/v2/status", "\"cluster\""),
        "grafana" => ("/api/health", "\"database\""),
        "model-mock" => ("/api/state", "\"scenario\""),
        "webhook-sink" => ("/metrics", "promlab_sink_"),
        "forecaster" => ("/metrics", "forecaster_"),
        "node-exporter" => ("/metrics", "node_exporter_build_info"),
        _ => return None,
    })
}

/// Whether the stack's own `service` answers on `port`.
async fn is_own_service(service: &Service, port: u16, timeout: Duration) -> bool {
    let Some((path, marker)) = signature(&service.name) else {
        return false;
    };
    let Ok(client) = crate::clients::http_client("http://127.0.0.1", timeout) else {
        return false;
    };
    match client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
    {
        Ok(response) => response
            .text()
            .await
            .is_ok_and(|body| body.contains(marker)),
        Err(_) => false,
    }
}

/// The first port after `port` that is free on 127.0.0.1 and not one the stack publishes.
fn next_free(port: u16, stack_ports: &[u16]) -> Option<u16> {
    (port.checked_add(1)?..=port.saturating_add(100)).find(|candidate| {
        !stack_ports.contains(candidate)
            && TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, *candidate)).is_ok()
    })
}

/// The stack's published ports that something else already holds: `up` would fail on them.
pub(super) async fn check_ports(repo: &Repo, timeout: Duration, report: &mut Report) {
    let Some(compose) = &repo.compose else {
        return;
    };
    let stack_ports: Vec<u16> = compose
        .services
        .iter()
        .flat_map(|service| service.published_ports().map(|(host, _)| host))
        .collect();
    for service in &compose.services {
        for (host, port) in service.published_ports() {
            let free = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, host));
            if free.is_ok() {
                drop(free);
                report.ok(
                    "port-taken",
                    &service.name,
                    format!("port {host} is free for it"),
                );
                continue;
            }
            if is_own_service(service, host, timeout).await {
                report.ok(
                    "port-taken",
                    &service.name,
                    format!("port {host} is its own (it answers there)"),
                );
                continue;
            }
            let holder = holder(host, timeout).await;
            let other = next_free(host, &stack_ports).unwrap_or(host.saturating_add(1));
            let fix = match &port.variable {
                Some(variable) => format!(
                    "stop {holder}, or publish {} on another port: {variable}={other} docker compose -f compose/compose.yaml up -d (then use http://127.0.0.1:{other})",
                    service.name
                ),
                None => format!(
                    "stop {holder}, or change the host port of {} in {} (e.g. 127.0.0.1:{other}:{})",
                    service.name,
                    compose.path.display(),
                    port.container
                ),
            };
            report.problem(
                "port-taken",
                &service.name,
                format!(
                    "port {} (127.0.0.1:{}) is already taken by {holder}, which is not the stack's {}",
                    host, host, service.name
                ),
                "`docker compose up` cannot publish the port (\"bind: address already in use\"), so the service does not start; or what answers there is not the lab",
                fix,
            );
        }
    }
}

/// Who listens on `port`: a process found through /proc (Linux), and the container behind a
/// docker-proxy.
async fn holder(port: u16, timeout: Duration) -> String {
    let Some((pid, name)) = listening_process(port) else {
        return format!("another program (`sudo ss -ltnp 'sport = :{port}'` names it)");
    };
    if name == "docker-proxy" {
        let filter = format!("publish={port}");
        if let Ok(names) = docker(
            &["ps", "--filter", &filter, "--format", "{{.Names}}"],
            timeout,
        )
        .await
        .map(|out| out.trim().to_owned())
            && !names.is_empty()
        {
            return format!("the container `{names}` (docker ps shows it; docker stop {names})");
        }
    }
    format!("`{name}` (pid {pid})")
}

/// The process holding a listening TCP socket on `port`, read from /proc (Linux only; a process of
/// another user is found only as root).
fn listening_process(port: u16) -> Option<(u32, String)> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            // 0A is TCP_LISTEN.
            if *state == "0A" && local_port == Some(port) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.filter_map(Result::ok).any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|link| {
                inodes
                    .iter()
                    .any(|inode| link.as_os_str() == inode.as_str())
            })
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map_or_else(|_| "?".to_owned(), |comm| comm.trim().to_owned());
            return Some((pid, name));
        }
    }
    None
}

/// Runs `docker ARGS` within `timeout`; its standard output, or why it failed.
async fn docker(args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut command = tokio::process::Command::new("docker");
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .map_err(|_| {
            format!(
                "`docker {}` did not finish within {}",
                args.first().unwrap_or(&""),
                humantime::format_duration(timeout)
            )
        })?
        .map_err(|error| format!("cannot run docker: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "`docker {}` failed: {}",
            args.first().unwrap_or(&""),
            stderr.lines().last().unwrap_or("").trim()
        ))
    }
}

/// What must be true of one named volume.
#[derive(Debug, Default)]
struct VolumeNeeds {
    /// `(service, uid, chown owner, who)` for a volume a service writes its data to.
    owner: Option<(String, u32, &'static str, &'static str)>,
    /// `(service, path in the volume, path in the container)` of webhook files that must be there.
    files: Vec<(String, String, String)>,
}

/// The stack's named volumes: their owner, and the webhook URL file in the secrets volume, looked at
/// through Docker (a throw-away container of one of the stack's local images runs `stat`).
pub(super) async fn check_volumes(
    repo: &Repo,
    project: &str,
    timeout: Duration,
    report: &mut Report,
) {
    let Some(compose) = &repo.compose else {
        return;
    };
    let needs = volume_needs(repo);
    if needs.is_empty() {
        return;
    }
    // Docker commands get more time than an HTTP call: starting a container takes a second or two.
    let docker_timeout = timeout.max(Duration::from_secs(10));
    if let Err(reason) = docker(&["info", "--format", "{{.ServerVersion}}"], docker_timeout).await {
        report.skipped(
            "volumes",
            "host",
            format!("Docker does not answer ({reason}): the checks of the named volumes (owners, the webhook URL file) need it"),
        );
        return;
    }
    let image = local_image(&compose.services, docker_timeout).await;
    for (volume, need) in needs {
        let project_label = format!("label=com.docker.compose.project={project}");
        let volume_label = format!("label=com.docker.compose.volume={volume}");
        let listed = docker(
            &[
                "volume",
                "ls",
                "-q",
                "--filter",
                &project_label,
                "--filter",
                &volume_label,
            ],
            docker_timeout,
        )
        .await;
        let real = match listed {
            Ok(names) => names.lines().next().map(str::to_owned),
            Err(reason) => {
                report.skipped("volumes", "host", reason);
                continue;
            }
        };
        let Some(real) = real else {
            report.ok(
                "volumes",
                "host",
                format!("volume {volume} of project {project:?} does not exist yet: `up` creates it with the right owner"),
            );
            continue;
        };
        let Some(image) = &image else {
            report.skipped(
                "volumes",
                "host",
                format!("none of the stack's images with a `stat` (Prometheus', Alertmanager's, Grafana's: promlab's has none) is on this machine to look into volume {real}: run `docker compose -f compose/compose.yaml pull`"),
            );
            continue;
        };
        let mount = format!("{real}:/v:ro");
        let mut args = vec![
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "0",
            "--volume",
            &mount,
            "--entrypoint",
            "stat",
            image,
            "-c",
            "%u %a %s %n",
            "/v",
        ];
        let paths: Vec<String> = need
            .files
            .iter()
            .map(|(_, path, _)| format!("/v/{path}"))
            .collect();
        args.extend(paths.iter().map(String::as_str));
        // stat fails for a missing file but still prints the others: read its output either way.
        let output = stat_output(&args, docker_timeout).await;
        let Some(stats) = output else {
            report.skipped(
                "volumes",
                "host",
                format!("cannot look into volume {real} with {image} (`docker run … stat` failed)"),
            );
            continue;
        };
        judge_volume(&real, image, &need, &stats, report);
    }
}

/// What each named volume of the stack must satisfy.
fn volume_needs(repo: &Repo) -> BTreeMap<String, VolumeNeeds> {
    let Some(compose) = &repo.compose else {
        return BTreeMap::new();
    };
    let mut needs: BTreeMap<String, VolumeNeeds> = BTreeMap::new();
    for service in &compose.services {
        for mount in service
            .mounts
            .iter()
            .filter(|m| !m.is_bind() && !m.read_only)
        {
            if let Some((uid, owner, who)) = data_dir(&mount.target) {
                needs.entry(mount.source.clone()).or_default().owner =
                    Some((service.name.clone(), uid, owner, who));
            }
        }
    }
    for file in repo.webhook_volume_files() {
        needs.entry(file.volume).or_default().files.push((
            file.service,
            file.path,
            file.container_path,
        ));
    }
    needs
}

/// The first of the stack's images that is on this machine: it runs `stat` on the volumes.
async fn local_image(services: &[Service], timeout: Duration) -> Option<String> {
    for service in services {
        if service.image.is_empty() {
            continue;
        }
        // promlab's own image has no `stat` or `chown` (it holds the binary and its libraries only):
        // an image is used when it is here and its entrypoint is not promlab.
        let entrypoint = docker(
            &[
                "image",
                "inspect",
                "--format",
                "{{json .Config.Entrypoint}}",
                &service.image,
            ],
            timeout,
        )
        .await;
        if entrypoint.is_ok_and(|entrypoint| entrypoint.trim() != r#"["promlab"]"#) {
            return Some(service.image.clone());
        }
    }
    None
}

/// `(uid, mode, size)` by path, from `stat -c '%u %a %s %n'` lines.
type Stats = BTreeMap<String, (u32, u32, u64)>;

async fn stat_output(args: &[&str], timeout: Duration) -> Option<Stats> {
    let mut command = tokio::process::Command::new("docker");
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .ok()?
        .ok()?;
    let stats: Stats = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(4, ' ');
            let uid = fields.next()?.parse().ok()?;
            let mode = u32::from_str_radix(fields.next()?, 8).ok()?;
            let size = fields.next()?.parse().ok()?;
            Some((fields.next()?.to_owned(), (uid, mode, size)))
        })
        .collect();
    stats.contains_key("/v").then_some(stats)
}

fn judge_volume(real: &str, image: &str, need: &VolumeNeeds, stats: &Stats, report: &mut Report) {
    if let (Some((service, uid, owner, who)), Some((owner_uid, mode, _))) =
        (&need.owner, stats.get("/v"))
    {
        if writable_by(*uid, *owner_uid, *mode) {
            report.ok(
                "data-permissions",
                service,
                format!("volume {real} belongs to uid {uid}"),
            );
        } else {
            report.problem(
                "data-permissions",
                service,
                format!("volume {real} belongs to uid {owner_uid}, but {who}"),
                DENIED,
                format!(
                    "docker run --rm --user 0 -v {real}:/v --entrypoint chown {image} -R {owner} /v   (or forget its data: docker compose -f compose/compose.yaml down -v)"
                ),
            );
        }
    }
    for (service, path, container_path) in &need.files {
        match stats.get(&format!("/v/{path}")) {
            Some((_, _, 0)) => report.problem(
                "webhook-file-empty",
                service,
                format!("the webhook URL file {container_path} (in volume {real}) is empty"),
                "Alertmanager reads the Discord webhook URL from it: an empty URL fails every notification",
                "run the secrets service again: docker compose -f compose/compose.yaml up -d secrets (for your Discord, its URL in secrets/discord_webhook_url), check its logs (docker compose -f compose/compose.yaml logs secrets), then docker compose -f compose/compose.yaml restart alertmanager".to_owned(),
            ),
            Some(_) => report.ok(
                "webhook-file-missing",
                service,
                format!("the webhook URL file {container_path} is in volume {real}"),
            ),
            None => report.problem(
                "webhook-file-missing",
                service,
                format!("the webhook URL file {container_path} is missing from volume {real}"),
                "Alertmanager reads the Discord webhook URL from it (webhook_url_file): without it Alertmanager does not start, or fails every notification",
                "let the secrets service write it: docker compose -f compose/compose.yaml up -d secrets, read why it failed in docker compose -f compose/compose.yaml logs secrets, then docker compose -f compose/compose.yaml restart alertmanager".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_folder_must_belong_to_the_service_or_be_writable_by_all() {
        assert!(writable_by(472, 472, 0o755));
        assert!(writable_by(472, 0, 0o777));
        assert!(!writable_by(472, 0, 0o755));
        assert_eq!(data_dir("/var/lib/grafana/").map(|d| d.0), Some(472));
        assert_eq!(data_dir("/etc/prometheus"), None);
    }

    #[test]
    fn the_process_holding_a_port_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pid, _) = listening_process(port).expect("this test's own socket is found");
        assert_eq!(pid, std::process::id());
    }

    #[test]
    fn volume_stats_are_judged_by_owner_and_file() {
        let need = VolumeNeeds {
            owner: Some((
                "grafana".to_owned(),
                472,
                "472:0",
                "Grafana runs as uid 472",
            )),
            files: vec![(
                "alertmanager".to_owned(),
                "discord_webhook_url".to_owned(),
                "/etc/alertmanager/secrets/discord_webhook_url".to_owned(),
            )],
        };
        let mut report = Report::new(String::new());
        let stats: Stats = [("/v".to_owned(), (0, 0o755, 4096))].into();
        judge_volume(
            "lab_grafana-data",
            "promlab:local",
            &need,
            &stats,
            &mut report,
        );
        let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["data-permissions", "webhook-file-missing"]);
        assert!(
            report.findings[0]
                .message
                .contains("belongs to uid 0, but Grafana runs as uid 472")
        );
        assert!(
            report.findings[0]
                .fix
                .contains("chown promlab:local -R 472:0 /v")
        );
    }
}
