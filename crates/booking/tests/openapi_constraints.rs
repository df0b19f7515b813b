//! The OpenAPI document states what the service refuses, so generated
//! clients and API fuzzers agree with it. Checked from both sides against
//! the document the running service serves: each request that breaks a
//! constraint is refused by the service with a 4xx problem AND rejected by
//! the document's schema (a JSON Schema 2020-12 validator, formats on); the
//! requests at the edges of what is allowed pass both.
//!
//! Rules JSON Schema cannot state are `x-parker-*` extensions; the
//! validator here implements them as custom keywords from what the
//! extension says (its parameters come from the document, not from here).

mod common;

use common::*;
use jsonschema::paths::Location;
use jsonschema::{Keyword, ValidationError, Validator};
use serde_json::{Map, Value, json};

const BOOKING_REQUEST: &str = "#/components/schemas/BookingRequest";

/// `x-parker-distinct: [a, b]`: the two string properties differ, compared
/// case-insensitively.
struct Distinct(Vec<String>);

impl<'i> Keyword<'i> for Distinct {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom(format!("{:?} must differ", self.0)))
        }
    }
    fn is_valid(&self, instance: &'i Value) -> bool {
        let values: Vec<String> = self
            .0
            .iter()
            .filter_map(|k| instance.get(k).and_then(Value::as_str))
            .map(str::to_ascii_uppercase)
            .collect();
        values.windows(2).all(|w| w[0] != w[1])
    }
}

/// `x-parker-date-window: {from-not-before: today-utc, to-not-before: from,
/// max-days: N}` on an object with `from` and `to` dates.
struct DateWindowRule {
    max_days: i32,
}

impl<'i> Keyword<'i> for DateWindowRule {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom(format!(
                "not a window from today (UTC) on of at most {} days",
                self.max_days
            )))
        }
    }
    fn is_valid(&self, instance: &'i Value) -> bool {
        let date = |k: &str| {
            instance
                .get(k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<jiff::civil::Date>().ok())
        };
        // Other keywords report missing or malformed dates.
        let (Some(from), Some(to)) = (date("from"), date("to")) else {
            return true;
        };
        let today = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        let days = from.until(to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        from >= today && to >= from && days < self.max_days
    }
}

fn invalid_extension(what: &str, value: &Value) -> ValidationError<'static> {
    ValidationError::custom(format!("{what}: unexpected value {value}"))
}

/// OpenAPI 3.1's dialect, with `format` asserted as fuzzers do.
fn options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::draft202012::options().should_validate_formats(true)
}

/// A validator for `pointer` (a `#/components/...` reference) in `doc`.
fn validator(doc: &Value, pointer: &str) -> Validator {
    let schema = json!({ "$ref": pointer, "components": doc["components"] });
    options()
        .with_keyword(
            "x-parker-distinct",
            |_: &Map<String, Value>, value: &Value, _: Location| {
                let keys: Option<Vec<String>> = value.as_array().map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                });
                match keys {
                    Some(keys) if keys.len() == 2 => {
                        Ok(Box::new(Distinct(keys)) as Box<dyn for<'x> Keyword<'x>>)
                    }
                    _ => Err(invalid_extension("x-parker-distinct", value)),
                }
            },
        )
        .with_keyword(
            "x-parker-date-window",
            |_: &Map<String, Value>, value: &Value, _: Location| {
                let rule_is = |k: &str, v: &str| value.get(k).and_then(Value::as_str) == Some(v);
                let max_days = value
                    .get("max-days")
                    .and_then(Value::as_i64)
                    .and_then(|n| i32::try_from(n).ok());
                match max_days {
                    Some(n)
                        if rule_is("from-not-before", "today-utc")
                            && rule_is("to-not-before", "from") =>
                    {
                        Ok(Box::new(DateWindowRule { max_days: n })
                            as Box<dyn for<'x> Keyword<'x>>)
                    }
                    _ => Err(invalid_extension("x-parker-date-window", value)),
                }
            },
        )
        .build(&schema)
        .unwrap_or_else(|e| panic!("the schema at {pointer} compiles: {e}"))
}

