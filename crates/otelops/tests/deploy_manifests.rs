//! deploy/: every manifest parses, Kubernetes objects are complete and
//! locked down (non-root, limits, probes on 13133, secrets only referenced
//! and mounted 0400, cert-manager renewing the TLS Secret),
//! the ConfigMap carries the production profile, and compose publishes on
//! loopback only.

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::path::{Path, PathBuf};

use config_support::*;
use otelops::collector_config::document::{self, Node, Value};
use otelops::collector_config::profile::{Profile, referenced_env_vars};
use otelops::dashboards::DEFAULT_MEMORY_LIMIT_MIB;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // The builder's generated Go module is not ours to parse.
            if !path.ends_with("collector/build") {
                yaml_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn parse(path: &Path) -> Node {
    document::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(node: &'a Node, path: &[&str]) -> &'a str {
    node.path(path)
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("missing string at {path:?}"))
}

/// The strings of the sequence at `path`.
fn strs_at<'a>(node: &'a Node, path: &[&str]) -> Vec<&'a str> {
    node.path(path)
        .and_then(Node::as_seq)
        .unwrap_or_else(|| panic!("missing sequence at {path:?}"))
        .iter()
        .filter_map(Node::as_str)
        .collect()
}

#[test]
fn every_yaml_file_under_deploy_parses() {
    let mut files = Vec::new();
    yaml_files(&repo_root().join("deploy"), &mut files);
    assert!(files.len() >= 15, "found only {files:?}");
    for file in files {
        parse(&file);
    }
}

fn k8s_objects() -> Vec<(PathBuf, Node)> {
    let mut files = Vec::new();
    yaml_files(&deploy("k8s"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let n = parse(&f);
            (f, n)
        })
        .collect()
}

