//! Resource detection: pure parsers over file text and env maps, and the
//! precedence of code, platform and operator settings.

mod common;

use common::{config, vars};
use opentelemetry::{Key, KeyValue, Value};
use parker_telemetry::ServiceInfo;
use parker_telemetry::resource::{
    cloud_attributes, container_id_from_cgroup, container_id_from_mountinfo, from_parts,
    k8s_attributes,
};
use std::collections::BTreeMap;

const ID: &str = "8f3c0f1d2e4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5";

fn map(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

fn get(resource: &opentelemetry_sdk::Resource, key: &'static str) -> Option<String> {
    resource
        .get(&Key::from_static_str(key))
        .map(|v: Value| v.to_string())
}

#[test]
fn container_id_from_cgroup_v1_docker() {
    let text = format!("12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n0::/\n");
    assert_eq!(container_id_from_cgroup(&text).as_deref(), Some(ID));
}

#[test]
fn container_id_from_cgroup_systemd_scope_of_containerd_and_crio() {
    let containerd =
        format!("0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-{ID}.scope\n");
    assert_eq!(container_id_from_cgroup(&containerd).as_deref(), Some(ID));
    let crio = format!("0::/kubepods/besteffort/pod1234/crio-{ID}.scope\n");
    assert_eq!(container_id_from_cgroup(&crio).as_deref(), Some(ID));
}

#[test]
fn no_container_id_on_a_plain_host() {
    assert_eq!(
        container_id_from_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
        None
    );
    assert_eq!(container_id_from_cgroup("0::/\n"), None);
    // 63 hex chars is not an id.
    assert_eq!(
        container_id_from_cgroup(&format!("0::/docker/{}\n", &ID[1..])),
        None
    );
}

#[test]
fn container_id_from_mountinfo_on_cgroup_v2() {
    let text = format!(
        "640 620 0:61 / / rw,relatime master:1 - overlay overlay rw\n\
         661 640 254:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda1 rw\n\
         662 640 254:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
    );
    assert_eq!(container_id_from_mountinfo(&text).as_deref(), Some(ID));
    let containerd = format!(
        "700 600 254:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
    );
    assert_eq!(
        container_id_from_mountinfo(&containerd).as_deref(),
        Some(ID)
    );
    assert_eq!(
        container_id_from_mountinfo("22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"),
        None
    );
}

#[test]
fn k8s_downward_api_variables() {
    let attrs = map(&k8s_attributes(&vars(&[
        ("K8S_POD_NAME", "booking-7d9f"),
        ("K8S_NAMESPACE_NAME", "parker"),
        ("K8S_NODE_NAME", "node-1"),
        ("K8S_POD_UID", "0b7e-uid"),
        ("K8S_DEPLOYMENT_NAME", "booking"),
        ("K8S_CONTAINER_NAME", "app"),
        ("K8S_CLUSTER_NAME", ""),
    ])));
    assert_eq!(attrs["k8s.pod.name"], "booking-7d9f");
    assert_eq!(attrs["k8s.namespace.name"], "parker");
    assert_eq!(attrs["k8s.node.name"], "node-1");
    assert_eq!(attrs["k8s.pod.uid"], "0b7e-uid");
    assert_eq!(attrs["k8s.deployment.name"], "booking");
    assert_eq!(attrs["k8s.container.name"], "app");
    assert!(!attrs.contains_key("k8s.cluster.name"), "empty means unset");
}

#[test]
fn no_cloud_without_platform_variables() {
    assert!(cloud_attributes(&vars(&[("HOME", "/root")])).is_empty());
}

#[test]
fn aws_lambda() {
    let a = map(&cloud_attributes(&vars(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "fare-watch"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]abc"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fare-watch"),
        ("AWS_REGION", "eu-west-1"),
    ])));
    assert_eq!(a["cloud.provider"], "aws");
    assert_eq!(a["cloud.platform"], "aws_lambda");
    assert_eq!(a["cloud.region"], "eu-west-1");
    assert_eq!(a["faas.name"], "fare-watch");
    assert_eq!(a["faas.version"], "$LATEST");
    assert_eq!(a["faas.instance"], "2026/11/25/[$LATEST]abc");
    assert_eq!(a["faas.max_memory"], (128 * 1024 * 1024).to_string());
    assert!(a["aws.log.group.names"].contains("/aws/lambda/fare-watch"));
}

