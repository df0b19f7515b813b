//! Items judged on the running collector: a TLS handshake with each data
//! listener (rustls, ring provider; rustls speaks only TLS 1.2 and 1.3, so
//! a completed handshake shows the listener negotiates 1.2+, and the config
//! item shows `min_version` refuses older clients), and the uid of the
//! collector process.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use super::config_rules::{listeners, split_host_port};
use super::sources::Sources;
use super::{Item, LiveTarget};

pub fn tls_probe(src: &Sources, target: Option<&LiveTarget>) -> Item {
    let mut item = Item::new(
        "tls-live",
        "TLS 1.2+ on every listener that takes data (live probe)",
    );
    let Some(target) = target else {
        item.warn(
            "not probed: no --collector given",
            "run the audit with --collector HOST (and --cacert CA) against the running collector",
        );
        return item;
    };
    let config = match target.tls.load() {
        Ok((mut config, _)) => {
            // gRPC servers may insist on ALPN h2; HTTP servers take either.
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(config)
        }
        Err(e) => {
            item.crit(
                format!("cannot set up the probe: {e}"),
                "fix --cacert / --client-cert",
            );
            return item;
        }
    };
    let mut ports: Vec<(String, String)> = listeners(src)
        .iter()
        .filter_map(|l| {
            let (_, port) = split_host_port(&l.endpoint);
            port.map(|p| (p.to_owned(), l.at()))
        })
        .collect();
    ports.sort();
    ports.dedup_by(|a, b| a.0 == b.0);
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    for (port, at) in ports {
        let fix = "give the receiver tls with cert_file, key_file and min_version \"1.2\", and check --cacert is the CA that signed it";
        match handshake(host, &port, config.clone(), target.timeout) {
            Ok(version) => item.ok(format!("{host}:{port} ({at}): negotiated {version}")),
            Err(e) => item.crit(
                format!("{host}:{port} ({at}): no TLS 1.2+ handshake: {e}"),
                fix,
            ),
        }
    }
    if item.evidence.is_empty() {
        item.ok("no receiver listens for data");
    }
    item
}

/// Connects and completes a TLS handshake; the negotiated version.
pub fn handshake(
    host: &str,
    port: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<String, String> {
    let addr = (host, port.parse::<u16>().map_err(|e| e.to_string())?)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?
        .next()
        .ok_or("no address")?;
    let mut sock = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e: io::Error| match e.get_ref() {
                Some(inner) => inner.to_string(),
                None => e.to_string(),
            })?;
    }
    conn.protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."))
        .ok_or_else(|| "no protocol version after the handshake".into())
}

pub fn non_root_process(pid: Option<u32>) -> Item {
    let mut item = Item::new("non-root-process", "The running collector is not root");
    let fix = "run the collector as a non-root user (the image's USER 65532, k8s runAsNonRoot)";
    let Some(pid) = pid else {
        item.warn(
            "not checked: no --pid given",
            "pass --pid of the running collector process",
        );
        return item;
    };
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => match process_uid(&status) {
            Some((name, 0)) => {
                item.crit(format!("process {pid} ({name}) runs as uid 0 (root)"), fix)
            }
            Some((name, uid)) => item.ok(format!("process {pid} ({name}) runs as uid {uid}")),
            None => item.crit(
                format!("process {pid}: no Uid line in /proc/{pid}/status"),
                fix,
            ),
        },
        Err(e) => item.crit(
            format!("process {pid}: {e}"),
            "pass the pid of the running collector",
        ),
    }
    item
}

/// The name and effective uid from a `/proc/PID/status` text.
pub fn process_uid(status: &str) -> Option<(String, u32)> {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    let name = field("Name:").unwrap_or("?").to_owned();
    let uid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
    Some((name, uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_read_from_proc_status() {
        let s = "Name:\totelcol-parker\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(process_uid(s), Some(("otelcol-parker".into(), 0)));
        assert_eq!(process_uid("Name:\tx\n"), None);
    }
}
