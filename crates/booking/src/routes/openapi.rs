//! `GET /openapi.json`: the API's OpenAPI 3.1 document.
//!
//! Written out by hand rather than derived with `utoipa`: the request types
//! are parsed newtypes with hand-written serde (IATA codes, money as decimal
//! text, date windows), each of which would need a manual schema impl
//! anyway, and the derive macros would add a proc-macro crate to every
//! build. A test checks that every documented operation is routed.

use axum::Json;
use serde_json::{Value, json};

use super::bookings::{DEFAULT_PAGE, MAX_PAGE};
use crate::domain::DateWindow;

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// A booking id as the service parses it (`BookingId`): a UUID, written
/// here in its hyphenated form (the form the service returns).
fn uuid_schema() -> Value {
    json!({ "type": "string", "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" })
}

/// The document states every constraint `domain.rs` and the handlers
/// enforce, in JSON Schema where it can say it (lengths, patterns, enums,
/// ranges) so that generated clients and API fuzzers agree with the
/// service; rules JSON Schema cannot state (a date not in the past, two
/// fields that must differ) are in `description` and in `x-parker-*`
/// extensions that name the rule. `tests/openapi_constraints.rs` sends a
/// violation of each to the running service and to the schema.
pub fn spec() -> Value {
    let id_param = json!({
        "name": "id", "in": "path", "required": true, "schema": uuid_schema()
    });
    let mut cursor = uuid_schema();
    cursor["minLength"] = json!(1);
    cursor["description"] = json!("`next_cursor` of the previous page");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Parker Flight booking API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ask Parker Flight to book a flight automatically once a fare meets your terms."
        },
        "paths": {
            "/v1/bookings": {
                "post": {
                    "summary": "Create an auto-booking request",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "required": false,
                        "description": "1 to 255 visible ASCII characters. Same key and body → same booking; same key, other body → 422.",
                        "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$" }
                    }],
                    "requestBody": { "required": true, "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/BookingRequest" } } } },
                    "responses": {
                        "202": { "description": "Accepted (stored durably); the worker takes it from here",
                                 "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Accepted" } } } },
                        "400": problem_response("Malformed JSON or header"),
                        "413": problem_response("Body larger than 16 KiB"),
                        "415": problem_response("Content-Type is not application/json"),
                        "422": problem_response("Invalid values, unknown fields, or Idempotency-Key reused with another body"),
                        "503": problem_response("Store unavailable; retry")
                    }
                },
                "get": {
                    "summary": "List bookings, oldest first",
                    "parameters": [
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE } },
                        { "name": "cursor", "in": "query", "schema": cursor }
                    ],
                    "responses": {
                        "200": { "description": "A page", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Page" } } } },
                        "400": problem_response("Bad limit or cursor"),
                        "503": problem_response("Store unavailable")
                    }
                }
            },
            "/v1/bookings/{id}": {
                "get": {
                    "summary": "Read a booking",
                    "parameters": [id_param],
                    "responses": {
                        "200": { "description": "The booking", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Booking" } } } },
                        "404": problem_response("No such booking"),
                        "503": problem_response("Store unavailable")
                    }
                },
                "delete": {
                    "summary": "Cancel a pending booking",
                    "parameters": [id_param],
                    "responses": {
                        "200": { "description": "Cancelled", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Booking" } } } },
                        "404": problem_response("No such booking"),
                        "409": problem_response("Already ordering or final"),
                        "503": problem_response("Store unavailable")
                    }
                }
            },
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "Alive" } } } },
            "/readyz": { "get": { "summary": "Readiness (store reachable)", "responses": {
                "200": { "description": "Ready" }, "503": problem_response("Store unreachable") } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/test": { "post": {
                "summary": "W3C Trace Context test-service endpoint (only with --enable-test-endpoint)",
                "requestBody": { "content": { "application/json": { "schema": { "type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["url", "arguments"],
                    "properties": { "url": { "type": "string", "format": "uri" }, "arguments": {} } } } } } },
                "responses": { "200": { "description": "All calls made" }, "422": problem_response("Non-loopback URL") }
            } }
        },
        "components": { "schemas": schemas() }
    })
}