/// The first `kind` of the base (and cert-manager) manifests; the gateway
/// topology's objects are read by [`gateway_object`].
fn object(kind: &str) -> Node {
    k8s_objects()
        .into_iter()
        .filter(|(f, _)| !f.starts_with(deploy("k8s/gateway")))
        .map(|(_, n)| n)
        .find(|n| n.get("kind").and_then(Node::as_str) == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in deploy/k8s"))
}

#[test]
fn every_k8s_object_has_api_version_and_kind_and_none_is_a_secret() {
    let mut kinds = Vec::new();
    for (file, node) in k8s_objects() {
        let kind = node
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or_else(|| panic!("{} has no kind", file.display()));
        assert!(
            node.get("apiVersion").and_then(Node::as_str).is_some(),
            "{} has no apiVersion",
            file.display()
        );
        assert_ne!(
            kind,
            "Secret",
            "{}: secrets are referenced, never committed",
            file.display()
        );
        kinds.push(kind.to_owned());
    }
    for needed in [
        "ConfigMap",
        "Deployment",
        "Service",
        "NetworkPolicy",
        "Kustomization",
    ] {
        assert!(kinds.iter().any(|k| k == needed), "no {needed}");
    }
}

#[test]
fn kustomizations_list_files_and_bases_that_exist() {
    let mut seen = 0;
    for (file, k) in k8s_objects() {
        if k.get("kind").and_then(Node::as_str) != Some("Kustomization") {
            continue;
        }
        seen += 1;
        let dir = file.parent().unwrap();
        for r in k.get("resources").unwrap().as_seq().unwrap() {
            let target = dir.join(r.as_str().unwrap());
            assert!(
                target.is_file() || target.join("kustomization.yaml").is_file(),
                "{}: {} missing",
                file.display(),
                target.display()
            );
        }
    }
    assert_eq!(
        seen, 3,
        "deploy/k8s, deploy/k8s/with-cert-manager and deploy/k8s/gateway"
    );
}

/// The secret volumes of the Deployment, by volume name.
fn secret_volumes() -> Vec<(String, Node)> {
    let d = object("Deployment");
    d.path(&["spec", "template", "spec", "volumes"])
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .filter_map(|v| {
            let secret = v.get("secret")?.clone();
            Some((v.get("name")?.as_str()?.to_owned(), secret))
        })
        .collect()
}

#[test]
fn secret_volumes_are_owner_read_only_and_mounted_without_sub_path() {
    let volumes = secret_volumes();
    assert!(volumes.iter().any(|(n, _)| n == "tls"), "{volumes:?}");
    for (name, secret) in &volumes {
        // `defaultMode: 0400` — Kubernetes' YAML 1.1 reads the leading 0 as
        // octal (0o400); our YAML 1.2 parser keeps the digits as 400.
        assert_eq!(
            secret.get("defaultMode").map(|m| m.value.clone()),
            Some(Value::Int(400)),
            "secret volume {name}"
        );
    }
    let c = container();
    for m in c.get("volumeMounts").unwrap().as_seq().unwrap() {
        let name = m.get("name").and_then(Node::as_str).unwrap();
        if volumes.iter().any(|(n, _)| n == name) {
            assert!(
                m.get("subPath").is_none(),
                "{name}: a subPath mount never sees a renewed Secret"
            );
            assert_eq!(
                m.get("readOnly").unwrap().value,
                Value::Bool(true),
                "{name}"
            );
        }
    }
}

#[test]
fn cert_manager_keeps_the_tls_secret_for_90_days_renewing_30_days_before() {
    let cert = object("Certificate");
    assert_eq!(str_at(&cert, &["apiVersion"]), "cert-manager.io/v1");
    assert_eq!(str_at(&cert, &["spec", "duration"]), "2160h", "90 days");
    assert_eq!(str_at(&cert, &["spec", "renewBefore"]), "720h", "30 days");
    let tls_secret = secret_volumes()
        .into_iter()
        .find(|(n, _)| n == "tls")
        .map(|(_, s)| str_at(&s, &["secretName"]).to_owned())
        .unwrap();
    assert_eq!(str_at(&cert, &["spec", "secretName"]), tls_secret);
    assert_eq!(str_at(&cert, &["spec", "privateKey", "algorithm"]), "ECDSA");
    assert_eq!(
        str_at(&cert, &["spec", "privateKey", "rotationPolicy"]),
        "Always"
    );
    let usages = strs_at(&cert, &["spec", "usages"]);
    assert!(usages.contains(&"server auth"), "{usages:?}");
    let service = object("Service");
    let dns = strs_at(&cert, &["spec", "dnsNames"]);
    assert!(
        dns.contains(&str_at(&service, &["metadata", "name"])),
        "{dns:?}"
    );

    let issuer = object("Issuer");
    assert_eq!(str_at(&cert, &["spec", "issuerRef", "kind"]), "Issuer");
    assert_eq!(
        str_at(&cert, &["spec", "issuerRef", "name"]),
        str_at(&issuer, &["metadata", "name"])
    );
    assert!(issuer.path(&["spec", "ca", "secretName"]).is_some());
}

fn container() -> Node {
    let d = object("Deployment");
    d.path(&["spec", "template", "spec", "containers"])
        .unwrap()
        .as_seq()
        .unwrap()[0]
        .clone()
}

#[test]
fn deployment_runs_as_non_root_without_privileges() {
    let d = object("Deployment");
    let pod = d
        .path(&["spec", "template", "spec", "securityContext"])
        .unwrap();
    assert_eq!(pod.get("runAsNonRoot").unwrap().value, Value::Bool(true));
    assert!(matches!(pod.get("runAsUser").unwrap().value, Value::Int(u) if u > 0));
    let c = container();
    let sc = c.get("securityContext").unwrap();
    assert_eq!(sc.get("runAsNonRoot").unwrap().value, Value::Bool(true));
    assert_eq!(
        sc.get("allowPrivilegeEscalation").unwrap().value,
        Value::Bool(false)
    );
    assert_eq!(
        sc.get("readOnlyRootFilesystem").unwrap().value,
        Value::Bool(true)
    );
    let dropped = sc
        .path(&["capabilities", "drop"])
        .unwrap()
        .as_seq()
        .unwrap();
    assert_eq!(dropped[0].as_str(), Some("ALL"));
}

#[test]
fn deployment_has_requests_and_limits_matching_the_memory_alert() {
    let c = container();
    for section in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c.path(&["resources", section, resource]).is_some(),
                "{section}.{resource}"
            );
        }
    }
    assert_eq!(
        str_at(&c, &["resources", "limits", "memory"]),
        format!("{DEFAULT_MEMORY_LIMIT_MIB}Mi"),
        "the memory alert and memory_limiter are sized for this limit"
    );
}

