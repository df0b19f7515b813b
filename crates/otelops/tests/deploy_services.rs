//! deploy/k8s/services/ and the services in deploy/docker/compose.yaml:
//! parker-booking, parker-fares and their Redis. Each file is checked
//! against what it talks about: the variables are ones the binaries read
//! (their `--help`, parker-telemetry's template), probes and URLs use the
//! ports and names the other objects declare, the shutdown budget fits the
//! grace period, secrets are only referenced, the pods are locked down,
//! Redis's password reaches both sides from one Secret, and the real
//! `redis-server` run with the shipped redis.conf refuses clients without
//! the password and keeps an AOF fsynced every second.

mod common;
#[path = "common/services_deploy.rs"]
mod services_deploy;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/trace_test.rs"]
mod tt;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use services_deploy::*;
use support::artifacts::Artifacts;
use support::wait_until;

const DEPLOYMENTS: [(&str, &str); 2] = [
    ("parker-booking", "booking-deployment.yaml"),
    ("parker-fares", "fares-deployment.yaml"),
];
const WORKLOADS: [&str; 3] = [
    "booking-deployment.yaml",
    "fares-deployment.yaml",
    "redis-statefulset.yaml",
];

fn template() -> String {
    std::fs::read_to_string(common::repo_root().join("config/.env.otel.template"))
        .expect("config/.env.otel.template")
}

#[test]
fn the_parent_kustomization_lists_every_services_manifest() {
    let text =
        std::fs::read_to_string(common::repo_root().join("deploy/k8s/kustomization.yaml")).unwrap();
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- services/"))
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(services_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut listed_sorted: Vec<&str> = listed.clone();
    listed_sorted.sort();
    assert_eq!(listed_sorted, files);
    // The ConfigMaps come before the workloads that read them.
    let pos = |f: &str| listed.iter().position(|l| *l == f).unwrap();
    assert!(pos("otel-configmap.yaml") < pos("booking-deployment.yaml"));
    assert!(pos("redis-configmap.yaml") < pos("redis-statefulset.yaml"));
}

#[test]
fn every_workload_runs_non_root_read_only_without_capabilities_under_runtime_default() {
    for file in WORKLOADS {
        let w = manifest(file);
        let pod = &w["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(pod["runAsNonRoot"], true, "{file}");
        assert!(pod["runAsUser"].as_i64().unwrap() > 0, "{file}");
        assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault", "{file}");
        assert_eq!(
            w["spec"]["template"]["spec"]["automountServiceAccountToken"], false,
            "{file}"
        );
        let sc = &container(&w)["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true, "{file}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{file}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{file}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{file}"
        );
        let resources = &container(&w)["resources"];
        for section in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    resources[section][resource].is_string(),
                    "{file}: {section}.{resource}"
                );
            }
        }
    }
}

/// The uid the images run as (deploy/docker/passwd's `nonroot`, the
/// Dockerfiles' USER) is the one the Deployments ask for.
#[test]
fn deployments_run_as_the_images_user() {
    let passwd = std::fs::read_to_string(common::repo_root().join("deploy/docker/passwd")).unwrap();
    let nonroot = passwd
        .lines()
        .find(|l| l.starts_with("nonroot:"))
        .and_then(|l| l.split(':').nth(2))
        .and_then(|u| u.parse::<i64>().ok())
        .unwrap();
    for (service, file) in DEPLOYMENTS {
        let w = manifest(file);
        assert_eq!(
            w["spec"]["template"]["spec"]["securityContext"]["runAsUser"], nonroot,
            "{file}"
        );
        let short = service.trim_start_matches("parker-");
        let dockerfile = std::fs::read_to_string(
            common::repo_root().join(format!("deploy/docker/{short}.Dockerfile")),
        )
        .unwrap();
        assert!(
            dockerfile.contains(&format!("USER {nonroot}:{nonroot}")),
            "{short}.Dockerfile"
        );
    }
}

/// Liveness asks `/healthz`, readiness `/readyz`, both on the named port
/// whose containerPort is the one `PARKER_LISTEN` binds. (That the running
/// binaries answer those paths is shown in service_images.rs, which probes
/// the containers with the paths read from these files.)
#[test]
fn probes_ask_healthz_and_readyz_on_the_port_the_service_listens_on() {
    for (_, file) in DEPLOYMENTS {
        let w = manifest(file);
        let c = container(&w);
        let listen = port_of(env_value(&w, "PARKER_LISTEN"));
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &c[probe]["httpGet"];
            assert_eq!(get["path"], path, "{file} {probe}");
            let port_name = get["port"].as_str().expect("a named port");
            let port = c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == port_name)
                .unwrap_or_else(|| panic!("{file}: no port named {port_name}"));
            assert_eq!(port["containerPort"], listen, "{file} {probe}");
        }
    }
}

