use super::*;

fn money(json: &str) -> Result<Money, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

#[test]
fn money_parses_decimal_text_and_numbers() {
    let m = money(r#"{"amount":"450.5","currency":"EUR"}"#).unwrap();
    assert_eq!(m.amount_minor, 45_050);
    assert_eq!(
        money(r#"{"amount":450,"currency":"USD"}"#)
            .unwrap()
            .amount_minor,
        45_000
    );
    assert_eq!(m.to_string(), "450.50 EUR");
}

#[test]
fn money_rejects_negative_zero_too_precise_and_huge_amounts() {
    for (json, needle) in [
        (r#"{"amount":"-1","currency":"EUR"}"#, "negative"),
        (r#"{"amount":-1,"currency":"EUR"}"#, "negative"),
        (r#"{"amount":"0.00","currency":"EUR"}"#, "zero"),
        (r#"{"amount":"1.234","currency":"EUR"}"#, "two decimals"),
        (r#"{"amount":"1e3","currency":"EUR"}"#, "two decimals"),
        (r#"{"amount":"99999999","currency":"EUR"}"#, "limit"),
        (r#"{"amount":"1","currency":"XYZ"}"#, "supported currency"),
    ] {
        let err = money(json).unwrap_err();
        assert!(err.contains(needle), "{json}: {err}");
    }
}

#[test]
fn date_window_must_be_ordered_future_and_short() {
    let today = Date::new(2026, 6, 1).unwrap();
    assert!(DateWindow::parse("2026-06-01", "2026-06-14", today).is_ok());
    for (from, to, needle) in [
        ("2026-06-03", "2026-06-02", "before"),
        ("2026-05-31", "2026-06-02", "past"),
        ("2026-06-01", "2026-06-15", "15 days"),
        ("2026-13-01", "2026-06-15", "YYYY-MM-DD"),
    ] {
        let err = DateWindow::parse(from, to, today).unwrap_err();
        assert!(err.contains(needle), "{from}..{to}: {err}");
    }
    let w = DateWindow::parse("2026-06-01", "2026-06-03", today).unwrap();
    assert_eq!(w.days().count(), 3);
}

#[test]
fn passengers_and_keys_have_bounds() {
    assert!(Passengers::try_from(0).is_err());
    assert!(Passengers::try_from(10).is_err());
    assert_eq!(Passengers::try_from(9).unwrap().get(), 9);
    assert!("".parse::<IdempotencyKey>().is_err());
    assert!("has space".parse::<IdempotencyKey>().is_err());
    assert!("a".repeat(256).parse::<IdempotencyKey>().is_err());
    assert!("order-42".parse::<IdempotencyKey>().is_ok());
}

#[test]
fn traveller_debug_never_shows_personal_data() {
    let t: Traveller =
        serde_json::from_str(r#"{"name":"Ada Lovelace","email":"ada@example.com"}"#).unwrap();
    assert!(!format!("{t:?}").contains("Ada"));
    let bad = serde_json::from_str::<Traveller>(r#"{"name":"A","email":"nope"}"#);
    assert!(bad.unwrap_err().to_string().contains("e-mail"));
}

#[test]
fn booking_ids_are_time_ordered_uuids() {
    let a = BookingId::new();
    let b = BookingId::new();
    assert!(a < b && a.to_string() < b.to_string());
    assert_eq!(a.to_string().parse::<BookingId>().unwrap(), a);
    assert!("bk-1".parse::<BookingId>().is_err());
}