#[test]
fn deployment_probes_health_check_on_13133() {
    let c = container();
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = c
            .path(&[probe, "httpGet", "port"])
            .unwrap_or_else(|| panic!("{probe}"));
        assert_eq!(port.value, Value::Int(13133), "{probe}");
        assert_eq!(str_at(&c, &[probe, "httpGet", "path"]), "/");
    }
}

#[test]
fn deployment_sets_every_variable_the_production_profile_reads_and_secrets_by_reference() {
    let c = container();
    let env = c.get("env").unwrap().as_seq().unwrap();
    let find = |name: &str| {
        env.iter()
            .find(|e| e.get("name").and_then(Node::as_str) == Some(name))
    };
    for var in referenced_env_vars(Profile::Production) {
        let entry = find(var).unwrap_or_else(|| panic!("{var} is not set in the Deployment"));
        if var.ends_with("TOKEN") {
            assert!(entry.get("value").is_none(), "{var} must not hold a value");
            assert!(
                entry.path(&["valueFrom", "secretKeyRef", "name"]).is_some(),
                "{var} must come from a Secret"
            );
        }
    }
    // Listen on the pod IP, not 0.0.0.0.
    assert_eq!(
        str_at(
            find("OTELCOL_BIND").unwrap(),
            &["valueFrom", "fieldRef", "fieldPath"]
        ),
        "status.podIP"
    );
}

/// The ingest token reaches the collector as a file in a mounted Secret
/// directory, without subPath, so a rotated Secret reaches the running pod
/// (the kubelet swaps the directory's symlink; a subPath mount never sees it).
#[test]
fn ingest_token_file_comes_from_the_tokens_secret_mounted_without_subpath() {
    let c = container();
    let env = c.get("env").unwrap().as_seq().unwrap();
    let token_file = env
        .iter()
        .find(|e| e.get("name").and_then(Node::as_str) == Some("OTELCOL_INGEST_TOKEN_FILE"))
        .map(|e| str_at(e, &["value"]).to_owned())
        .expect("OTELCOL_INGEST_TOKEN_FILE is set");
    let (dir, key) = token_file.rsplit_once('/').unwrap();
    let mounts = c.get("volumeMounts").unwrap().as_seq().unwrap();
    let mount = mounts
        .iter()
        .find(|m| m.get("mountPath").and_then(Node::as_str) == Some(dir))
        .unwrap_or_else(|| panic!("nothing is mounted at {dir}"));
    assert!(
        mount.get("subPath").is_none(),
        "{dir} must not be a subPath mount"
    );
    let volume_name = str_at(mount, &["name"]);
    let d = object("Deployment");
    let volumes = d.path(&["spec", "template", "spec", "volumes"]).unwrap();
    let volume = volumes
        .as_seq()
        .unwrap()
        .iter()
        .find(|v| v.get("name").and_then(Node::as_str) == Some(volume_name))
        .unwrap();
    assert_eq!(
        str_at(volume, &["secret", "secretName"]),
        "otelcol-parker-tokens"
    );
    let items = volume.path(&["secret", "items"]).unwrap().as_seq().unwrap();
    assert!(
        items
            .iter()
            .any(|i| str_at(i, &["key"]) == key && str_at(i, &["path"]) == key),
        "the Secret's {key} key is not projected as {token_file}"
    );
    // No Secret volume is mounted by subPath (those never see an update).
    let secret_volumes: Vec<&str> = volumes
        .as_seq()
        .unwrap()
        .iter()
        .filter(|v| v.get("secret").is_some())
        .map(|v| str_at(v, &["name"]))
        .collect();
    for m in mounts {
        if secret_volumes.contains(&str_at(m, &["name"])) {
            assert!(
                m.get("subPath").is_none(),
                "Secret volume mounted by subPath: {m:?}"
            );
        }
    }
}

