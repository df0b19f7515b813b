//! `container.id` from `/proc/self/cgroup` (cgroup v1 and some v2 setups)
//! and `/proc/self/mountinfo` (cgroup v2, where the cgroup path is often
//! just `/`). Pure functions over the file text so they can be tested on
//! strings; opentelemetry-resource-detectors' container detector only reads
//! cgroup v1 and cannot be fed text.

/// A container id is 64 lowercase hex characters (docker, containerd, CRI-O,
/// podman all use this form).
fn container_id_in(segment: &str) -> Option<&str> {
    // Try the longest run of hex chars of length 64 inside the segment,
    // e.g. "docker-<id>.scope", "cri-containerd-<id>.scope", "<id>".
    let bytes = segment.as_bytes();
    let mut start = None;
    for i in 0..=bytes.len() {
        let hex = i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'a'..=b'f');
        match (hex, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s == 64 {
                    return Some(&segment[s..i]);
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

/// Parses `/proc/self/cgroup` text (`hierarchy:controllers:path` lines).
pub fn container_id_from_cgroup(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .find_map(|path| path.rsplit('/').find_map(container_id_in))
        .map(str::to_owned)
}

/// Parses `/proc/self/mountinfo` text: the id appears in the mount root of
/// container-managed files (`/var/lib/docker/containers/<id>/hostname`,
/// `.../sandboxes/<id>/...`), which is the reliable source on cgroup v2.
pub fn container_id_from_mountinfo(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().nth(3))
        .filter(|root| root.contains("/containers/") || root.contains("/sandboxes/"))
        .find_map(|root| {
            let mut parts = root.split('/').peekable();
            while let Some(p) = parts.next() {
                if (p == "containers" || p == "sandboxes")
                    && let Some(next) = parts.peek()
                    && let Some(id) = container_id_in(next)
                    && id.len() == next.len()
                {
                    return Some(id.to_owned());
                }
            }
            None
        })
}

/// Reads both files of the running process; `None` outside a container.
pub fn detect_container_id() -> Option<String> {
    std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| container_id_from_cgroup(&t))
        .or_else(|| {
            std::fs::read_to_string("/proc/self/mountinfo")
                .ok()
                .and_then(|t| container_id_from_mountinfo(&t))
        })
}