/// Every `PARKER_*` variable a Deployment sets is one its binary's
/// `--help` names; every `OTEL_*` one (its own or the ConfigMap's) is one
/// parker-telemetry's template documents as `# NAME=`; every `K8S_*` one is
/// in the template's resource-detection list.
#[test]
fn every_variable_set_is_one_the_binaries_read() {
    let template = template();
    let configmap: Vec<String> = otel_settings().into_iter().map(|(k, _)| k).collect();
    assert!(!configmap.is_empty());
    for (service, file) in DEPLOYMENTS {
        let help = variables_in_help(service);
        assert!(help.iter().any(|v| v == "PARKER_LISTEN"), "{help:?}");
        let w = manifest(file);
        let own = container(&w)["env"].as_array().unwrap();
        let names = own
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .chain(configmap.iter().cloned());
        for name in names {
            if name.starts_with("PARKER_") {
                assert!(
                    help.contains(&name),
                    "{file}: {service} does not read {name}"
                );
            } else if name.starts_with("OTEL_") {
                assert!(
                    template.contains(&format!("# {name}=")),
                    "{file}: parker-telemetry does not read {name}"
                );
            } else if name.starts_with("K8S_") {
                assert!(
                    template.contains(&name),
                    "{file}: resource detection does not read {name}"
                );
            } else {
                panic!("{file}: {name} is read by nothing we ship");
            }
        }
        assert_eq!(
            container(&w)["envFrom"][0]["configMapRef"]["name"],
            manifest("otel-configmap.yaml")["metadata"]["name"],
            "{file} takes OTEL_* from the ConfigMap"
        );
    }
}

/// The ingest token reaches `OTEL_EXPORTER_OTLP_HEADERS` through a
/// secretKeyRef; no header, token or password is written in the files.
#[test]
fn the_otlp_token_comes_from_a_secret_and_nothing_secret_is_inlined() {
    for (_, file) in DEPLOYMENTS {
        let w = manifest(file);
        let headers = env_entry(&w, "OTEL_EXPORTER_OTLP_HEADERS")
            .unwrap_or_else(|| panic!("{file} sends no OTLP headers"));
        assert!(headers.get("value").is_none(), "{file}: inlined headers");
        let key = &headers["valueFrom"]["secretKeyRef"];
        assert_eq!(key["name"], "parker-otlp-headers", "{file}");
        assert_eq!(key["key"], "OTEL_EXPORTER_OTLP_HEADERS", "{file}");
    }
    for (key, value) in otel_settings() {
        assert!(
            !key.contains("HEADERS") && !key.contains("KEY") && !value.contains("Bearer"),
            "the ConfigMap holds {key}"
        );
    }
    for entry in std::fs::read_dir(services_dir()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("kind: Secret"), "a Secret is committed");
        assert!(
            !text.contains("requirepass"),
            "a Redis password is committed"
        );
    }
}