#[test]
fn configmap_carries_the_production_profile_verbatim() {
    let cm = object("ConfigMap");
    assert_eq!(
        str_at(&cm, &["data", "config.yaml"]),
        read(&deploy("collector/production.yaml")),
        "deploy/k8s/configmap.yaml drifted from deploy/collector/production.yaml"
    );
}

#[test]
fn service_and_network_policy_select_the_collector_pods() {
    let d = object("Deployment");
    let labels = d.path(&["spec", "template", "metadata", "labels"]).unwrap();
    let name = str_at(labels, &["app.kubernetes.io/name"]);
    let service = object("Service");
    assert_eq!(
        str_at(&service, &["spec", "selector", "app.kubernetes.io/name"]),
        name
    );
    let ports: Vec<_> = service
        .path(&["spec", "ports"])
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .map(|p| p.get("port").unwrap().value.clone())
        .collect();
    for port in [4317, 4318, 8888] {
        assert!(ports.contains(&Value::Int(port)), "Service lacks {port}");
    }
    let np = object("NetworkPolicy");
    assert_eq!(
        str_at(
            &np,
            &[
                "spec",
                "podSelector",
                "matchLabels",
                "app.kubernetes.io/name"
            ]
        ),
        name
    );
    let types = strs_at(&np, &["spec", "policyTypes"]);
    assert_eq!(types, ["Ingress", "Egress"]);
}

#[test]
fn compose_runs_the_four_services_and_publishes_on_loopback_only() {
    let compose = parse(&deploy("docker/compose.yaml"));
    let services = compose.get("services").unwrap();
    for name in ["collector", "booking", "fares", "redis"] {
        assert!(services.get(name).is_some(), "compose lacks {name}");
    }
    for (name, service) in services.as_map().unwrap() {
        for port in service
            .get("ports")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let port = port.as_str().unwrap();
            assert!(
                port.starts_with("127.0.0.1:"),
                "{}: {port} is not loopback-only",
                name.name
            );
        }
    }
    // The collector's build context is the one scripts/collector-image-context
    // makes (the README's build step), holding the Dockerfile.
    let collector = services.get("collector").unwrap();
    assert_eq!(
        str_at(collector, &["build", "context"]),
        "../../target/collector-image"
    );
    assert_eq!(str_at(collector, &["build", "dockerfile"]), "Dockerfile");
    assert!(
        read(&deploy("docker/README.md"))
            .contains("scripts/collector-image-context target/collector-image")
    );
    let mounted = collector.get("volumes").unwrap().as_seq().unwrap()[0]
        .as_str()
        .unwrap();
    let profile = mounted.split(':').next().unwrap();
    assert!(
        deploy("docker").join(profile).is_file(),
        "{profile} does not exist"
    );
}

