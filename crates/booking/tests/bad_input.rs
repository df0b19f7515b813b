//! Bad input gets a 4xx `application/problem+json` whose `detail` names
//! what is wrong — never a 5xx, never a panic.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_booking_bodies_are_4xx_problems_naming_the_field() {
    let stack = Stack::start(
        StoreKind::Memory,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let good = booking_body("JFK", "LHR", "450.00");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "bad IATA code",
            with(good.clone(), &["origin"], json!("J1K")),
            422,
            "IATA",
        ),
        (
            "four letter code",
            with(good.clone(), &["destination"], json!("LHRX")),
            422,
            "IATA",
        ),
        (
            "same airports",
            with(good.clone(), &["destination"], json!("jfk")),
            422,
            "two airports",
        ),
        (
            "bad date",
            with(good.clone(), &["departure", "from"], json!("2030-02-30")),
            422,
            "YYYY-MM-DD",
        ),
        (
            "past date",
            with(good.clone(), &["departure", "from"], json!("2001-01-01")),
            422,
            "past",
        ),
        (
            "reversed window",
            with(good.clone(), &["departure", "to"], json!(days_from_now(29))),
            422,
            "before",
        ),
        (
            "long window",
            with(good.clone(), &["departure", "to"], json!(days_from_now(60))),
            422,
            "at most 14",
        ),
        (
            "negative amount",
            with(good.clone(), &["max_price", "amount"], json!("-5")),
            422,
            "negative",
        ),
        (
            "negative number",
            with(good.clone(), &["max_price", "amount"], json!(-5)),
            422,
            "negative",
        ),
        (
            "three decimals",
            with(good.clone(), &["max_price", "amount"], json!("1.005")),
            422,
            "two decimals",
        ),
        (
            "unknown currency",
            with(good.clone(), &["max_price", "currency"], json!("BTC")),
            422,
            "currency",
        ),
        (
            "unknown cabin",
            with(good.clone(), &["cabin"], json!("cargo")),
            422,
            "cabin",
        ),
        (
            "zero passengers",
            with(good.clone(), &["passengers"], json!(0)),
            422,
            "passengers",
        ),
        (
            "wrong type",
            with(good.clone(), &["passengers"], json!("two")),
            422,
            "passengers",
        ),
        (
            "bad email",
            with(good.clone(), &["traveller", "email"], json!("nobody")),
            422,
            "e-mail",
        ),
        (
            "unknown field",
            with(good.clone(), &["seat"], json!("12A")),
            422,
            "seat",
        ),
        (
            "nested unknown field",
            with(good.clone(), &["max_price", "tax"], json!(1)),
            422,
            "tax",
        ),
        (
            "missing field",
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("cabin");
                b
            },
            422,
            "cabin",
        ),
        ("not an object", json!([1, 2]), 422, "invalid type"),
    ];
    for (what, body, status, needle) in cases {
        let r = c
            .post(format!("{}/v1/bookings", stack.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(r, status).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(needle),
            "{what}: {detail:?} should mention {needle:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_huge_or_untyped_bodies_and_bad_headers_are_problems() {
    let stack = Stack::start(
        StoreKind::Memory,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let url = format!("{}/v1/bookings", stack.url);
    let json_post = |body: String| {
        c.post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let p = expect_problem(json_post("{\"origin\": ".into()).await.unwrap(), 400).await;
    assert!(p["detail"].as_str().unwrap().contains("EOF"), "{p}");
    expect_problem(json_post("not json".into()).await.unwrap(), 400).await;
    let huge = format!(
        "{{\"traveller\": {{\"name\": \"{}\"}}}}",
        "x".repeat(1 << 20)
    );
    let p = expect_problem(json_post(huge).await.unwrap(), 413).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("length limit"),
        "{p}"
    );
    // The service answers 413 before reading the whole body and closes that
    // connection; a pooled client could hand the next request to it. A new
    // client starts on a fresh connection.
    let c = client();
    let r = c
        .post(&url)
        .body(booking_body("JFK", "LHR", "1").to_string())
        .send()
        .await
        .unwrap();
    expect_problem(r, 415).await;
    let r = c
        .post(&url)
        .header("idempotency-key", "has spaces in it")
        .json(&booking_body("JFK", "LHR", "1"))
        .send()
        .await
        .unwrap();
    assert!(
        expect_problem(r, 400).await["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );

    let r = c
        .put(&url)
        .json(&booking_body("JFK", "LHR", "1"))
        .send()
        .await
        .unwrap();
    let p = expect_problem(r, 405).await;
    assert!(p["detail"].as_str().unwrap().contains("PUT"), "{p}");

    for (path, status, needle) in [
        ("/v1/bookings/not-a-uuid", 404, "not a booking id"),
        (
            "/v1/bookings/01936f0e-7a1b-7c3d-8e4f-0123456789ab",
            404,
            "no booking",
        ),
        ("/v1/bookings?limit=0", 400, "limit"),
        ("/v1/bookings?limit=abc", 400, "limit"),
        ("/v1/bookings?cursor=zzz", 400, "cursor"),
        ("/v1/bookings?color=red", 400, "color"),
        ("/v2/anything", 404, "no route"),
    ] {
        let r = c.get(format!("{}{path}", stack.url)).send().await.unwrap();
        let p = expect_problem(r, status).await;
        assert!(
            p["detail"].as_str().unwrap().contains(needle),
            "{path}: {p}"
        );
    }
}
