//! Writes a [`Registry`] as the committed data file: JSON with one attribute
//! or group per line, so diffs between releases read line by line.

use super::model::Registry;

/// Deterministic text (maps are ordered) ending in a newline.
pub fn render(registry: &Registry) -> String {
    let mut out = String::from("{\n");
    out.push_str(&format!(
        "\"version\": {},\n",
        serde_json::Value::from(registry.version.as_str())
    ));
    out.push_str("\"attributes\": {\n");
    push_entries(&mut out, registry.attributes.iter());
    out.push_str("},\n\"groups\": {\n");
    push_entries(&mut out, registry.groups.iter());
    out.push_str("}\n}\n");
    out
}

fn push_entries<'a, T: serde::Serialize + 'a>(
    out: &mut String,
    entries: impl ExactSizeIterator<Item = (&'a String, &'a T)>,
) {
    let count = entries.len();
    for (index, (key, value)) in entries.enumerate() {
        let value = serde_json::to_string(value)
            .expect("registry model types serialize to JSON without fallible parts");
        out.push_str(&format!(
            "{}: {value}",
            serde_json::Value::from(key.as_str())
        ));
        out.push_str(if index + 1 < count { ",\n" } else { "\n" });
    }
}