/// The services export to the collector's Service, on a port it declares,
/// over TLS, checking the certificate against a CA file mounted in both pods.
#[test]
fn services_export_to_the_collector_service_over_tls_with_a_mounted_ca() {
    let settings = otel_settings();
    let setting = |k: &str| {
        settings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the ConfigMap lacks {k}"))
    };
    let endpoint = setting("OTEL_EXPORTER_OTLP_ENDPOINT");
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let collector = otelops::collector_config::document::parse(
        &std::fs::read_to_string(common::repo_root().join("deploy/k8s/service.yaml")).unwrap(),
    )
    .unwrap()
    .to_json();
    assert_eq!(host_of(endpoint), collector["metadata"]["name"]);
    let grpc = collector["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["appProtocol"] == "grpc")
        .expect("the collector Service has a gRPC port");
    assert_eq!(grpc["port"], port_of(endpoint));
    assert_eq!(setting("OTEL_EXPORTER_OTLP_PROTOCOL"), "grpc");
    let ca = setting("OTEL_EXPORTER_OTLP_CERTIFICATE");
    for (_, file) in DEPLOYMENTS {
        let w = manifest(file);
        let mounted = container(&w)["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| ca.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())));
        assert!(mounted, "{file}: nothing is mounted where {ca} is");
    }
}

/// parker-booking reaches parker-fares and Redis through their Services'
/// names and ports.
#[test]
fn booking_reaches_fares_and_redis_through_their_services() {
    let booking = manifest("booking-deployment.yaml");
    for (var, service) in [
        ("PARKER_FARES_URL", "fares-service.yaml"),
        ("PARKER_REDIS_URL", "redis-service.yaml"),
    ] {
        let url = env_value(&booking, var);
        let s = manifest(service);
        assert_eq!(host_of(url), s["metadata"]["name"], "{var}={url}");
        assert_eq!(s["spec"]["ports"][0]["port"], port_of(url), "{var}={url}");
    }
}

/// preStop sleep + the worker's drain (booking) + parker-telemetry's flush
/// deadline stay inside terminationGracePeriodSeconds, with room for the
/// HTTP drain.
#[test]
fn shutdown_fits_in_the_termination_grace_period() {
    let flush = parker_telemetry::guard::SHUTDOWN_DEADLINE.as_secs();
    for (service, file) in DEPLOYMENTS {
        let w = manifest(file);
        let grace = w["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{file} sets no terminationGracePeriodSeconds"));
        let pre_stop = container(&w)["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{file} has no preStop sleep"));
        let worker = match service {
            "parker-booking" => {
                env_value(&w, "PARKER_SHUTDOWN_GRACE_MS")
                    .parse::<u64>()
                    .unwrap()
                    / 1000
            }
            _ => 0,
        };
        let budget = pre_stop + worker + flush;
        assert!(
            budget + 5 <= grace,
            "{file}: {pre_stop} s preStop + {worker} s drain + {flush} s flush leaves under 5 s of {grace} s"
        );
    }
}

#[test]
fn booking_has_a_cpu_hpa_on_its_deployment_and_a_pdb_on_its_pods() {
    let d = manifest("booking-deployment.yaml");
    let labels = &d["spec"]["template"]["metadata"]["labels"];
    let hpa = manifest("booking-hpa.yaml");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"], "Deployment");
    assert_eq!(target["apiVersion"], d["apiVersion"]);
    assert_eq!(target["name"], d["metadata"]["name"]);
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
    assert!(min >= 2 && hpa["spec"]["maxReplicas"].as_u64().unwrap() > min);
    let metric = &hpa["spec"]["metrics"][0]["resource"];
    assert_eq!(metric["name"], "cpu");
    assert_eq!(metric["target"]["type"], "Utilization");
    assert!(
        container(&d)["resources"]["requests"]["cpu"].is_string(),
        "CPU utilisation is relative to the request"
    );

    let pdb = manifest("booking-pdb.yaml");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    let selector = pdb["spec"]["selector"]["matchLabels"].as_object().unwrap();
    for (k, v) in selector {
        assert_eq!(
            &labels[k], v,
            "the PDB selects {k}={v}, the pods say otherwise"
        );
    }
    assert!(
        pdb["spec"]["minAvailable"].as_u64().unwrap() < min,
        "a drain must be able to evict a pod"
    );
}