fn schemas() -> Value {
    let iata = json!({ "type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["JFK"],
        "description": "IATA airport code, three letters (upper-cased by the service)" });
    let date = json!({ "type": "string", "format": "date" });
    // What `Money` parses: a positive amount of at most 1000000.00 with at
    // most two decimals, as decimal text (up to nine integer digits) or a
    // JSON number. Three patterns rather than one with look-ahead, which
    // not every validator's regex engine has (Rust's `regex` has not).
    let amount_text = json!({ "type": "string", "allOf": [
        { "pattern": "^[0-9]{1,9}(\\.[0-9]{1,2})?$" },
        { "pattern": "^0*([0-9]{1,6}(\\.[0-9]*)?|1000000(\\.0*)?)$" },
        { "not": { "pattern": "^0*(\\.0*)?$" } }
    ] });
    let amount_number = json!({ "type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000, "multipleOf": 0.01 });
    let money = json!({
        "type": "object", "additionalProperties": false, "required": ["amount", "currency"],
        "properties": {
            "amount": { "oneOf": [amount_text, amount_number],
                "description": "Greater than 0 and at most 1000000.00, at most two decimals" },
            "currency": { "enum": ["EUR", "USD", "GBP", "CHF", "CAD", "AUD"] }
        }
    });
    let cabin = json!({ "enum": ["economy", "premium_economy", "business", "first"] });
    let status =
        json!({ "enum": ["pending", "ordering", "booked", "failed", "expired", "cancelled"] });
    // `Traveller`: trimmed, the name 1 to 100 characters without control
    // characters; the e-mail at most 254 bytes (`maxLength` counts
    // characters: the same for an ASCII address), `local@domain` with a dot
    // in the domain and no whitespace or control characters.
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 100,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$" });
    let email = json!({ "type": "string", "format": "email", "maxLength": 254,
        "pattern": "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^\\s\\x00-\\x1f\\x7f-\\x9f]*\\.[^\\s\\x00-\\x1f\\x7f-\\x9f]*$" });
    let max_days = DateWindow::MAX_DAYS;
    json!({
        "BookingRequest": {
            "type": "object", "additionalProperties": false,
            "required": ["traveller", "origin", "destination", "departure", "max_price", "cabin", "passengers"],
            "description": "`origin` and `destination` must be different airports (compared case-insensitively).",
            "x-parker-distinct": ["origin", "destination"],
            "properties": {
                "traveller": { "type": "object", "additionalProperties": false, "required": ["name", "email"],
                    "properties": { "name": name, "email": email } },
                "origin": iata, "destination": iata,
                "departure": { "type": "object", "additionalProperties": false, "required": ["from", "to"],
                    "description": format!("Departure dates accepted, inclusive: `from` is today (UTC) or later, \
                        `to` is not before `from`, and the window spans at most {max_days} days."),
                    "x-parker-date-window": { "from-not-before": "today-utc", "to-not-before": "from", "max-days": max_days },
                    "properties": { "from": date, "to": date } },
                "max_price": money,
                "cabin": cabin,
                "passengers": { "type": "integer", "minimum": 1, "maximum": 9 }
            }
        },
        "Accepted": { "type": "object", "required": ["id", "status"],
            "properties": { "id": { "type": "string", "format": "uuid" }, "status": status } },
        "Booking": { "type": "object", "required": ["id", "status", "request", "created_at", "updated_at"],
            "properties": {
                "id": { "type": "string", "format": "uuid" }, "status": status,
                "request": { "$ref": "#/components/schemas/BookingRequest" },
                "created_at": { "type": "string", "format": "date-time" },
                "updated_at": { "type": "string", "format": "date-time" },
                "offer": { "type": "object", "properties": { "offer_id": { "type": "string" }, "date": date,
                    "departs_at": { "type": "string" }, "price": money } },
                "order_id": { "type": "string" },
                "reason": { "type": "string", "description": "Why the booking failed or expired" },
                "searches": { "type": "integer" }, "attempts": { "type": "integer" },
                "traceparent": { "type": "string" }
            } },
        "Page": { "type": "object", "required": ["items"], "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/Booking" } },
            "next_cursor": { "type": "string" } } },
        "Problem": { "type": "object", "required": ["type", "title", "status", "detail"], "properties": {
            "type": { "type": "string", "format": "uri-reference" }, "title": { "type": "string" },
            "status": { "type": "integer" }, "detail": { "type": "string" }, "instance": { "type": "string" } } }
    })
}

#[cfg(test)]
mod tests {
    use crate::state::AppState;
    use crate::store::memory::MemoryStore;

    /// Each documented path and method reaches a handler (not the 404
    /// fallback, not 405), so the document cannot list routes that are gone.
    #[tokio::test]
    async fn every_documented_operation_is_routed() {
        let state = AppState {
            store: MemoryStore::new(),
            metrics: crate::metrics::Metrics::new(),
            wake: Default::default(),
            test_client: Some(parker_telemetry::http::TracedClient::new(
                reqwest::Client::new(),
            )),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, crate::routes::router(state)).await });
        let client = reqwest::Client::new();
        let spec = super::spec();
        let paths = spec["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 6);
        for (path, ops) in paths {
            let path = path.replace("{id}", "01936f0e-7a1b-7c3d-8e4f-0123456789ab");
            for method in ops.as_object().unwrap().keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let r = client
                    .request(method.clone(), format!("{base}{path}"))
                    .header("content-type", "application/json")
                    .body("[]")
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body = r.text().await.unwrap();
                assert!(
                    status != 405 && !body.contains("no route"),
                    "{method} {path}: {status} {body}"
                );
            }
        }
    }
}
