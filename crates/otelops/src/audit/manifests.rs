//! Items judged on the deployment files: the Dockerfile's USER, the k8s
//! workloads' security context, NetworkPolicy and resource limits, and the
//! Prometheus alert rules.

use std::path::Path;

use super::Item;
use super::sources::{Sources, containers};
use crate::collector_config::document::{self, Node};

pub fn non_root_image(dockerfile: &Path) -> Item {
    let mut item = Item::new("non-root-image", "The image runs as a non-root USER");
    let fix = "end the Dockerfile's final stage with `USER 65532:65532` (a numeric non-root uid)";
    let text = match std::fs::read_to_string(dockerfile) {
        Ok(t) => t,
        Err(e) => {
            item.crit(format!("{}: {e}", dockerfile.display()), fix);
            return item;
        }
    };
    // The last USER of the last stage decides; a later FROM resets it.
    let mut user = None;
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match words.next().map(str::to_ascii_uppercase).as_deref() {
            Some("FROM") => user = None,
            Some("USER") => user = words.next().map(|u| (u.to_owned(), i + 1)),
            _ => {}
        }
    }
    match user {
        None => item.crit(
            format!(
                "{}: no USER in the final stage: the image runs as root",
                dockerfile.display()
            ),
            fix,
        ),
        Some((u, line)) => {
            let name = u.split(':').next().unwrap_or("");
            if name == "root" || name == "0" {
                item.crit(
                    format!("{}:{line}: USER {u} is root", dockerfile.display()),
                    fix,
                );
            } else {
                item.ok(format!("{}:{line}: USER {u}", dockerfile.display()));
            }
        }
    }
    item
}

/// A container setting, else the pod's (`securityContext.<key>`).
fn effective<'a>(pod: &'a Node, container: &'a Node, key: &str) -> Option<&'a Node> {
    container
        .path(&["securityContext", key])
        .or_else(|| pod.path(&["securityContext", key]))
}

pub fn non_root_k8s(src: &Sources) -> Item {
    let mut item = Item::new(
        "non-root-k8s",
        "k8s: runAsNonRoot, readOnlyRootFilesystem, no privilege escalation",
    );
    let pods = src.pod_specs();
    if pods.is_empty() {
        item.crit(
            format!(
                "no Deployment, StatefulSet, DaemonSet or Pod under {}",
                src.k8s_dir.display()
            ),
            "point --k8s at the directory holding the collector's workload manifests",
        );
    }
    for (m, pod) in pods {
        for c in containers(pod) {
            let cname = c.get("name").and_then(Node::as_str).unwrap_or("?");
            let at = format!("{} {} container {cname}", m.at(c), m.name());
            let mut bad = Vec::new();
            if effective(pod, c, "runAsNonRoot").and_then(Node::as_bool) != Some(true) {
                bad.push("runAsNonRoot is not true");
            }
            if matches!(
                effective(pod, c, "runAsUser").map(|n| &n.value),
                Some(document::Value::Int(0))
            ) {
                bad.push("runAsUser is 0");
            }
            if c.path(&["securityContext", "readOnlyRootFilesystem"])
                .and_then(Node::as_bool)
                != Some(true)
            {
                bad.push("readOnlyRootFilesystem is not true");
            }
            if c.path(&["securityContext", "allowPrivilegeEscalation"])
                .and_then(Node::as_bool)
                != Some(false)
            {
                bad.push("allowPrivilegeEscalation is not false");
            }
            if c.path(&["securityContext", "privileged"])
                .and_then(Node::as_bool)
                == Some(true)
            {
                bad.push("privileged is true");
            }
            if bad.is_empty() {
                item.ok(format!(
                    "{at}: non-root, read-only root, no privilege escalation"
                ));
            } else {
                item.crit(
                    format!("{at}: {}", bad.join(", ")),
                    "set securityContext runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false",
                );
            }
        }
    }
    item
}

/// The pod template's labels of each workload.
fn workload_labels(src: &Sources) -> Vec<(String, Vec<(String, String)>)> {
    src.manifests
        .iter()
        .filter_map(|m| {
            let labels = match m.kind() {
                "Pod" => m.doc.path(&["metadata", "labels"]),
                _ => m.doc.path(&["spec", "template", "metadata", "labels"]),
            }?;
            Some((format!("{} {}", m.kind(), m.name()), string_map(labels)))
        })
        .collect()
}

fn string_map(node: &Node) -> Vec<(String, String)> {
    node.as_map()
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.name.clone(), v.to_owned())))
        .collect()
}