#[test]
fn docker_run_lines_listen_on_the_host_loopback_only() {
    let readme = read(&deploy("docker/README.md"));
    let runs: Vec<String> = readme
        .split("```sh")
        .filter_map(|block| block.split("```").next())
        .flat_map(|block| {
            let joined = block.replace("\\\n", " ");
            let runs: Vec<String> = joined
                .lines()
                .filter(|line| line.starts_with("podman run"))
                .map(str::to_owned)
                .collect();
            runs
        })
        .collect();
    // A development/staging and a production run of the collector, one
    // run of each service.
    assert_eq!(runs.len(), 4, "{runs:#?}");
    for run in runs {
        let words: Vec<&str> = run.split_whitespace().collect();
        // Host network: the container's listeners are the host's, so they
        // must bind loopback, and nothing is published.
        assert!(
            words.windows(2).any(|w| w == ["--network", "host"]),
            "{run}"
        );
        assert!(
            words
                .windows(2)
                .any(|w| w == ["-e", "OTELCOL_BIND=127.0.0.1"]
                    || w[0] == "-e" && w[1].starts_with("PARKER_LISTEN=127.0.0.1:")),
            "{run}"
        );
        assert!(
            !words.iter().any(|w| *w == "-p" || *w == "--publish"),
            "{run}"
        );
    }
}

#[test]
fn grafana_provisioning_points_at_prometheus_and_the_dashboard_folder() {
    let ds = parse(&deploy("grafana/provisioning/datasources/prometheus.yaml"));
    let first = &ds.get("datasources").unwrap().as_seq().unwrap()[0];
    assert_eq!(str_at(first, &["type"]), "prometheus");
    let dashboards = parse(&deploy(
        "grafana/provisioning/dashboards/otelcol-parker.yaml",
    ));
    assert!(dashboards.get("providers").is_some());
}

/// The object named `name` in deploy/k8s/gateway.
fn gateway_object(kind: &str, name: &str) -> Node {
    k8s_objects()
        .into_iter()
        .filter(|(f, _)| f.starts_with(deploy("k8s/gateway")))
        .map(|(_, n)| n)
        .find(|n| {
            n.get("kind").and_then(Node::as_str) == Some(kind)
                && n.path(&["metadata", "name"]).and_then(Node::as_str) == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/k8s/gateway"))
}

fn pod_labels(workload: &Node) -> &str {
    str_at(
        workload,
        &[
            "spec",
            "template",
            "metadata",
            "labels",
            "app.kubernetes.io/name",
        ],
    )
}

#[test]
fn gateway_workloads_are_locked_down_limited_and_probed() {
    for workload in [
        gateway_object("DaemonSet", "otelcol-parker-agent"),
        gateway_object("Deployment", "otelcol-parker-gateway"),
    ] {
        let pod = workload.path(&["spec", "template", "spec"]).unwrap();
        assert_eq!(
            pod.path(&["securityContext", "runAsNonRoot"])
                .unwrap()
                .value,
            Value::Bool(true)
        );
        let c = &pod.get("containers").unwrap().as_seq().unwrap()[0];
        for path in [
            ["resources", "limits", "cpu"],
            ["resources", "limits", "memory"],
            ["resources", "requests", "cpu"],
            ["resources", "requests", "memory"],
        ] {
            assert!(c.path(&path).is_some(), "{path:?}");
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(
                c.path(&[probe, "httpGet", "port"]).unwrap().value,
                Value::Int(13133)
            );
        }
        let sc = c.get("securityContext").unwrap();
        assert_eq!(
            sc.get("readOnlyRootFilesystem").unwrap().value,
            Value::Bool(true)
        );
    }
}

#[test]
fn gateways_sit_behind_a_headless_service_with_hpa_on_cpu_and_memory_and_a_pdb() {
    let gateway = gateway_object("Deployment", "otelcol-parker-gateway");
    let label = pod_labels(&gateway);
    assert!(
        gateway.path(&["spec", "replicas"]).is_none(),
        "the HPA owns the replica count"
    );
    let service = gateway_object("Service", "otelcol-parker-gateway");
    assert_eq!(str_at(&service, &["spec", "clusterIP"]), "None", "headless");
    assert_eq!(
        str_at(&service, &["spec", "selector", "app.kubernetes.io/name"]),
        label
    );
    let hpa = gateway_object("HorizontalPodAutoscaler", "otelcol-parker-gateway");
    assert_eq!(str_at(&hpa, &["apiVersion"]), "autoscaling/v2");
    assert_eq!(
        str_at(&hpa, &["spec", "scaleTargetRef", "kind"]),
        "Deployment"
    );
    assert_eq!(
        str_at(&hpa, &["spec", "scaleTargetRef", "name"]),
        "otelcol-parker-gateway"
    );
    let resources: Vec<&str> = hpa
        .path(&["spec", "metrics"])
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .map(|m| str_at(m, &["resource", "name"]))
        .collect();
    assert_eq!(resources, ["cpu", "memory"]);
    let min = hpa.path(&["spec", "minReplicas"]).unwrap().value.clone();
    assert!(
        matches!(min, Value::Int(n) if n >= 2),
        "two gateways at least"
    );
    let pdb = gateway_object("PodDisruptionBudget", "otelcol-parker-gateway");
    assert_eq!(str_at(&pdb, &["apiVersion"]), "policy/v1");
    assert_eq!(
        str_at(
            &pdb,
            &["spec", "selector", "matchLabels", "app.kubernetes.io/name"]
        ),
        label
    );
    assert_eq!(
        pdb.path(&["spec", "minAvailable"]).unwrap().value,
        Value::Int(1)
    );
}

/// `config.yaml` of a gateway-topology ConfigMap, parsed.
fn gateway_config(name: &str) -> (String, Node) {
    let cm = gateway_object("ConfigMap", name);
    let text = str_at(&cm, &["data", "config.yaml"]).to_owned();
    let node = document::parse(&text).unwrap();
    (text, node)
}

fn env_value<'a>(workload: &'a Node, var: &str) -> &'a str {
    let c = &workload
        .path(&["spec", "template", "spec", "containers"])
        .unwrap()
        .as_seq()
        .unwrap()[0];
    let entry = c
        .get("env")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .find(|e| e.get("name").and_then(Node::as_str) == Some(var))
        .unwrap_or_else(|| panic!("{var} not set"));
    str_at(entry, &["value"])
}