/// Every Service and NetworkPolicy selects its workload's pods; every
/// workload has a NetworkPolicy limiting ingress and egress.
#[test]
fn services_and_network_policies_select_their_workloads() {
    for (workload, service, policy) in [
        (
            "booking-deployment.yaml",
            "booking-service.yaml",
            "booking-networkpolicy.yaml",
        ),
        (
            "fares-deployment.yaml",
            "fares-service.yaml",
            "fares-networkpolicy.yaml",
        ),
        (
            "redis-statefulset.yaml",
            "redis-service.yaml",
            "redis-networkpolicy.yaml",
        ),
    ] {
        let w = manifest(workload);
        let labels = &w["spec"]["template"]["metadata"]["labels"];
        assert_eq!(w["spec"]["selector"]["matchLabels"], *labels, "{workload}");
        let s = manifest(service);
        for (k, v) in s["spec"]["selector"].as_object().unwrap() {
            assert_eq!(&labels[k], v, "{service}");
        }
        let target = s["spec"]["ports"][0]["targetPort"].as_str().unwrap();
        assert!(
            container(&w)["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == target),
            "{service}: no container port named {target}"
        );
        let p = manifest(policy);
        for (k, v) in p["spec"]["podSelector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(&labels[k], v, "{policy}");
        }
        assert_eq!(
            p["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        let port = container(&w)["ports"][0]["containerPort"].clone();
        assert_eq!(
            p["spec"]["ingress"][0]["ports"][0]["port"], port,
            "{policy}"
        );
    }
}

/// Redis: its redis.conf from the ConfigMap, its data on a claim, and the
/// file's `dir` is that mount.
#[test]
fn redis_reads_the_configmap_and_keeps_its_data_on_a_persistent_volume() {
    let cm = manifest("redis-configmap.yaml");
    let conf = cm["data"]["redis.conf"].as_str().unwrap();
    let setting = |name: &str| {
        conf.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("redis.conf lacks {name}"))
    };
    assert_eq!(setting("appendonly"), "yes");
    assert_eq!(setting("appendfsync"), "everysec");
    assert_eq!(setting("maxmemory-policy"), "noeviction");

    let sts = manifest("redis-statefulset.yaml");
    let spec = &sts["spec"]["template"]["spec"];
    let c = container(&sts);
    let mount = |volume: &str| {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == volume)
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("no mount of {volume}"))
            .to_owned()
    };
    let config_volume = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["configMap"]["name"] == cm["metadata"]["name"])
        .expect("a volume of the redis ConfigMap");
    let conf_path = format!(
        "{}/redis.conf",
        mount(config_volume["name"].as_str().unwrap())
    );
    assert!(
        c["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| *a == conf_path),
        "redis-server is not started with {conf_path}"
    );
    let claim = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
        .as_str()
        .expect("a volumeClaimTemplate");
    assert_eq!(setting("dir"), mount(claim));
    assert_eq!(
        sts["spec"]["serviceName"],
        manifest("redis-service.yaml")["metadata"]["name"]
    );
    assert_eq!(manifest("redis-service.yaml")["spec"]["clusterIP"], "None");
}

/// Where `workload` mounts `key` of Secret `secret`: the file's path in the
/// container, and the mode it gets.
fn secret_file(workload: &Value, secret: &str, key: &str) -> (String, u64) {
    let spec = &workload["spec"]["template"]["spec"];
    let volume = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == secret)
        .unwrap_or_else(|| panic!("no volume of Secret {secret}"));
    let item = volume["secret"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("Secret {secret}'s volume lacks {key}"));
    let mount = container(workload)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume["name"])
        .unwrap_or_else(|| panic!("Secret {secret}'s volume is not mounted"));
    assert_eq!(mount["readOnly"], true, "{secret} mounted read-only");
    (
        format!(
            "{}/{}",
            mount["mountPath"].as_str().unwrap(),
            item["path"].as_str().unwrap()
        ),
        volume["secret"]["defaultMode"]
            .as_u64()
            .expect("a defaultMode"),
    )
}