pub fn network_policy(src: &Sources) -> Item {
    let mut item = Item::new(
        "network-policy",
        "A NetworkPolicy restricts ingress to the collector's pods",
    );
    let fix = "add a NetworkPolicy whose podSelector matches the collector's pod labels, with policyTypes [Ingress, Egress] and ingress only from the services and Prometheus";
    let workloads = workload_labels(src);
    let policies: Vec<_> = src
        .manifests
        .iter()
        .filter(|m| m.kind() == "NetworkPolicy")
        .collect();
    for (workload, labels) in &workloads {
        let selecting: Vec<_> = policies
            .iter()
            .filter(|p| {
                let wanted = p
                    .doc
                    .path(&["spec", "podSelector", "matchLabels"])
                    .map(string_map)
                    .unwrap_or_default();
                wanted.iter().all(|w| labels.contains(w))
            })
            .collect();
        if selecting.is_empty() {
            item.crit(
                format!("{workload}: no NetworkPolicy selects its pods"),
                fix,
            );
            continue;
        }
        for p in selecting {
            let types: Vec<&str> = p
                .doc
                .path(&["spec", "policyTypes"])
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .collect();
            let ingress = p.doc.path(&["spec", "ingress"]).and_then(Node::as_seq);
            let restricts = types.contains(&"Ingress") || ingress.is_some();
            let open_rule = ingress.unwrap_or_default().iter().find(|r| {
                r.get("from")
                    .and_then(Node::as_seq)
                    .is_none_or(|f| f.is_empty())
            });
            match (restricts, open_rule) {
                (false, _) => item.crit(
                    format!(
                        "{}: NetworkPolicy {} does not restrict ingress",
                        p.at(&p.doc),
                        p.name()
                    ),
                    fix,
                ),
                (true, Some(r)) => item.crit(
                    format!(
                        "{}: an ingress rule without `from` admits every source",
                        p.at(r)
                    ),
                    fix,
                ),
                (true, None) => item.ok(format!(
                    "{workload}: NetworkPolicy {} ({}) selects it",
                    p.name(),
                    types.join(", ")
                )),
            }
        }
    }
    if workloads.is_empty() {
        item.crit(
            format!("no workload manifests under {}", src.k8s_dir.display()),
            "point --k8s at the directory holding the collector's manifests",
        );
    }
    item
}

pub fn resource_limits(src: &Sources) -> Item {
    let mut item = Item::new(
        "resource-limits",
        "Resource limits: container cpu/memory limits and a memory_limiter",
    );
    for (m, pod) in src.pod_specs() {
        for c in containers(pod) {
            let cname = c.get("name").and_then(Node::as_str).unwrap_or("?");
            let limits = c.path(&["resources", "limits"]);
            let missing: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|k| limits.and_then(|l| l.get(k)).is_none())
                .collect();
            if missing.is_empty() {
                item.ok(format!(
                    "{} container {cname}: cpu and memory limits",
                    m.at(c)
                ));
            } else {
                item.crit(
                    format!(
                        "{} container {cname}: no {} limit",
                        m.at(c),
                        missing.join(" or ")
                    ),
                    "set resources.limits.cpu and resources.limits.memory on the container",
                );
            }
        }
    }
    for config in &src.configs {
        let path = config.path.display();
        let pipelines = super::config_rules::pipelines(config);
        let without: Vec<&str> = pipelines
            .iter()
            .filter(|(_, p)| {
                !p.get("processors")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .any(|x| {
                        x.as_str()
                            .is_some_and(|x| x.split('/').next() == Some("memory_limiter"))
                    })
            })
            .map(|(k, _)| k.name.as_str())
            .collect();
        if config.memory_limiter().is_none() || !without.is_empty() {
            item.crit(
                format!(
                    "{path}: pipelines without memory_limiter: {}",
                    if without.is_empty() {
                        "all".into()
                    } else {
                        without.join(", ")
                    }
                ),
                "put memory_limiter first in every pipeline",
            );
        } else {
            item.ok(format!("{path}: memory_limiter in every pipeline"));
        }
    }
    item
}

pub fn alert_rules(path: &Path) -> Item {
    let mut item = Item::new("alert-rules", "Prometheus alert rules are present");
    let fix = "otelops dashboards --out deploy (writes deploy/prometheus/otelcol-parker-rules.yaml), and load it into Prometheus";
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            item.crit(format!("{}: {e}", path.display()), fix);
            return item;
        }
    };
    let tree = match document::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            item.crit(format!("{}:{e}", path.display()), fix);
            return item;
        }
    };
    let alerts: Vec<&str> = tree
        .get("groups")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .flat_map(|g| g.get("rules").and_then(Node::as_seq).unwrap_or_default())
        .filter_map(|r| r.get("alert").and_then(Node::as_str))
        .collect();
    if alerts.is_empty() {
        item.crit(format!("{}: no alerting rule", path.display()), fix);
    } else {
        item.ok(format!(
            "{}: {} alerts ({})",
            path.display(),
            alerts.len(),
            alerts.join(", ")
        ));
    }
    item
}