#[test]
fn agents_round_robin_over_every_gateway_pod_with_a_persistent_queue() {
    let (_, agent) = gateway_config("otelcol-parker-agent-config");
    let exporter = agent.path(&["exporters", "otlp"]).unwrap();
    assert_eq!(str_at(exporter, &["balancer_name"]), "round_robin");
    assert_eq!(
        str_at(exporter, &["sending_queue", "storage"]),
        "file_storage"
    );
    let ds = gateway_object("DaemonSet", "otelcol-parker-agent");
    // dns:/// resolves every address of the headless Service.
    assert_eq!(
        env_value(&ds, "OTELCOL_GATEWAY_ENDPOINT"),
        "dns:///otelcol-parker-gateway.parker-observability.svc.cluster.local:4317"
    );
    // The queue directory is on the node, so it outlives the agent pod.
    let queue_dir = env_value(&ds, "OTELCOL_QUEUE_DIR");
    let pod = ds.path(&["spec", "template", "spec"]).unwrap();
    let c = &pod.get("containers").unwrap().as_seq().unwrap()[0];
    let mount = c
        .get("volumeMounts")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .find(|m| str_at(m, &["mountPath"]) == queue_dir)
        .expect("the queue directory is mounted");
    let volume = pod
        .get("volumes")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .find(|v| str_at(v, &["name"]) == str_at(mount, &["name"]))
        .unwrap();
    assert!(volume.get("hostPath").is_some());
    // Agents and gateways do not sample: tail sampling stays on the one
    // tier where a trace's spans meet.
    let (_, gateway) = gateway_config("otelcol-parker-gateway-config");
    for (config, expected) in [
        (
            &agent,
            &[
                "memory_limiter",
                "attributes/pii",
                "redaction/pii",
                "transform/pii",
                "batch",
            ][..],
        ),
        (&gateway, &["memory_limiter"][..]),
    ] {
        let processors = strs_at(config, &["service", "pipelines", "traces", "processors"]);
        assert_eq!(processors, expected);
    }
    // The gateway forwards synchronously: nothing it accepted waits in a
    // queue that a killed pod would lose.
    assert_eq!(
        gateway
            .path(&["exporters", "otlp", "sending_queue", "enabled"])
            .unwrap()
            .value,
        Value::Bool(false)
    );
}

