//! The real `parker-fares` binary over loopback HTTP: deterministic offers,
//! idempotent orders, injected faults, problem+json on bad input.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

struct Fares {
    child: Child,
    url: String,
}

impl Drop for Fares {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Fares {
    start_with_env(args, &[])
}

fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Fares {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parker-fares"))
        .env("PARKER_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied())
        .args(args)
        .env("OTEL_SDK_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning parker-fares");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("parker-fares listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("parker-fares reports its address");
    Fares { child, url }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

const SEARCH: &str = "/v1/offers?origin=JFK&destination=LHR&date=2030-03-01&currency=USD";

async fn offers(c: &reqwest::Client, base: &str) -> Vec<Value> {
    let body: Value = c
        .get(format!("{base}{SEARCH}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["offers"].as_array().cloned().expect("offers array")
}

async fn problem(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    body["detail"].as_str().expect("detail").to_owned()
}

#[tokio::test]
async fn same_seed_serves_the_same_offers_on_every_process() {
    let (a, b, other) = (
        start(&["--seed", "5"]),
        start(&["--seed", "5"]),
        start(&["--seed", "6"]),
    );
    let c = client();
    let first = offers(&c, &a.url).await;
    assert!(first.len() >= 3, "{first:?}");
    assert_eq!(first, offers(&c, &b.url).await);
    assert_ne!(first, offers(&c, &other.url).await);
}

#[tokio::test]
async fn an_order_key_orders_once_and_reserves_seats_once() {
    let fares = start(&[]);
    let c = client();
    let offer = offers(&c, &fares.url).await.remove(0);
    let seats = offer["seats_left"].as_u64().unwrap();
    let order = json!({"order_key": "bk-1", "offer_id": offer["id"], "passengers": 2});
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = c
            .post(format!("{}/v1/orders", fares.url))
            .json(&order)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        ids.push(r.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(statuses, [201, 200, 200]);
    assert!(ids.iter().all(|id| *id == ids[0]));
    let after = offers(&c, &fares.url).await.remove(0);
    assert_eq!(after["seats_left"].as_u64().unwrap(), seats - 2);

    let other = json!({"order_key": "bk-1", "offer_id": offer["id"], "passengers": 1});
    let r = c
        .post(format!("{}/v1/orders", fares.url))
        .json(&other)
        .send()
        .await
        .unwrap();
    assert!(problem(r, 409).await.contains("already used"));

    let confirmed: Value = c
        .post(format!(
            "{}/v1/orders/{}/confirm",
            fares.url,
            ids[0].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["status"], "confirmed");
    let all: Value = c
        .get(format!("{}/v1/orders", fares.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["orders"].as_array().unwrap().len(), 1);
    assert_eq!(all["orders"][0]["requests"], 3);
}

#[tokio::test]
async fn fault_header_fails_or_slows_one_request() {
    let fares = start(&[]);
    let c = client();
    let r = c
        .get(format!("{}{SEARCH}", fares.url))
        .header("x-parker-fault", "fail-503")
        .send()
        .await
        .unwrap();
    assert!(problem(r, 503).await.contains("fault injected"));
    let r = c
        .get(format!("{}{SEARCH}", fares.url))
        .header("x-parker-fault", "slow-ms=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c
        .get(format!("{}{SEARCH}", fares.url))
        .header("x-parker-fault", "explode")
        .send()
        .await
        .unwrap();
    assert!(problem(r, 400).await.contains("explode"));
}

#[tokio::test]
async fn a_lost_order_response_still_leaves_exactly_one_order() {
    let fares = start(&[]);
    let c = client();
    let offer = offers(&c, &fares.url).await.remove(0);
    let order = json!({"order_key": "bk-lost", "offer_id": offer["id"], "passengers": 1});
    let r = c
        .post(format!("{}/v1/orders", fares.url))
        .header("x-parker-fault", "lose-response")
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let r = c
        .post(format!("{}/v1/orders", fares.url))
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "the retry finds the committed order"
    );
    let all: Value = c
        .get(format!("{}/v1/orders", fares.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn configured_first_order_failures_then_success() {
    // Configured through the environment, as a container would.
    let fares = start_with_env(&[], &[("PARKER_FARES_FAIL_FIRST_ORDERS", "2")]);
    let c = client();
    let offer = offers(&c, &fares.url).await.remove(0);
    let order = json!({"order_key": "k", "offer_id": offer["id"], "passengers": 1});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = c
            .post(format!("{}/v1/orders", fares.url))
            .json(&order)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 201]);
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    let fares = start(&[]);
    let c = client();
    let cases = [
        (
            "/v1/offers?origin=J1K&destination=LHR&date=2030-03-01",
            400,
            "origin",
        ),
        (
            "/v1/offers?origin=JFK&destination=LHR&date=2030-02-30",
            400,
            "date",
        ),
        (
            "/v1/offers?origin=JFK&destination=JFK&date=2030-03-01",
            400,
            "two airports",
        ),
        (
            "/v1/offers?origin=JFK&destination=LHR&date=2030-03-01&currency=XXX",
            400,
            "currency",
        ),
        ("/v1/offers?origin=JFK", 400, "destination"),
        ("/v1/nothing", 404, "no route"),
    ];
    for (path, status, needle) in cases {
        let r = c.get(format!("{}{path}", fares.url)).send().await.unwrap();
        let detail = problem(r, status).await;
        assert!(detail.contains(needle), "{path}: {detail}");
    }
    let r = c.post(format!("{}/v1/orders", fares.url))
        .json(&json!({"order_key": "k", "offer_id": "JFK.LHR.20300301.USD.0", "passengers": 1, "extra": 1}))
        .send().await.unwrap();
    assert!(problem(r, 422).await.contains("extra"));
    let r = c
        .post(format!("{}/v1/orders", fares.url))
        .json(&json!({"order_key": "k", "offer_id": "nope", "passengers": 1}))
        .send()
        .await
        .unwrap();
    assert!(problem(r, 404).await.contains("nope"));
    let r = c
        .delete(format!("{}/v1/offers", fares.url))
        .send()
        .await
        .unwrap();
    assert!(problem(r, 405).await.contains("DELETE"));
    let r = c
        .post(format!("{}/v1/orders", fares.url))
        .header("content-type", "application/json")
        .body("x".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    problem(r, 413).await;
}

/// The Kubernetes probes (deploy/k8s/services/fares-deployment.yaml) ask
/// these two paths; with no dependency outside the process, ready = serving.
#[tokio::test]
async fn liveness_and_readiness_paths_answer_200() {
    let fares = start(&[]);
    let c = client();
    for path in ["/healthz", "/readyz"] {
        let r = c.get(format!("{}{path}", fares.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
}
