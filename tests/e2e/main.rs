//! The one end-to-end test binary: the real server, in-process, on a real PostgreSQL, driven by
//! the real AWS SDK. One binary keeps link times down.

mod activities;
mod activities_tasks;
mod architecture;
mod auth;
mod chaos;
mod console;
mod distributed_map;
mod executions;
mod express;
mod guarantees;
mod hardening;
mod integrations;
mod language;
mod persistence;
mod protocol;
mod redrive;
mod retention;
mod startup;
mod state_machines;
mod test_state;
mod tls;
mod versions;

use aws_sdk_sfn::error::ProvideErrorMetadata;

/// The error shape name (`__type`) of an SDK error, or a panic when the call succeeded.
pub fn error_code<T: std::fmt::Debug, E>(
    result: Result<T, aws_sdk_sfn::error::SdkError<E>>,
) -> (String, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => {
            let code = error.code().unwrap_or("<none>").to_owned();
            let message = error.message().unwrap_or("<none>").to_owned();
            (code, message)
        }
    }
}