#[test]
fn aws_ecs_fargate() {
    let a = map(&cloud_attributes(&vars(&[
        (
            "ECS_CONTAINER_METADATA_URI_V4",
            "http://169.254.170.2/v4/abc",
        ),
        ("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ])));
    assert_eq!(a["cloud.platform"], "aws_ecs");
    assert_eq!(a["cloud.region"], "us-east-1");
    assert_eq!(a["aws.ecs.launchtype"], "fargate");
}

#[test]
fn aws_eks_with_irsa() {
    let a = map(&cloud_attributes(&vars(&[
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/booking"),
        ("AWS_REGION", "eu-central-1"),
    ])));
    assert_eq!(a["cloud.platform"], "aws_eks");
    assert_eq!(a["cloud.account.id"], "123456789012");
    assert_eq!(a["cloud.region"], "eu-central-1");
}

#[test]
fn aws_ec2_from_instance_id() {
    let a = map(&cloud_attributes(&vars(&[
        ("AWS_EC2_INSTANCE_ID", "i-0abc"),
        ("AWS_REGION", "us-west-2"),
        ("AWS_AVAILABILITY_ZONE", "us-west-2a"),
    ])));
    assert_eq!(a["cloud.platform"], "aws_ec2");
    assert_eq!(a["host.id"], "i-0abc");
    assert_eq!(a["cloud.availability_zone"], "us-west-2a");
}

#[test]
fn gcp_cloud_run_service_and_job() {
    let a = map(&cloud_attributes(&vars(&[
        ("K_SERVICE", "booking"),
        ("K_REVISION", "booking-00042"),
        ("GOOGLE_CLOUD_PROJECT", "parker-prod"),
    ])));
    assert_eq!(a["cloud.provider"], "gcp");
    assert_eq!(a["cloud.platform"], "gcp_cloud_run");
    assert_eq!(a["faas.name"], "booking");
    assert_eq!(a["faas.version"], "booking-00042");
    assert_eq!(a["cloud.account.id"], "parker-prod");
    let job = map(&cloud_attributes(&vars(&[
        ("CLOUD_RUN_JOB", "nightly"),
        ("CLOUD_RUN_EXECUTION", "nightly-x1"),
        ("CLOUD_RUN_TASK_INDEX", "3"),
    ])));
    assert_eq!(job["gcp.cloud_run.job.execution"], "nightly-x1");
    assert_eq!(job["gcp.cloud_run.job.task_index"], "3");
}

#[test]
fn gcp_functions_gke_and_gce() {
    let f = map(&cloud_attributes(&vars(&[
        ("K_SERVICE", "fn"),
        ("FUNCTION_TARGET", "handle"),
    ])));
    assert_eq!(f["cloud.platform"], "gcp_cloud_functions");
    let gke = map(&cloud_attributes(&vars(&[
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ("GOOGLE_CLOUD_PROJECT", "parker-prod"),
        ("GKE_CLUSTER_NAME", "main"),
    ])));
    assert_eq!(gke["cloud.platform"], "gcp_kubernetes_engine");
    assert_eq!(gke["k8s.cluster.name"], "main");
    let gce = map(&cloud_attributes(&vars(&[
        ("GOOGLE_CLOUD_PROJECT", "parker-prod"),
        ("CLOUDSDK_COMPUTE_ZONE", "europe-west1-b"),
    ])));
    assert_eq!(gce["cloud.platform"], "gcp_compute_engine");
    assert_eq!(gce["cloud.availability_zone"], "europe-west1-b");
}

#[test]
fn azure_app_service_and_functions() {
    let app = map(&cloud_attributes(&vars(&[
        ("WEBSITE_SITE_NAME", "parker-booking"),
        ("REGION_NAME", "West Europe"),
        ("WEBSITE_OWNER_NAME", "sub-123+parker-rg-WestEuropewebspace"),
        ("WEBSITE_RESOURCE_GROUP", "parker-rg"),
    ])));
    assert_eq!(app["cloud.provider"], "azure");
    assert_eq!(app["cloud.platform"], "azure.app_service");
    assert_eq!(app["cloud.region"], "West Europe");
    assert_eq!(
        app["cloud.resource_id"],
        "/subscriptions/sub-123/resourceGroups/parker-rg/providers/Microsoft.Web/sites/parker-booking"
    );
    let func = map(&cloud_attributes(&vars(&[
        ("WEBSITE_SITE_NAME", "parker-fn"),
        ("FUNCTIONS_WORKER_RUNTIME", "custom"),
        ("WEBSITE_MEMORY_LIMIT_MB", "1536"),
    ])));
    assert_eq!(func["cloud.platform"], "azure.functions");
    assert_eq!(func["faas.name"], "parker-fn");
    assert_eq!(
        func["faas.max_memory"],
        (1536_i64 * 1024 * 1024).to_string()
    );
}

#[test]
fn service_info_and_environment_make_the_resource() {
    let c = config(&[
        ("PARKER_ENVIRONMENT", "staging"),
        ("K8S_POD_NAME", "p-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", "f"),
    ]);
    let r = from_parts(
        &ServiceInfo::new("booking", "1.2.3").with_namespace("parker"),
        &c,
        vec![],
    );
    assert_eq!(get(&r, "service.name").as_deref(), Some("booking"));
    assert_eq!(get(&r, "service.version").as_deref(), Some("1.2.3"));
    assert_eq!(get(&r, "service.namespace").as_deref(), Some("parker"));
    assert_eq!(
        get(&r, "deployment.environment.name").as_deref(),
        Some("staging")
    );
    assert_eq!(get(&r, "k8s.pod.name").as_deref(), Some("p-1"));
    assert_eq!(get(&r, "cloud.platform").as_deref(), Some("aws_lambda"));
    assert_eq!(get(&r, "telemetry.sdk.language").as_deref(), Some("rust"));
    let id = get(&r, "service.instance.id").expect("instance id");
    assert_eq!(
        uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()),
        Ok(4)
    );
}

#[test]
fn operator_settings_override_code_and_detection() {
    let c = config(&[
        ("PARKER_ENVIRONMENT", "staging"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=prod,service.name=attr-name,host.name=override",
        ),
        ("OTEL_SERVICE_NAME", "env-name"),
    ]);
    let detected = vec![
        KeyValue::new("host.name", "detected"),
        KeyValue::new("host.arch", "x86_64"),
    ];
    let r = from_parts(&ServiceInfo::new("code-name", "1"), &c, detected);
    assert_eq!(get(&r, "service.name").as_deref(), Some("env-name"));
    assert_eq!(
        get(&r, "deployment.environment.name").as_deref(),
        Some("prod")
    );
    assert_eq!(get(&r, "host.name").as_deref(), Some("override"));
    assert_eq!(get(&r, "host.arch").as_deref(), Some("x86_64"));
}

#[test]
fn detect_finds_process_host_and_os() {
    let r = parker_telemetry::resource::detect(&ServiceInfo::new("s", "1"), &config(&[]));
    assert_eq!(get(&r, "process.pid"), Some(std::process::id().to_string()));
    assert_eq!(get(&r, "process.runtime.name").as_deref(), Some("rust"));
    let version = get(&r, "process.runtime.version").expect("runtime version");
    assert!(version.split('.').count() >= 3, "{version}");
    assert_eq!(
        get(&r, "host.arch"),
        Some(parker_telemetry::resource::semconv_host_arch(
            std::env::consts::ARCH
        ))
    );
    assert!(get(&r, "host.name").is_some_and(|h| !h.is_empty()));
    assert_eq!(get(&r, "os.type").as_deref(), Some("linux"));
    assert!(get(&r, "os.description").is_some());
    assert_eq!(
        r.schema_url(),
        Some(opentelemetry_semantic_conventions::SCHEMA_URL)
    );
}

#[test]
fn host_arch_uses_the_semconv_enum_names() {
    use parker_telemetry::resource::semconv_host_arch;
    assert_eq!(semconv_host_arch("x86_64"), "amd64");
    assert_eq!(semconv_host_arch("aarch64"), "arm64");
    assert_eq!(semconv_host_arch("arm"), "arm32");
    assert_eq!(semconv_host_arch("riscv64"), "riscv64");
}