/// One Secret holds Redis's password twice: the token booking sends
/// (`PARKER_REDIS_PASSWORD_FILE`) and the ACL file with its hash that
/// redis.conf's `aclfile` names; each pod can read its file through its
/// fsGroup and nobody else can.
#[test]
fn redis_password_reaches_booking_and_redis_from_one_secret() {
    let booking = manifest("booking-deployment.yaml");
    let (password, mode) = secret_file(&booking, "parker-redis-auth", "password");
    assert_eq!(env_value(&booking, "PARKER_REDIS_PASSWORD_FILE"), password);
    // `defaultMode: 0440`: octal to Kubernetes' YAML 1.1, the digits 440 to
    // our YAML 1.2 parser (as deploy_manifests.rs reads 0400).
    assert_eq!(mode, 440);
    let redis = manifest("redis-statefulset.yaml");
    let (acl, mode) = secret_file(&redis, "parker-redis-auth", "users.acl");
    assert_eq!(mode, 440);
    let conf = manifest("redis-configmap.yaml")["data"]["redis.conf"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        conf.lines().any(|l| l == format!("aclfile {acl}")),
        "redis.conf does not read {acl}:\n{conf}"
    );
    for (w, user) in [(&booking, 65532), (&redis, 999)] {
        let pod = &w["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(pod["runAsUser"], user);
        assert_eq!(
            pod["fsGroup"], user,
            "the Secret's files are group {user}'s"
        );
    }
}

/// `redis-cli ARGS…` against `redis`, with `password` through
/// `REDISCLI_AUTH` (not a flag); stdout and stderr.
fn redis_cli(redis: &tt::Redis, password: Option<&std::path::Path>, args: &[&str]) -> String {
    let server = std::env::var_os("PARKER_REDIS_SERVER").expect("PARKER_REDIS_SERVER");
    let cli = std::path::Path::new(&server).with_file_name("redis-cli");
    let mut cmd = Command::new(cli);
    cmd.args(["-h", "127.0.0.1", "-p", &redis.port.to_string()])
        .args(args)
        .env_remove("REDISCLI_AUTH");
    if let Some(file) = password {
        let text = std::fs::read_to_string(file).unwrap();
        cmd.env("REDISCLI_AUTH", text.lines().next().unwrap());
    }
    let out = common::run_bounded(&mut cmd, Duration::from_secs(10));
    assert!(out.status.success(), "redis-cli {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The real redis-server with the ConfigMap's redis.conf (minus `dir`, on
/// loopback, a free port and a temporary dir instead of /data) has the AOF on, fsyncs
/// it every second, refuses to evict, and a written key reaches the AOF.
#[tokio::test]
async fn redis_with_the_shipped_conf_appends_every_write_to_an_fsynced_aof() {
    let art = Artifacts::new("redis-shipped-conf");
    let dir = tempfile::tempdir().unwrap();
    let shipped = shipped_redis(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let redis = tt::Redis::start_with_conf(&shipped.conf, &data, &art);

    // Without the password nothing is answered; the ACL file has no password in it.
    let refused = redis_cli(&redis, None, &["INFO", "persistence"]);
    assert!(refused.contains("NOAUTH"), "{refused}");
    let token = std::fs::read_to_string(&shipped.password_file).unwrap();
    let acl = std::fs::read_to_string(shipped.conf.with_file_name("users.acl")).unwrap();
    assert!(!acl.contains(token.trim()), "{acl}");
    let auth = Some(shipped.password_file.as_path());
    let redis_cli = |redis: &tt::Redis, args: &[&str]| redis_cli(redis, auth, args);

    let persistence = redis_cli(&redis, &["INFO", "persistence"]);
    assert!(persistence.contains("aof_enabled:1"), "{persistence}");
    assert_eq!(
        redis_cli(&redis, &["CONFIG", "GET", "appendfsync"]),
        "appendfsync\neverysec\n"
    );
    assert_eq!(
        redis_cli(&redis, &["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes\n"
    );
    assert_eq!(
        redis_cli(&redis, &["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nnoeviction\n"
    );
    assert_eq!(redis_cli(&redis, &["CONFIG", "GET", "save"]), "save\n\n");

    redis_cli(&redis, &["SET", "parker:booking:aof-check", "kept"]);
    let aof_dir = data.join("appendonlydir");
    wait_until(
        "the write to reach the AOF",
        Duration::from_secs(10),
        || {
            let found = std::fs::read_dir(&aof_dir).ok().is_some_and(|entries| {
                entries.filter_map(Result::ok).any(|e| {
                    std::fs::read(e.path())
                        .is_ok_and(|b| b.windows(24).any(|w| w == b"parker:booking:aof-check"))
                })
            });
            async move {
                if found {
                    Ok(())
                } else {
                    Err("not yet".to_owned())
                }
            }
        },
    )
    .await;
}

/// compose runs the services from the images scripts/service-image-context
/// builds, and Redis with the same durability as the StatefulSet.
#[test]
fn compose_builds_the_service_images_and_runs_redis_with_the_aof() {
    let compose = otelops::collector_config::document::parse(
        &std::fs::read_to_string(common::repo_root().join("deploy/docker/compose.yaml")).unwrap(),
    )
    .unwrap()
    .to_json();
    let services = &compose["services"];
    for (name, context) in [("booking", "booking-image"), ("fares", "fares-image")] {
        assert_eq!(
            services[name]["build"]["context"],
            format!("../../target/{context}"),
            "compose {name}"
        );
        assert_eq!(services[name]["build"]["dockerfile"], "Dockerfile");
        assert_eq!(services[name]["read_only"], true, "compose {name}");
    }
    let command: Vec<&str> = services["redis"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for pair in [["--appendonly", "yes"], ["--appendfsync", "everysec"]] {
        assert!(command.windows(2).any(|w| w == pair), "{command:?}");
    }
    assert!(
        services["redis"]["volumes"].is_array(),
        "redis data on a volume"
    );
}