#[test]
fn agents_remove_personal_data_with_the_production_profiles_processors() {
    let (_, agent) = gateway_config("otelcol-parker-agent-config");
    let production = document::parse(&read(&deploy("collector/production.yaml"))).unwrap();
    for id in ["attributes/pii", "redaction/pii", "transform/pii"] {
        let ours = agent
            .path(&["processors", id])
            .unwrap_or_else(|| panic!("agent lacks {id}"));
        let profile = production.path(&["processors", id]).unwrap();
        assert_eq!(
            ours.to_json(),
            profile.to_json(),
            "the agent's {id} differs from the production profile's"
        );
    }
    for (signal, ids) in [
        (
            "traces",
            &["attributes/pii", "redaction/pii", "transform/pii"][..],
        ),
        (
            "logs",
            &["attributes/pii", "redaction/pii", "transform/pii"][..],
        ),
        ("metrics", &["attributes/pii", "redaction/pii"][..]),
    ] {
        let processors = strs_at(&agent, &["service", "pipelines", signal, "processors"]);
        for id in ids {
            assert!(
                processors.contains(id),
                "{signal}: {id} missing in {processors:?}"
            );
        }
    }
}

#[test]
fn the_tail_sampling_collector_runs_one_replica_behind_the_gateways() {
    let sampler = object("Deployment");
    assert_eq!(
        sampler.path(&["spec", "replicas"]).unwrap().value,
        Value::Int(1)
    );
    assert!(read(&deploy("collector/production.yaml")).contains("tail_sampling:"));
    let gateway = gateway_object("Deployment", "otelcol-parker-gateway");
    let sampler_service = object("Service");
    assert_eq!(
        env_value(&gateway, "OTELCOL_SAMPLER_ENDPOINT"),
        format!(
            "{}.parker-observability.svc:4317",
            str_at(&sampler_service, &["metadata", "name"])
        )
    );
}

#[test]
fn agent_and_gateway_configs_validate_on_the_real_collector() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("ingest.token");
    std::fs::write(&token, "test-ingest-token\n").unwrap();
    let env: Vec<(&str, String)> = vec![
        ("OTELCOL_BIND", "127.0.0.1".into()),
        ("OTELCOL_GATEWAY_ENDPOINT", "dns:///localhost:14317".into()),
        ("OTELCOL_GATEWAY_CA_FILE", "/nonexistent/ca.crt".into()),
        ("OTELCOL_SAMPLER_ENDPOINT", "127.0.0.1:14317".into()),
        ("OTELCOL_SAMPLER_CA_FILE", "/nonexistent/ca.crt".into()),
        ("OTELCOL_TLS_CERT_FILE", "/nonexistent/tls.crt".into()),
        ("OTELCOL_TLS_KEY_FILE", "/nonexistent/tls.key".into()),
        ("OTELCOL_INGEST_TOKEN_FILE", token.display().to_string()),
        ("OTELCOL_QUEUE_DIR", dir.path().display().to_string()),
    ];
    for name in [
        "otelcol-parker-agent-config",
        "otelcol-parker-gateway-config",
    ] {
        let (config, _) = gateway_config(name);
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, config).unwrap();
        let out = validate(&file, &env);
        assert!(
            out.status.success(),
            "otelcol-parker validate rejected {name}: {}",
            text(&out.stderr)
        );
    }
}
