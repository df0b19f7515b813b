//! What makes a span name high-cardinality: ids (UUIDs, long hex or digit
//! runs) and raw URLs or query strings. Span names are grouped on by every
//! backend; one name per request defeats that.

/// Why `name` is not a low-cardinality span name, if it is not.
pub fn high_cardinality(name: &str) -> Option<String> {
    if name.contains("://") {
        return Some("contains a full URL; name the operation, put the URL in `url.full`".into());
    }
    if let Some((_, query)) = name.split_once('?')
        && query.contains('=')
    {
        return Some("contains a query string; put it in `url.query`".into());
    }
    for token in name.split(|c: char| !c.is_ascii_alphanumeric() && c != '-') {
        if let Some(id) = id_in(token) {
            return Some(format!(
                "contains the id `{id}`; ids make every name unique"
            ));
        }
    }
    None
}

fn id_in(token: &str) -> Option<&str> {
    if is_uuid(token) {
        return Some(token);
    }
    for part in token.split('-') {
        let hex_run = part.len() >= 16 && part.bytes().all(|b| b.is_ascii_hexdigit());
        let digit_run = longest_digit_run(part) >= 6;
        if hex_run || digit_run {
            return Some(part);
        }
    }
    None
}

fn is_uuid(token: &str) -> bool {
    let groups: Vec<&str> = token.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::high_cardinality;

    #[test]
    fn route_style_names_are_fine() {
        for name in [
            "GET /bookings/{id}",
            "GET",
            "redis SET",
            "book-flight",
            "HTTP",
        ] {
            assert_eq!(high_cardinality(name), None, "{name}");
        }
    }

    #[test]
    fn ids_urls_and_queries_are_flagged() {
        for name in [
            "GET /bookings/0b6b5f0e-3c1a-4b8e-9a53-2d4f1c7e8a90",
            "process 4bf92f3577b34da6a3ce929d0e0e4736",
            "order 20260911123",
            "GET https://fares.example/offers",
            "GET /offers?from=CDG",
        ] {
            assert!(high_cardinality(name).is_some(), "{name}");
        }
    }
}
