//! The gateway tier of deploy/k8s/gateway on loopback: one agent and two
//! gateways, all real otelcol-parker processes, and a downstream sink. The
//! agent spreads over both gateways with gRPC round_robin (a name that
//! resolves to 127.0.0.1 and 127.0.0.2, the gateways listening on the same
//! port); one gateway is killed with SIGKILL under load and started again.
//! Nothing the agent accepted is lost (its file_storage queue and retry),
//! and the other gateway carries the traffic meanwhile.
//!
//! Why a DNS server of the test's own: /etc/hosts here maps `localhost` to
//! 127.0.0.1 only, so no system name resolves to two loopback addresses;
//! gRPC's dns resolver takes a server in the target
//! (`dns://127.0.0.1:PORT/gateways.test:PORT`), which keeps every packet on
//! loopback.

mod common;
#[path = "common/collector/mod.rs"]
mod support;

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use support::artifacts::Artifacts;
use support::collector::{Collector, Ports, render};
use support::metrics::Page;
use support::sender;
use support::sink::Sink;

const ACCEPTED: &str = "otelcol_receiver_accepted_spans";

/// Answers every A query with 127.0.0.1 and 127.0.0.2 (TTL 1 s), any other
/// query with no records; runs on its own thread for the test's life.
fn start_dns() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the test DNS server");
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = dns_reply(&buf[..n]) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    port
}

fn dns_reply(query: &[u8]) -> Option<Vec<u8>> {
    // Header (12 bytes), then one question: labels, 0, type, class.
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + *query.get(end)? as usize;
    }
    let qtype = u16::from_be_bytes([*query.get(end + 1)?, *query.get(end + 2)?]);
    let question = &query[12..end + 5];
    let answers: &[[u8; 4]] = if qtype == 1 {
        &[[127, 0, 0, 1], [127, 0, 0, 2]]
    } else {
        &[]
    };
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&query[..2]); // id
    out.extend_from_slice(&[0x81, 0x80]); // response, recursion desired+available, NOERROR
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    for addr in answers {
        // Name: a pointer to the question's name at offset 12; A, IN, TTL 1.
        out.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]);
        out.extend_from_slice(addr);
    }
    Some(out)
}

/// A TCP port free on both 127.0.0.1 and 127.0.0.2.
fn port_free_on_both() -> u16 {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = a.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.2", port)).is_ok() {
            return port;
        }
    }
}

fn accepted(page: &Page) -> f64 {
    page.sum(ACCEPTED, &[])
}

/// Sends `requests` × 10 spans to the agent, a few requests at a time with
/// a pause, so the load lasts a while; returns what the agent accepted.
async fn load(agent: &str, tag: u8, requests: usize) -> sender::Sent {
    let mut all = sender::Sent::default();
    for _ in 0..requests / 5 {
        all.merge(sender::grpc_many(agent, tag, 5, 10).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_spreads_over_two_gateways_and_loses_nothing_when_one_is_killed() {
    let art = Artifacts::new("collector_gateway");
    let sink = Sink::start(common::free_port()).await;
    let dns = start_dns().to_string();
    let gateway_port = port_free_on_both().to_string();
    let queue = tempfile::tempdir().unwrap();

    let mut gateways = Vec::new();
    for (name, addr) in [("a", "127.0.0.1"), ("b", "127.0.0.2")] {
        let mut ports = Ports::free();
        ports.downstream = sink.port;
        let config = render(
            "gateway.yaml",
            &ports,
            &[("GATEWAY_ADDR", addr), ("GATEWAY_PORT", &gateway_port)],
            &art,
        );
        let renamed = art.save(
            &format!("gateway-{name}.yaml"),
            &std::fs::read_to_string(&config).unwrap(),
        );
        gateways.push(Collector::start(renamed, ports, &art).await);
    }
    let agent_ports = Ports::free();
    let agent_config = render(
        "gateway-agent.yaml",
        &agent_ports,
        &[
            ("DNS_PORT", &dns),
            ("GATEWAY_PORT", &gateway_port),
            ("QUEUE_DIR", queue.path().to_str().unwrap()),
        ],
        &art,
    );
    let agent = Collector::start(agent_config, agent_ports, &art).await;
    let agent_url = agent.ports.otlp_grpc_url();

    // Both up: round_robin gives each gateway a share.
    let mut sent = load(&agent_url, 0xb1, 200).await;
    sink.wait_unique(sent.accepted.len(), Duration::from_secs(30))
        .await;
    let a_before = accepted(&gateways[0].scrape("a-before").await);
    let b_before = accepted(&gateways[1].scrape("b-before").await);
    assert!(
        a_before > 0.0 && b_before > 0.0,
        "round_robin should use both gateways: a {a_before}, b {b_before}"
    );

    // Gateway b killed under load: spans are still in the agent's batch and
    // queue and on their way when it goes; afterwards a carries everything.
    sent.merge(load(&agent_url, 0xb2, 50).await);
    gateways[1].kill9();
    let after_kill = load(&agent_url, 0xb2, 150).await;
    let after_kill_count = after_kill.accepted.len();
    sent.merge(after_kill);
    let a_during = gateways[0]
        .scrape_until("a-carries", Duration::from_secs(60), |p| {
            accepted(p) >= a_before + after_kill_count as f64
        })
        .await;
    art.note(&format!(
        "gateway a accepted {a_before} before b's outage, {} after it ({after_kill_count} spans sent after the kill)",
        accepted(&a_during)
    ));

    // b back: the agent reconnects and uses it again (load continues until
    // b has taken some, at most 30 s).
    gateways[1].restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let b_after = loop {
        sent.merge(load(&agent_url, 0xb3, 50).await);
        let page = gateways[1].scrape("b-back").await;
        if accepted(&page) > 0.0 {
            break accepted(&page);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted gateway b got no traffic within 30 s"
        );
    };
    assert!(
        sent.refused.is_empty(),
        "the agent refused {:?}",
        sent.statuses
    );
    sink.wait_unique(sent.accepted.len(), Duration::from_secs(60))
        .await;
    let got: std::collections::HashSet<[u8; 8]> = sink.ids().into_iter().collect();
    let missing = sent.accepted.difference(&got).count();
    assert_eq!(
        missing, 0,
        "spans the agent accepted never reached the sink"
    );
    art.note(&format!(
        "after the restart gateway b accepted {b_after}; the sink got {} distinct spans ({} with redeliveries) of {} sent",
        sink.unique(),
        sink.total(),
        sent.accepted.len()
    ));
}
