//! One module per resource of the provider's API.

pub mod offers;
pub mod orders;

use http::HeaderMap;

use crate::error::FaresError;
use crate::faults::Decision;

/// Waits out an injected delay and fails the request if a fault says so.
pub(crate) async fn apply(decision: &Decision) -> Result<(), FaresError> {
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match decision.fail {
        Some(status) => Err(FaresError::Injected(status)),
        None => Ok(()),
    }
}

pub(crate) fn decide(
    state: &crate::app::AppState,
    headers: &HeaderMap,
) -> Result<Decision, FaresError> {
    Ok(state.faults.decide(headers)?)
}
