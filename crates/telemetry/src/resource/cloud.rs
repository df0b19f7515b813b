//! `cloud.*`, `faas.*` and `k8s.*` from environment variables only — the
//! variables each platform sets in the process (Lambda, ECS, Cloud Run, App
//! Service, Functions) and the Kubernetes downward API. No metadata-server
//! calls: they cost start-up latency and hang outside the cloud.
//! opentelemetry-resource-detectors' K8s detector reads the process env
//! directly and only knows two variables, so we do not use it.

use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::resource as rc;
use std::collections::HashMap;

type Env = HashMap<String, String>;

fn get<'a>(env: &'a Env, key: &str) -> Option<&'a str> {
    env.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn push(out: &mut Vec<KeyValue>, key: &'static str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(KeyValue::new(key, v.to_owned()));
    }
}

/// `k8s.*` from downward-API variables (set them in the pod spec with
/// `valueFrom.fieldRef`, see deploy/k8s).
pub fn k8s_attributes(env: &Env) -> Vec<KeyValue> {
    let mut out = Vec::new();
    for (var, key) in [
        ("K8S_POD_NAME", rc::K8S_POD_NAME),
        ("K8S_POD_UID", rc::K8S_POD_UID),
        ("K8S_NAMESPACE_NAME", rc::K8S_NAMESPACE_NAME),
        ("K8S_NODE_NAME", rc::K8S_NODE_NAME),
        ("K8S_DEPLOYMENT_NAME", rc::K8S_DEPLOYMENT_NAME),
        ("K8S_REPLICASET_NAME", rc::K8S_REPLICASET_NAME),
        ("K8S_STATEFULSET_NAME", rc::K8S_STATEFULSET_NAME),
        ("K8S_DAEMONSET_NAME", rc::K8S_DAEMONSET_NAME),
        ("K8S_JOB_NAME", rc::K8S_JOB_NAME),
        ("K8S_CRONJOB_NAME", rc::K8S_CRONJOB_NAME),
        ("K8S_CONTAINER_NAME", rc::K8S_CONTAINER_NAME),
        ("K8S_CLUSTER_NAME", rc::K8S_CLUSTER_NAME),
    ] {
        push(&mut out, key, get(env, var));
    }
    out
}

fn in_kubernetes(env: &Env) -> bool {
    get(env, "KUBERNETES_SERVICE_HOST").is_some()
}

/// `cloud.*` (and `faas.*` where the platform is serverless) for the first
/// platform whose variables are present. Empty when none is.
pub fn cloud_attributes(env: &Env) -> Vec<KeyValue> {
    aws(env)
        .or_else(|| gcp(env))
        .or_else(|| azure(env))
        .unwrap_or_default()
}

fn base(provider: &str, platform: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new(rc::CLOUD_PROVIDER, provider.to_owned()),
        KeyValue::new(rc::CLOUD_PLATFORM, platform.to_owned()),
    ]
}

fn aws(env: &Env) -> Option<Vec<KeyValue>> {
    let region = get(env, "AWS_REGION").or_else(|| get(env, "AWS_DEFAULT_REGION"));
    if let Some(function) = get(env, "AWS_LAMBDA_FUNCTION_NAME") {
        let mut out = base("aws", "aws_lambda");
        push(&mut out, rc::CLOUD_REGION, region);
        push(&mut out, rc::FAAS_NAME, Some(function));
        push(
            &mut out,
            rc::FAAS_VERSION,
            get(env, "AWS_LAMBDA_FUNCTION_VERSION"),
        );
        push(
            &mut out,
            rc::FAAS_INSTANCE,
            get(env, "AWS_LAMBDA_LOG_STREAM_NAME"),
        );
        if let Some(mb) =
            get(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse::<i64>().ok())
        {
            out.push(KeyValue::new(rc::FAAS_MAX_MEMORY, mb * 1024 * 1024));
        }
        if let Some(group) = get(env, "AWS_LAMBDA_LOG_GROUP_NAME") {
            out.push(KeyValue::new(
                rc::AWS_LOG_GROUP_NAMES,
                opentelemetry::Value::Array(
                    vec![opentelemetry::StringValue::from(group.to_owned())].into(),
                ),
            ));
        }
        return Some(out);
    }
    if get(env, "ECS_CONTAINER_METADATA_URI_V4").is_some()
        || get(env, "ECS_CONTAINER_METADATA_URI").is_some()
    {
        let mut out = base("aws", "aws_ecs");
        push(&mut out, rc::CLOUD_REGION, region);
        let launch = get(env, "AWS_EXECUTION_ENV").and_then(|e| match e {
            "AWS_ECS_FARGATE" => Some("fargate"),
            "AWS_ECS_EC2" => Some("ec2"),
            _ => None,
        });
        push(&mut out, rc::AWS_ECS_LAUNCHTYPE, launch);
        return Some(out);
    }
    // EKS pods with IAM roles for service accounts get these from the webhook.
    let irsa =
        get(env, "AWS_ROLE_ARN").is_some() || get(env, "AWS_WEB_IDENTITY_TOKEN_FILE").is_some();
    if in_kubernetes(env) && (irsa || region.is_some()) {
        let mut out = base("aws", "aws_eks");
        push(&mut out, rc::CLOUD_REGION, region);
        push(
            &mut out,
            rc::CLOUD_ACCOUNT_ID,
            get(env, "AWS_ROLE_ARN").and_then(account_from_arn),
        );
        return Some(out);
    }
    // EC2 sets no variable of its own; instances launched by our deploy
    // scripts export the instance id (from user-data) as AWS_EC2_INSTANCE_ID.
    if let Some(instance) = get(env, "AWS_EC2_INSTANCE_ID") {
        let mut out = base("aws", "aws_ec2");
        push(&mut out, rc::CLOUD_REGION, region);
        push(
            &mut out,
            rc::CLOUD_AVAILABILITY_ZONE,
            get(env, "AWS_AVAILABILITY_ZONE"),
        );
        push(&mut out, rc::HOST_ID, Some(instance));
        return Some(out);
    }
    None
}