/// The schema of `name` among the operation's parameters, as a validator.
fn parameter_validator(doc: &Value, path: &str, method: &str, name: &str) -> Validator {
    let params = doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has parameters"));
    let param = params
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} documents {name}"));
    options()
        .build(&param["schema"])
        .unwrap_or_else(|e| panic!("the schema of {name} compiles: {e}"))
}

/// A query value as OpenAPI's form style reads it for the schema: a number
/// when it is one, else text.
fn query_value(text: &str) -> Value {
    text.parse::<i64>()
        .map_or_else(|_| json!(text), |n| json!(n))
}

fn memory_stack() -> Stack {
    Stack::start(
        StoreKind::Memory,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_booking_body_the_service_refuses_the_document_rejects() {
    let stack = memory_stack();
    let c = client();
    let doc = get_json(&c, &format!("{}/openapi.json", stack.url)).await;
    let schema = validator(&doc, BOOKING_REQUEST);
    let good = booking_body("JFK", "LHR", "450.00");
    let set = |path: &[&str], value: Value| with(good.clone(), path, value);
    let window =
        |from: i64, to: i64| json!({ "from": days_from_now(from), "to": days_from_now(to) });
    let name = |v: Value| set(&["traveller", "name"], v);
    let email = |v: Value| set(&["traveller", "email"], v);
    let amount = |v: Value| set(&["max_price", "amount"], v);
    let refused: Vec<(&str, Value)> = vec![
        ("IATA code with a digit", set(&["origin"], json!("J1K"))),
        (
            "four-letter IATA code",
            set(&["destination"], json!("LHRX")),
        ),
        ("same airports", set(&["destination"], json!("jfk"))),
        ("departure in the past", set(&["departure"], window(-1, -1))),
        (
            "no such date",
            set(&["departure", "from"], json!("2030-02-30")),
        ),
        (
            "to before from",
            set(&["departure", "to"], json!(days_from_now(29))),
        ),
        (
            "window of 15 days",
            set(&["departure", "to"], json!(days_from_now(44))),
        ),
        ("empty name", name(json!(""))),
        ("blank name", name(json!("   "))),
        ("name of 101 characters", name(json!("a".repeat(101)))),
        ("control character in name", name(json!("Ada\u{7}"))),
        ("e-mail without @", email(json!("nobody"))),
        (
            "e-mail without a dot in the domain",
            email(json!("ada@localhost")),
        ),
        (
            "e-mail with a space",
            email(json!("ada lovelace@example.com")),
        ),
        (
            "e-mail of 255 bytes",
            email(json!(format!("{}@example.com", "a".repeat(243)))),
        ),
        ("zero amount", amount(json!("0.00"))),
        ("zero number", amount(json!(0))),
        ("negative amount", amount(json!("-5"))),
        ("three decimals", amount(json!("1.005"))),
        ("number with three decimals", amount(json!(1.005))),
        ("amount over the limit", amount(json!("1000000.01"))),
        ("ten integer digits", amount(json!("0000000001"))),
        ("number over the limit", amount(json!(1_000_001))),
        ("amount as a boolean", amount(json!(true))),
        (
            "unknown currency",
            set(&["max_price", "currency"], json!("BTC")),
        ),
        (
            "lower-case currency",
            set(&["max_price", "currency"], json!("eur")),
        ),
        ("unknown cabin", set(&["cabin"], json!("Economy"))),
        ("zero passengers", set(&["passengers"], json!(0))),
        ("ten passengers", set(&["passengers"], json!(10))),
        ("unknown field", set(&["seat"], json!("12A"))),
        (
            "nested unknown field",
            set(&["departure", "flexible"], json!(true)),
        ),
        ("missing field", {
            let mut b = good.clone();
            b.as_object_mut().expect("an object").remove("cabin");
            b
        }),
    ];
    for (what, body) in &refused {
        let (status, problem) = create(&c, &stack.url, body).await;
        assert!(
            (400..500).contains(&status),
            "{what}: the service answered {status} {problem}"
        );
        assert!(
            !schema.is_valid(body),
            "{what}: the service refuses it ({status}) but the document allows {body}"
        );
    }

    // The edges of what is allowed pass both.
    let allowed: Vec<(&str, Value)> = vec![
        ("as given", good.clone()),
        ("lower-case IATA codes", set(&["origin"], json!("cdg"))),
        ("departure today", set(&["departure"], window(0, 0))),
        (
            "window of 14 days",
            set(&["departure", "to"], json!(days_from_now(43))),
        ),
        ("name of 100 characters", name(json!("a".repeat(100)))),
        ("smallest amount", amount(json!("0.01"))),
        ("largest amount", amount(json!("1000000.00"))),
        ("nine integer digits", amount(json!("000000001"))),
        ("amount as a number", amount(json!(450.5))),
        ("largest number", amount(json!(1_000_000))),
        ("nine passengers", set(&["passengers"], json!(9))),
    ];
    for (what, body) in &allowed {
        let errors: Vec<String> = schema.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{what}: the document rejects {body}: {errors:?}"
        );
        let (status, answer) = create(&c, &stack.url, body).await;
        assert_eq!(status, 202, "{what}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_and_header_value_the_service_refuses_the_document_rejects() {
    let stack = memory_stack();
    let c = client();
    let doc = get_json(&c, &format!("{}/openapi.json", stack.url)).await;
    let limit = parameter_validator(&doc, "/v1/bookings", "get", "limit");
    let cursor = parameter_validator(&doc, "/v1/bookings", "get", "cursor");
    let key = parameter_validator(&doc, "/v1/bookings", "post", "Idempotency-Key");
    let list = |query: String| c.get(format!("{}/v1/bookings?{query}", stack.url)).send();

    for bad in ["0", "101", "-1", "ten", ""] {
        let r = list(format!("limit={bad}")).await.expect("GET answers");
        expect_problem(r, 400).await;
        assert!(
            !limit.is_valid(&query_value(bad)),
            "limit={bad:?} is documented as allowed"
        );
    }
    for good in ["1", "100"] {
        let r = list(format!("limit={good}")).await.expect("GET answers");
        assert_eq!(r.status(), 200, "limit={good}");
        assert!(limit.is_valid(&query_value(good)), "limit={good}");
    }
    for bad in ["", "not-a-cursor", "01936f0e-7a1b-7c3d-8e4f"] {
        let r = list(format!("cursor={bad}")).await.expect("GET answers");
        expect_problem(r, 400).await;
        assert!(
            !cursor.is_valid(&json!(bad)),
            "cursor={bad:?} is documented as allowed"
        );
    }
    let good_cursor = "01936f0e-7a1b-7c3d-8e4f-0123456789ab";
    let r = list(format!("cursor={good_cursor}"))
        .await
        .expect("GET answers");
    assert_eq!(r.status(), 200);
    assert!(cursor.is_valid(&json!(good_cursor)));

    let body = booking_body("JFK", "LHR", "450.00");
    let post = |key: &[u8]| {
        c.post(format!("{}/v1/bookings", stack.url))
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(key).expect("a header value"),
            )
            .json(&body)
            .send()
    };
    let refused: [Vec<u8>; 4] = [
        b"".to_vec(),
        b"two words".to_vec(),
        "schlüssel".into(),
        "k".repeat(256).into(),
    ];
    for bad in &refused {
        let r = post(bad).await.expect("POST answers");
        expect_problem(r, 400).await;
        let text = String::from_utf8_lossy(bad);
        assert!(
            !key.is_valid(&json!(text)),
            "Idempotency-Key {text:?} is documented as allowed"
        );
    }
    let allowed: [Vec<u8>; 3] = [b"k".to_vec(), b"~!#$%".to_vec(), "k".repeat(255).into()];
    for good in &allowed {
        let r = post(good).await.expect("POST answers");
        assert_eq!(r.status(), 202);
        assert!(key.is_valid(&json!(String::from_utf8_lossy(good))));
    }
}
