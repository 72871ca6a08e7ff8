//! Exit codes, as Jepsen's: documented in the README.

/// The history is valid (and every check passed).
pub const VALID: i32 = 0;
/// The history is invalid.
pub const INVALID: i32 = 1;
/// The checker could not decide (budget exhausted).
pub const UNKNOWN: i32 = 2;
/// The infrastructure failed (a node unreachable, SSH lost, the lab or
/// the SUT could not be brought up): no verdict; a nightly job may retry.
pub const INFRA: i32 = 3;
/// Bad arguments or bad input (unreadable or malformed history).
pub const BAD_INPUT: i32 = 254;
/// An internal error of faultline itself (a panic).
pub const INTERNAL: i32 = 255;

/// The exit code for several results: bad input beats invalid beats
/// unknown beats valid.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    let rank = |c: i32| match c {
        INTERNAL => 5,
        INFRA => 4,
        BAD_INPUT => 3,
        INVALID => 2,
        UNKNOWN => 1,
        _ => 0,
    };
    codes.into_iter().max_by_key(|&c| rank(c)).unwrap_or(VALID)
}

/// A second interrupt (Ctrl-C or SIGTERM) made faultline leave at once,
/// without waiting for the heal (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED: i32 = 130;

/// Standard output was closed under a command (`faultline check ... | head`):
/// it ends quietly with the code a shell gives a tool SIGPIPE ended (128 + 13).
pub const CLOSED_PIPE: i32 = 141;

/// True when a panic's payload is the standard library's for a write to a
/// closed standard output (what `println!` does on `EPIPE`).
pub fn is_closed_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("");
    msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe")
}