/// `arn:aws:iam::123456789012:role/x` → `123456789012`.
fn account_from_arn(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then_some(account)
}

fn gcp(env: &Env) -> Option<Vec<KeyValue>> {
    let project = get(env, "GOOGLE_CLOUD_PROJECT")
        .or_else(|| get(env, "GCP_PROJECT"))
        .or_else(|| get(env, "CLOUDSDK_CORE_PROJECT"));
    let region = get(env, "GOOGLE_CLOUD_REGION").or_else(|| get(env, "CLOUDSDK_COMPUTE_REGION"));
    let zone = get(env, "CLOUDSDK_COMPUTE_ZONE");
    let finish = |mut out: Vec<KeyValue>| {
        push(&mut out, rc::CLOUD_ACCOUNT_ID, project);
        push(&mut out, rc::CLOUD_REGION, region);
        push(&mut out, rc::CLOUD_AVAILABILITY_ZONE, zone);
        Some(out)
    };
    if let Some(job) = get(env, "CLOUD_RUN_JOB") {
        let mut out = base("gcp", "gcp_cloud_run");
        push(&mut out, rc::FAAS_NAME, Some(job));
        push(
            &mut out,
            rc::GCP_CLOUD_RUN_JOB_EXECUTION,
            get(env, "CLOUD_RUN_EXECUTION"),
        );
        if let Some(i) = get(env, "CLOUD_RUN_TASK_INDEX").and_then(|i| i.parse::<i64>().ok()) {
            out.push(KeyValue::new(rc::GCP_CLOUD_RUN_JOB_TASK_INDEX, i));
        }
        return finish(out);
    }
    if let Some(service) = get(env, "K_SERVICE") {
        let platform = if get(env, "FUNCTION_TARGET").is_some() {
            "gcp_cloud_functions"
        } else {
            "gcp_cloud_run"
        };
        let mut out = base("gcp", platform);
        push(&mut out, rc::FAAS_NAME, Some(service));
        push(&mut out, rc::FAAS_VERSION, get(env, "K_REVISION"));
        return finish(out);
    }
    project?;
    if in_kubernetes(env) {
        let mut out = base("gcp", "gcp_kubernetes_engine");
        push(&mut out, rc::K8S_CLUSTER_NAME, get(env, "GKE_CLUSTER_NAME"));
        return finish(out);
    }
    let mut out = base("gcp", "gcp_compute_engine");
    push(
        &mut out,
        rc::GCP_GCE_INSTANCE_NAME,
        get(env, "GCE_INSTANCE_NAME"),
    );
    finish(out)
}

fn azure(env: &Env) -> Option<Vec<KeyValue>> {
    let site = get(env, "WEBSITE_SITE_NAME")?;
    let platform = if get(env, "FUNCTIONS_WORKER_RUNTIME").is_some() {
        "azure.functions"
    } else {
        "azure.app_service"
    };
    let mut out = base("azure", platform);
    push(&mut out, rc::CLOUD_REGION, get(env, "REGION_NAME"));
    push(
        &mut out,
        rc::DEPLOYMENT_ENVIRONMENT_NAME,
        get(env, "WEBSITE_SLOT_NAME"),
    );
    push(&mut out, rc::HOST_ID, get(env, "WEBSITE_HOSTNAME"));
    if platform == "azure.functions" {
        push(&mut out, rc::FAAS_NAME, Some(site));
        push(&mut out, rc::FAAS_INSTANCE, get(env, "WEBSITE_INSTANCE_ID"));
        if let Some(mb) = get(env, "WEBSITE_MEMORY_LIMIT_MB").and_then(|m| m.parse::<i64>().ok()) {
            out.push(KeyValue::new(rc::FAAS_MAX_MEMORY, mb * 1024 * 1024));
        }
    }
    // WEBSITE_OWNER_NAME is "<subscription>+<resource group>-<region>webspace".
    if let (Some(owner), Some(group)) = (
        get(env, "WEBSITE_OWNER_NAME"),
        get(env, "WEBSITE_RESOURCE_GROUP"),
    ) && let Some((subscription, _)) = owner.split_once('+')
    {
        out.push(KeyValue::new(
            rc::CLOUD_RESOURCE_ID,
            format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}"),
        ));
    }
    Some(out)
}
